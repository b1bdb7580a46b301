"""Cluster DNS records from Services and EndpointSlices, and answers to queries (pure).

Follows CoreDNS's kubernetes plugin: `<svc>.<ns>.svc.<zone>` A (the ClusterIP, or every ready
endpoint of a headless service), SRV `_<port>._<proto>.<svc>.<ns>.svc.<zone>`,
`<hostname>.<svc>.<ns>.svc.<zone>` per headless endpoint, ExternalName as CNAME,
`a-b-c-d.<ns>.pod.<zone>`, PTR for ClusterIPs and headless endpoints. A name that does not
exist is NXDOMAIN; a name that exists (or has names below it) without the asked type is
NOERROR with no answers (NODATA). Names compare case-insensitively.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dnslib import AAAA, CNAME, PTR, QTYPE, RCODE, RR, SOA, SRV, A, DNSLabel
from dnslib.dns import RD

Obj = Mapping[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_TTL = 5


@dataclass(frozen=True, slots=True)
class Answer:
    rcode: int
    answers: tuple[RR, ...] = ()
    authority: tuple[RR, ...] = ()
    additional: tuple[RR, ...] = ()


@dataclass
class ClusterRecords:
    """Every cluster name and its records; `answer` resolves one question."""

    domain: str = "cluster.local"
    ttl: int = DEFAULT_TTL
    _names: dict[str, list[tuple[int, RD]]] = field(default_factory=dict)
    _non_terminals: set[str] = field(default_factory=set)

    def add(self, name: str, rtype: int, rdata: RD) -> None:
        key = _key(name)
        self._names.setdefault(key, []).append((rtype, rdata))
        labels = key.split(".")
        for i in range(1, len(labels)):
            self._non_terminals.add(".".join(labels[i:]))

    def is_authoritative_for(self, qname: str) -> bool:
        """Ours to answer: anything in the cluster zone, and reverse names we hold a PTR for
        (other reverse names go upstream)."""
        key = _key(qname)
        return key == self._zone or key.endswith("." + self._zone) or key in self._names

    @property
    def _zone(self) -> str:
        return _key(self.domain)

    def answer(self, qname: str, qtype: int) -> Answer:
        key = _key(qname)
        records = self._names.get(key)
        if records is None:
            records = self._pod_record(key)
        if records is None and key == self._zone:
            records = []
        if records is None:
            if key in self._non_terminals:
                return Answer(RCODE.NOERROR, authority=(self.soa(),))
            return Answer(RCODE.NXDOMAIN, authority=(self.soa(),))
        if qtype == QTYPE.SOA and key == self._zone:
            return Answer(RCODE.NOERROR, answers=(self.soa(),))
        cname = [rd for t, rd in records if t == QTYPE.CNAME]
        if cname and qtype != QTYPE.CNAME:
            # ExternalName: hand back the alias; the client resolves it (CoreDNS does the
            # same when the target is outside the cluster).
            return Answer(RCODE.NOERROR, answers=(self._rr(qname, QTYPE.CNAME, cname[0]),))
        match = [(t, rd) for t, rd in records if qtype in (t, QTYPE.ANY)]
        if not match:
            return Answer(RCODE.NOERROR, authority=(self.soa(),))
        answers = tuple(self._rr(qname, t, rd) for t, rd in match)
        additional = tuple(
            self._rr(str(rd.target), t2, rd2)
            for t, rd in match if t == QTYPE.SRV
            for t2, rd2 in self._names.get(_key(str(rd.target)), []) if t2 == QTYPE.A)
        return Answer(RCODE.NOERROR, answers, additional=additional)

    def soa(self) -> RR:
        zone = self.domain.rstrip(".") + "."
        return RR(zone, QTYPE.SOA, ttl=self.ttl, rdata=SOA(
            f"ns.dns.{zone}", f"hostmaster.{zone}", (1, 7200, 1800, 86400, self.ttl)))

    def _rr(self, name: str, rtype: int, rdata: RD) -> RR:
        return RR(DNSLabel(name), rtype, ttl=self.ttl, rdata=rdata)

    def _pod_record(self, key: str) -> list[tuple[int, RD]] | None:
        """`a-b-c-d.<ns>.pod.<zone>` is a-b-c-d, as CoreDNS's `pods insecure` answers."""
        suffix = ".pod." + self._zone
        if not key.endswith(suffix):
            return None
        labels = key[: -len(suffix)].split(".")
        if len(labels) != 2:
            return None
        try:
            ip = ipaddress.IPv4Address(labels[0].replace("-", "."))
        except ValueError:
            return None
        return [(QTYPE.A, A(str(ip)))]


