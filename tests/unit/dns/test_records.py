"""Cluster DNS answers, as CoreDNS's kubernetes plugin gives them."""

from __future__ import annotations

from typing import Any

import pytest
from dnslib import QTYPE, RCODE

from minikube_py.dns.records import Answer, build_records


def service(name: str, ip: str, *, ns: str = "default", ports: list[dict[str, Any]] | None = None,
            **spec: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name},
            "spec": {"clusterIP": ip, "ports": ports if ports is not None else
                     [{"name": "http", "port": 80, "protocol": "TCP"}], **spec}}


def endpoint_slice(svc: str, endpoints: list[dict[str, Any]], *, ns: str = "default",
                   ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": f"{svc}-x",
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "endpoints": endpoints,
            "ports": ports if ports is not None else
            [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def ep(ip: str, *, ready: bool = True, hostname: str = "") -> dict[str, Any]:
    return {"addresses": [ip], "conditions": {"ready": ready},
            **({"hostname": hostname} if hostname else {})}


SERVICES = [
    service("web", "10.96.0.20"),
    service("db", "None"),
    service("empty", "None"),
    service("ext", "", type="ExternalName", externalName="example.org"),
    service("dns", "10.96.0.10", ns="kube-system",
            ports=[{"name": "dns", "port": 53, "protocol": "UDP"},
                   {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]),
]
SLICES = [
    endpoint_slice("db", [ep("10.244.0.7", hostname="db-0"), ep("10.244.0.8", hostname="db-1"),
                          ep("10.244.0.9", ready=False, hostname="db-2")],
                   ports=[{"name": "pg", "port": 5432, "protocol": "TCP"}]),
    endpoint_slice("web", [ep("10.244.0.5")]),
    endpoint_slice("empty", [ep("10.244.0.11", ready=False)]),
]
RECORDS = build_records(SERVICES, SLICES)


def ask(name: str, qtype: str = "A") -> Answer:
    return RECORDS.answer(name, int(getattr(QTYPE, qtype)))


def values(answer: Answer) -> list[str]:
    return sorted(str(rr.rdata) for rr in answer.answers)


@pytest.mark.parametrize(("name", "qtype", "rcode", "expected"), [
    ("web.default.svc.cluster.local", "A", RCODE.NOERROR, ["10.96.0.20"]),
    ("WEB.Default.SVC.cluster.LOCAL.", "A", RCODE.NOERROR, ["10.96.0.20"]),
    ("db.default.svc.cluster.local", "A", RCODE.NOERROR, ["10.244.0.7", "10.244.0.8"]),
    ("db-0.db.default.svc.cluster.local", "A", RCODE.NOERROR, ["10.244.0.7"]),
    ("db-2.db.default.svc.cluster.local", "A", RCODE.NXDOMAIN, []),  # not ready
    ("empty.default.svc.cluster.local", "A", RCODE.NXDOMAIN, []),  # headless, none ready
    ("_http._tcp.web.default.svc.cluster.local", "SRV", RCODE.NOERROR,
     ["0 100 80 web.default.svc.cluster.local."]),
    ("_pg._tcp.db.default.svc.cluster.local", "SRV", RCODE.NOERROR,
     ["0 50 5432 db-0.db.default.svc.cluster.local.",
      "0 50 5432 db-1.db.default.svc.cluster.local."]),
    ("_dns._udp.dns.kube-system.svc.cluster.local", "SRV", RCODE.NOERROR,
     ["0 100 53 dns.kube-system.svc.cluster.local."]),
    ("ext.default.svc.cluster.local", "A", RCODE.NOERROR, ["example.org."]),
    ("10-244-0-99.default.pod.cluster.local", "A", RCODE.NOERROR, ["10.244.0.99"]),
    ("20.0.96.10.in-addr.arpa", "PTR", RCODE.NOERROR, ["web.default.svc.cluster.local."]),
    ("7.0.244.10.in-addr.arpa", "PTR", RCODE.NOERROR, ["db-0.db.default.svc.cluster.local."]),
    ("web.default.svc.cluster.local", "AAAA", RCODE.NOERROR, []),  # NODATA
    ("default.svc.cluster.local", "A", RCODE.NOERROR, []),  # exists: names below it
    ("svc.cluster.local", "A", RCODE.NOERROR, []),
    ("nope.default.svc.cluster.local", "A", RCODE.NXDOMAIN, []),
    ("web.other.svc.cluster.local", "A", RCODE.NXDOMAIN, []),
    ("web.default.svc.cluster.local.default.svc.cluster.local", "A", RCODE.NXDOMAIN, []),
    ("example.org.default.svc.cluster.local", "A", RCODE.NXDOMAIN, []),  # search path miss
])
def test_answers(name: str, qtype: str, rcode: int, expected: list[str]) -> None:
    answer = ask(name, qtype)
    assert (answer.rcode, values(answer)) == (rcode, expected)


def test_answers_echo_the_question_name_as_asked() -> None:
    (rr,) = ask("Web.Default.svc.cluster.local").answers
    assert str(rr.rname) == "Web.Default.svc.cluster.local."
    assert rr.ttl == 5


def test_srv_answers_carry_the_target_addresses() -> None:
    answer = ask("_pg._tcp.db.default.svc.cluster.local", "SRV")
    assert sorted((str(rr.rname), str(rr.rdata)) for rr in answer.additional) == [
        ("db-0.db.default.svc.cluster.local.", "10.244.0.7"),
        ("db-1.db.default.svc.cluster.local.", "10.244.0.8")]


def test_negative_answers_carry_the_zone_soa_for_caching() -> None:
    for answer in (ask("nope.default.svc.cluster.local"),
                   ask("web.default.svc.cluster.local", "AAAA")):
        (soa,) = answer.authority
        assert str(soa.rname) == "cluster.local." and soa.rtype == QTYPE.SOA


def test_the_zone_apex_answers_soa() -> None:
    assert ask("cluster.local", "SOA").answers[0].rtype == QTYPE.SOA


def test_headless_endpoints_without_hostname_are_named_by_their_dashed_address() -> None:
    recs = build_records([service("h", "None")], [endpoint_slice("h", [ep("10.244.0.3")])])
    answer = recs.answer("10-244-0-3.h.default.svc.cluster.local", QTYPE.A)
    assert values(answer) == ["10.244.0.3"]


def test_publish_not_ready_addresses_includes_unready_endpoints() -> None:
    recs = build_records([service("h", "None", publishNotReadyAddresses=True)],
                         [endpoint_slice("h", [ep("10.244.0.3", ready=False)])])
    assert values(recs.answer("h.default.svc.cluster.local", QTYPE.A)) == ["10.244.0.3"]


@pytest.mark.parametrize(("name", "ours"), [
    ("web.default.svc.cluster.local", True), ("CLUSTER.LOCAL", True),
    ("anything.cluster.local", True), ("example.org", False),
    ("20.0.96.10.in-addr.arpa", True), ("1.1.168.192.in-addr.arpa", False),
    ("notcluster.local", False),
])
def test_what_is_answered_here_and_what_goes_upstream(name: str, ours: bool) -> None:
    assert RECORDS.is_authoritative_for(name) is ours


def test_another_cluster_domain() -> None:
    recs = build_records([service("web", "10.96.0.20")], [], domain="corp.internal")
    assert values(recs.answer("web.default.svc.corp.internal", QTYPE.A)) == ["10.96.0.20"]
    assert not recs.is_authoritative_for("web.default.svc.cluster.local")