def build_records(services: Iterable[Obj], endpoint_slices: Iterable[Obj], *,
                  domain: str = "cluster.local", ttl: int = DEFAULT_TTL) -> ClusterRecords:
    recs = ClusterRecords(domain, ttl)
    slices: dict[tuple[str, str], list[Obj]] = {}
    for sl in endpoint_slices:
        meta = sl.get("metadata") or {}
        svc = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if svc:
            slices.setdefault((meta.get("namespace") or "", svc), []).append(sl)
    zone = domain.rstrip(".")
    for svc in sorted(services, key=_ns_name):
        ns, name = _ns_name(svc)
        spec = svc.get("spec") or {}
        fqdn = f"{name}.{ns}.svc.{zone}"
        if spec.get("type") == "ExternalName":
            if spec.get("externalName"):
                recs.add(fqdn, QTYPE.CNAME, CNAME(spec["externalName"].rstrip(".") + "."))
            continue
        ip = spec.get("clusterIP") or ""
        if ip == "None":
            _add_headless(recs, fqdn, spec, slices.get((ns, name), []))
        elif ip:
            _add_cluster_ip(recs, fqdn, ip, spec)
    return recs


def _add_cluster_ip(recs: ClusterRecords, fqdn: str, ip: str, spec: Obj) -> None:
    recs.add(fqdn, _address_type(ip), _address(ip))
    recs.add(_reverse(ip), QTYPE.PTR, PTR(fqdn + "."))
    for p in spec.get("ports") or []:
        if p.get("name"):
            srv = SRV(0, 100, int(p["port"]), fqdn + ".")
            recs.add(_srv_name(p["name"], p.get("protocol") or "TCP", fqdn), QTYPE.SRV, srv)
            recs.add(fqdn, QTYPE.SRV, srv)


def _add_headless(recs: ClusterRecords, fqdn: str, spec: Obj, slices: list[Obj]) -> None:
    include_not_ready = bool(spec.get("publishNotReadyAddresses"))
    seen: set[str] = set()
    targets: list[tuple[str, str]] = []  # (endpoint fqdn, ip)
    ports: dict[tuple[str, str], set[int]] = {}
    for sl in sorted(slices, key=lambda s: (s.get("metadata") or {}).get("name") or ""):
        for ep in sl.get("endpoints") or []:
            if not include_not_ready and (ep.get("conditions") or {}).get("ready") is False:
                continue
            for ip in ep.get("addresses") or []:
                if ip in seen:
                    continue
                seen.add(ip)
                host = ep.get("hostname") or ip.replace(".", "-").replace(":", "-")
                targets.append((f"{host}.{fqdn}", ip))
        for p in sl.get("ports") or []:
            if p.get("name") and p.get("port"):
                ports.setdefault((p["name"], p.get("protocol") or "TCP"), set()).add(p["port"])
    for target, ip in targets:
        recs.add(fqdn, _address_type(ip), _address(ip))
        recs.add(target, _address_type(ip), _address(ip))
        recs.add(_reverse(ip), QTYPE.PTR, PTR(target + "."))
    weight = max(1, 100 // max(1, len(targets)))
    for (pname, proto), numbers in sorted(ports.items()):
        for port in sorted(numbers):
            for target, _ in targets:
                srv = SRV(0, weight, port, target + ".")
                recs.add(_srv_name(pname, proto, fqdn), QTYPE.SRV, srv)
                recs.add(fqdn, QTYPE.SRV, srv)


def _srv_name(port_name: str, protocol: str, fqdn: str) -> str:
    return f"_{port_name}._{protocol.lower()}.{fqdn}"


def _address_type(ip: str) -> int:
    return int(QTYPE.AAAA if ":" in ip else QTYPE.A)


def _address(ip: str) -> RD:
    return AAAA(ip) if ":" in ip else A(ip)


def _reverse(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


def _ns_name(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta.get("name") or ""


def _key(name: str) -> str:
    return str(name).rstrip(".").lower()
