"""Services + EndpointSlices -> iptables rules in kube-proxy's iptables-mode shape (pure, no IO).

The layout follows kube-proxy so anyone who has debugged a cluster can read it:
nat `<P>-SERVICES` dispatches ClusterIP:port/proto to `<P>-SVC-<hash>` (one per service
port), which picks an endpoint with `-m statistic` (and `-m recent` for ClientIP
affinity) and jumps to `<P>-SEP-<hash>` (one per endpoint) for the DNAT. NodePorts go
through `<P>-NODEPORTS`. Traffic to a load-balancer ingress IP or an external IP enters
`<P>-EXT-<hash>` (masquerade, then the service chain), through `<P>-FW-<hash>` first when
loadBalancerSourceRanges limit who may use it (what the FW chain lets through is DNATed;
the filter table DROPs the rest). Services without ready endpoints are REJECTed in the filter
table so clients fail fast. `<P>` is a per-cluster prefix starting with "MKPY", and each
cluster masquerades with a mark bit of its own.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = Mapping[str, Any]

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_SECONDS = 10800
MAX_CHAIN_NAME = 28  # the kernel's limit (29 with the NUL)

# Chains every sync writes, per table (the per-service ones come and go).
NAT_FIXED = ("SERVICES", "NODEPORTS", "POSTROUTING", "MARK-MASQ")
FILTER_FIXED = ("SERVICES", "EXTERNAL-SERVICES")


@dataclass(frozen=True, slots=True)
class ProxySettings:
    prefix: str = "MKPY"
    service_cidr: str = "10.96.0.0/12"
    # Traffic to a service from outside this range (the host itself, say, whose source
    # address pods have no route back to) is masqueraded to the bridge address, like
    # kube-proxy's --cluster-cidr. Empty: only hairpin traffic is masqueraded.
    cluster_cidr: str = ""
    masquerade_mark: str = "0x4000"
    # The load-balancer pool (serve --lb-cidr): what nothing DNATed there is refused, as in
    # the service range. Empty: no pool.
    lb_cidr: str = ""


DEFAULT_SETTINGS = ProxySettings()


@dataclass(frozen=True, slots=True)
class ProxyNode:
    """The node this proxy runs on: NodePorts answer on `ips` (every local address when
    empty), and hairpin traffic is masqueraded only when it leaves through `pod_bridge`."""

    name: str
    ips: tuple[str, ...] = ()
    pod_bridge: str = "mkpy0"


@dataclass(frozen=True, slots=True)
class Endpoint:
    ip: str
    port: int


@dataclass(frozen=True, slots=True)
class ServicePort:
    namespace: str
    service: str
    port_name: str
    protocol: str
    cluster_ip: str
    port: int
    node_port: int
    affinity_seconds: int  # 0: no session affinity
    endpoints: tuple[Endpoint, ...]
    external_ips: tuple[str, ...] = ()  # spec.externalIPs
    load_balancer_ips: tuple[str, ...] = ()  # status.loadBalancer.ingress[].ip (ipMode VIP)
    source_ranges: tuple[str, ...] = ()  # spec.loadBalancerSourceRanges

    @property
    def display(self) -> str:
        """kube-proxy's ServicePortName: "ns/svc:port" ("ns/svc" for an unnamed port)."""
        base = f"{self.namespace}/{self.service}"
        return f"{base}:{self.port_name}" if self.port_name else base


@dataclass(frozen=True, slots=True)
class Ruleset:
    """Chains of one sync: table -> chain -> rules (each a rule's arguments after `-A CHAIN`)."""

    tables: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)


def settings_for_bridge(bridge: str, service_cidr: str = "10.96.0.0/12",
                        cluster_cidr: str = "") -> ProxySettings:
    """The chain names of a cluster from before clusters remembered an owner id (legacy
    node.json): "MKPY" for the default bridge, "MKPY-<4 hex of the bridge name>" otherwise.
    Newer clusters take `prefix_for_owner`."""
    if bridge == "mkpy0":
        return ProxySettings(service_cidr=service_cidr, cluster_cidr=cluster_cidr)
    tag = hashlib.sha256(bridge.encode()).hexdigest()[:4]
    return ProxySettings(prefix=f"MKPY-{tag}", service_cidr=service_cidr,
                         cluster_cidr=cluster_cidr)


def prefix_for_owner(owner: str) -> str:
    """Chain names per cluster, so clusters on one machine never touch each other's chains:
    "MKPY-" and the first 4 hex digits of the owner id the data dir remembers."""
    return f"MKPY-{owner[:4]}"


# --- mark bits: one per cluster ------------------------------------------------------------

# Each cluster masquerades with a mark bit of its own: a POSTROUTING chain clears its bit
# once it has looked, so two clusters sharing one would undo each other's hairpin and
# host-to-ClusterIP masquerading. Never kube-proxy's 0x4000 (masquerade) or 0x8000 (drop).
MASQUERADE_MARK_BITS = tuple(1 << b for b in range(16, 31))
_MARK_ARG_RE = re.compile(r"--(?:set-xmark|set-mark|or-mark|xor-mark|and-mark|mark)\s+"
                          r"(0x[0-9a-fA-F]+)(?:/(0x[0-9a-fA-F]+))?")


def saved_chains(save_text: str) -> list[str]:
    """The chains declared in `iptables-save` output."""
    return [ln[1:].split()[0] for ln in save_text.splitlines() if ln.startswith(":")]


def mark_bits_of_chains(save_text: str) -> dict[str, int]:
    """chain -> every mark bit its rules set, clear or test, from `iptables-save` output
    (which prints `--or-mark M` as `--set-xmark M/M` and `--xor-mark M` as `M/0x0`)."""
    bits: dict[str, int] = {}
    for line in save_text.splitlines():
        if not line.startswith("-A "):
            continue
        chain = line.split()[1]
        for value, mask in _MARK_ARG_RE.findall(line):
            bits[chain] = bits.get(chain, 0) | int(value, 16) | int(mask or "0", 16)
    return bits


def choose_masquerade_mark(taken: int, preferred: int | None = None) -> int | None:
    """`preferred` if it is one of ours and free, else the lowest free bit; None if none is."""
    if preferred in MASQUERADE_MARK_BITS and not preferred & taken:
        return preferred
    return next((bit for bit in MASQUERADE_MARK_BITS if not bit & taken), None)


# --- the model: which service ports exist and where they lead ----------------------------

def service_ports(services: Iterable[Obj], endpoint_slices: Iterable[Obj]) -> list[ServicePort]:
    """Every proxyable service port with its ready endpoints, sorted."""
    by_service: dict[tuple[str, str], list[Obj]] = {}
    for sl in endpoint_slices:
        meta = sl.get("metadata") or {}
        svc = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if svc and sl.get("addressType", "IPv4") == "IPv4":
            by_service.setdefault((meta.get("namespace") or "", svc), []).append(sl)
    out: list[ServicePort] = []
    for svc in services:
        meta = svc.get("metadata") or {}
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP") or ""
        if spec.get("type") == "ExternalName" or ip in ("", "None") or not _is_ipv4(ip):
            continue
        ns, name = meta.get("namespace") or "", meta.get("name") or ""
        affinity = 0
        if spec.get("sessionAffinity") == "ClientIP":
            cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
            affinity = int(cfg.get("timeoutSeconds") or DEFAULT_AFFINITY_SECONDS)
        slices = by_service.get((ns, name), [])
        external = _ipv4s(spec.get("externalIPs") or [])
        lb_ips = load_balancer_ips(svc)
        ranges = _ipv4_ranges(spec.get("loadBalancerSourceRanges") or []) if lb_ips else ()
        for p in spec.get("ports") or []:
            proto = p.get("protocol") or "TCP"
            port_name = p.get("name") or ""
            out.append(ServicePort(
                namespace=ns, service=name, port_name=port_name, protocol=proto,
                cluster_ip=ip, port=int(p["port"]),
                # Only these types answer on node ports (a nodePort left behind by a type
                # change is no port of the Service's).
                node_port=int(p.get("nodePort") or 0)
                if spec.get("type") in ("NodePort", "LoadBalancer") else 0,
                affinity_seconds=affinity,
                endpoints=ready_endpoints(slices, port_name, proto),
                external_ips=external, load_balancer_ips=lb_ips, source_ranges=ranges))
    out.sort(key=lambda sp: (sp.namespace, sp.service, sp.port_name, sp.protocol, sp.port))
    return out


def load_balancer_ips(svc: Obj) -> tuple[str, ...]:
    """The ingress IPs a LoadBalancer Service's status names that kube-proxy answers for:
    those of ipMode VIP (or none given); ipMode Proxy ones are the load balancer's to reach."""
    if (svc.get("spec") or {}).get("type") != "LoadBalancer":
        return ()
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return _ipv4s(i.get("ip") or "" for i in ingress
                  if isinstance(i, Mapping) and (i.get("ipMode") or "VIP") == "VIP")


def _ipv4s(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if isinstance(v, str) and _is_ipv4(v)},
                        key=lambda v: int(ipaddress.IPv4Address(v))))


def _ipv4_ranges(values: Iterable[Any]) -> tuple[str, ...]:
    nets: set[ipaddress.IPv4Network] = set()
    for v in values:
        try:
            net = ipaddress.ip_network(str(v).strip(), strict=False)
        except ValueError:
            continue  # the API refuses these; one stored before it did must not break a sync
        if isinstance(net, ipaddress.IPv4Network):
            nets.add(net)
    return tuple(str(n) for n in sorted(nets))


def ready_endpoints(slices: Iterable[Obj], port_name: str, protocol: str) -> tuple[Endpoint, ...]:
    """Ready endpoints for one service port over all the service's slices, deduplicated and
    sorted (by address, numerically) so output does not depend on slice order."""
    found: set[Endpoint] = set()
    for sl in slices:
        port = next((int(p["port"]) for p in sl.get("ports") or []
                     if (p.get("name") or "") == port_name
                     and (p.get("protocol") or "TCP") == protocol and p.get("port")), None)
        if port is None:
            continue
        for ep in sl.get("endpoints") or []:
            # A nil `ready` means ready (discovery.k8s.io/v1 semantics).
            if (ep.get("conditions") or {}).get("ready") is False:
                continue
            for addr in ep.get("addresses") or []:
                if _is_ipv4(addr):
                    found.add(Endpoint(addr, port))
    return tuple(sorted(found, key=lambda e: (int(ipaddress.IPv4Address(e.ip)), e.port)))


# --- chain names ---------------------------------------------------------------------------

def chain_name(settings: ProxySettings, kind: str, *parts: str) -> str:
    """`<prefix>-<kind>` or, with parts, `<prefix>-<kind>-<hash of parts>` as kube-proxy
    names KUBE-SVC-/KUBE-SEP- chains (base32 of sha256), cut to the kernel's limit."""
    base = f"{settings.prefix}-{kind}"
    if not parts:
        return base
    digest = base64.b32encode(hashlib.sha256("".join(parts).encode()).digest()).decode()
    return f"{base}-{digest[:min(16, MAX_CHAIN_NAME - len(base) - 1)]}"


def svc_chain(settings: ProxySettings, sp: ServicePort) -> str:
    return chain_name(settings, "SVC", sp.display, sp.protocol)


def sep_chain(settings: ProxySettings, sp: ServicePort, ep: Endpoint) -> str:
    return chain_name(settings, "SEP", sp.display, sp.protocol, f"{ep.ip}:{ep.port}")


def ext_chain(settings: ProxySettings, sp: ServicePort) -> str:
    return chain_name(settings, "EXT", sp.display, sp.protocol)


def fw_chain(settings: ProxySettings, sp: ServicePort) -> str:
    return chain_name(settings, "FW", sp.display, sp.protocol)


def owned_chain_pattern(settings: ProxySettings) -> re.Pattern[str]:
    """Matches exactly the chain names this prefix produces, and not those of another cluster
    whose prefix merely starts with ours (e.g. MKPY vs MKPY-ab12)."""
    p = re.escape(settings.prefix)
    fixed = "|".join(sorted({*NAT_FIXED, *FILTER_FIXED}))
    return re.compile(rf"^{p}-(?:(?:{fixed})|(?:SVC|SEP|EXT|FW)-[A-Z2-7]+)$")


def jump_rules(settings: ProxySettings) -> list[tuple[str, str, tuple[str, ...]]]:
    """The only rules we put into built-in chains: (table, chain, rule arguments)."""
    p = settings.prefix
    c = "minikube-py"
    new = ("-m", "conntrack", "--ctstate", "NEW")
    return [
        ("nat", "PREROUTING", ("-m", "comment", "--comment", f"{c} service portals",
                               "-j", f"{p}-SERVICES")),
        ("nat", "OUTPUT", ("-m", "comment", "--comment", f"{c} service portals",
                           "-j", f"{p}-SERVICES")),
        ("nat", "POSTROUTING", ("-m", "comment", "--comment", f"{c} postrouting rules",
                                "-j", f"{p}-POSTROUTING")),
        ("filter", "INPUT", (*new, "-m", "comment", "--comment", f"{c} external services",
                             "-j", f"{p}-EXTERNAL-SERVICES")),
        ("filter", "FORWARD", (*new, "-m", "comment", "--comment", f"{c} service portals",
                               "-j", f"{p}-SERVICES")),
        ("filter", "OUTPUT", (*new, "-m", "comment", "--comment", f"{c} service portals",
                              "-j", f"{p}-SERVICES")),
    ]


# --- rendering -----------------------------------------------------------------------------

def build_ruleset(services: Iterable[Obj], endpoint_slices: Iterable[Obj], node: ProxyNode,
                  settings: ProxySettings = DEFAULT_SETTINGS) -> Ruleset:
    ports = service_ports(services, endpoint_slices)
    nat: dict[str, list[str]] = {chain_name(settings, k): [] for k in NAT_FIXED}
    flt: dict[str, list[str]] = {chain_name(settings, k): [] for k in FILTER_FIXED}
    services_chain = chain_name(settings, "SERVICES")
    nodeports_chain = chain_name(settings, "NODEPORTS")
    mark_masq = chain_name(settings, "MARK-MASQ")
    mark = settings.masquerade_mark

    for sp in ports:
        proto = sp.protocol.lower()
        if not sp.endpoints:
            reject = "-j REJECT --reject-with icmp-port-unreachable"
            flt[services_chain].append(
                f"-d {sp.cluster_ip}/32 -p {proto} -m comment --comment "
                f"\"{sp.display} has no endpoints\" -m {proto} --dport {sp.port} {reject}")
            external = flt[chain_name(settings, "EXTERNAL-SERVICES")]
            if sp.node_port:
                for dst in _node_dst(node):
                    external.append(
                        f"{dst}-p {proto} -m comment --comment \"{sp.display} has no "
                        f"endpoints\" -m {proto} --dport {sp.node_port} {reject}")
            # External addresses are reached from this host and its pods (OUTPUT, FORWARD:
            # the SERVICES chain) and, when one is this host's own, from outside (INPUT).
            for ext_ip in (*sp.external_ips, *sp.load_balancer_ips):
                rule = (f"-d {ext_ip}/32 -p {proto} -m comment --comment \"{sp.display} has "
                        f"no endpoints\" -m {proto} --dport {sp.port} {reject}")
                flt[services_chain].append(rule)
                external.append(rule)
            continue
        svc = svc_chain(settings, sp)
        if settings.cluster_cidr:
            nat[services_chain].append(
                f"! -s {settings.cluster_cidr} -d {sp.cluster_ip}/32 -p {proto} -m comment "
                f"--comment \"{sp.display} cluster IP\" -m {proto} --dport {sp.port} "
                f"-j {mark_masq}")
        nat[services_chain].append(
            f"-d {sp.cluster_ip}/32 -p {proto} -m comment --comment "
            f"\"{sp.display} cluster IP\" -m {proto} --dport {sp.port} -j {svc}")
        if sp.node_port:
            # NodePort clients may be anywhere: answer through this node (kube's
            # externalTrafficPolicy=Cluster masquerades them all).
            nat[nodeports_chain].append(
                f"-p {proto} -m comment --comment \"{sp.display}\" -m {proto} "
                f"--dport {sp.node_port} -j {mark_masq}")
            nat[nodeports_chain].append(
                f"-p {proto} -m comment --comment \"{sp.display}\" -m {proto} "
                f"--dport {sp.node_port} -j {svc}")
        if sp.external_ips or sp.load_balancer_ips:
            _external_rules(settings, sp, nat, flt)
        nat[svc] = _svc_rules(settings, sp)
        for ep in sp.endpoints:
            sep = sep_chain(settings, sp, ep)
            recent = (f"-m recent --set --name {sep} --mask 255.255.255.255 --rsource "
                      if sp.affinity_seconds else "")
            nat[sep] = [
                # Hairpin: a pod reaching itself through its service must not see its own
                # address as the source, or its reply never returns through our conntrack.
                f"-s {ep.ip}/32 -m comment --comment \"{sp.display}\" -j {mark_masq}",
                f"-p {proto} -m comment --comment \"{sp.display}\" {recent}-m {proto} "
                f"-j DNAT --to-destination {ep.ip}:{ep.port}",
            ]

    for dst in _node_dst(node):
        nat[services_chain].append(
            f"{dst}-m comment --comment \"minikube-py service nodeports; NOTE: this must be "
            f"the last rule in this chain\" -j {nodeports_chain}")
    nat[mark_masq] = [f"-j MARK --or-mark {mark}"]
    nat[chain_name(settings, "POSTROUTING")] = [
        f"-m mark ! --mark {mark}/{mark} -j RETURN",
        f"-j MARK --xor-mark {mark}",
        # Only towards the pod bridge (hairpin); never towards the uplink.
        f"-o {node.pod_bridge} -m comment --comment \"minikube-py hairpin traffic requiring "
        f"SNAT\" -j MASQUERADE",
        # A NodePort's or the host's service traffic DNATed to a pod on another node: its
        # answer must come back through this node (kube-proxy masquerades it too). It goes
        # to the cluster's pod range, never elsewhere.
        *([f"-d {settings.cluster_cidr} -m comment --comment \"minikube-py service traffic "
           f"to pods on other nodes requiring SNAT\" -j MASQUERADE"]
          if settings.cluster_cidr else []),
    ]
    # Whatever is addressed to the service range (or the load-balancer pool) and was not
    # DNATed has no service behind it: refuse it here rather than let a route carry it off.
    for cidr in (settings.service_cidr, *((settings.lb_cidr,) if settings.lb_cidr else ())):
        flt[services_chain].append(
            f"-d {cidr} -m conntrack ! --ctstate DNAT -m comment --comment \"minikube-py: no "
            f"such service port\" -j REJECT --reject-with icmp-port-unreachable")
    return Ruleset({"nat": {k: tuple(v) for k, v in nat.items()},
                    "filter": {k: tuple(v) for k, v in flt.items()}})


def _external_rules(settings: ProxySettings, sp: ServicePort, nat: dict[str, list[str]],
                    flt: dict[str, list[str]]) -> None:
    """kube-proxy's external destinations (externalTrafficPolicy Cluster, the only one we
    serve): external and load-balancer IPs enter the EXT chain, which masquerades (the
    client may be anywhere) and goes on to the service chain; load-balancer IPs with source
    ranges pass the FW chain first, and the filter table drops what it let fall through."""
    proto = sp.protocol.lower()
    services_chain = chain_name(settings, "SERVICES")
    ext = ext_chain(settings, sp)
    for ip in sp.external_ips:
        nat[services_chain].append(
            f"-d {ip}/32 -p {proto} -m comment --comment \"{sp.display} external IP\" "
            f"-m {proto} --dport {sp.port} -j {ext}")
    lb_target = fw_chain(settings, sp) if sp.source_ranges else ext
    for ip in sp.load_balancer_ips:
        nat[services_chain].append(
            f"-d {ip}/32 -p {proto} -m comment --comment \"{sp.display} loadbalancer IP\" "
            f"-m {proto} --dport {sp.port} -j {lb_target}")
        if sp.source_ranges:
            flt[services_chain].append(
                f"-d {ip}/32 -p {proto} -m comment --comment \"{sp.display} traffic not "
                f"accepted by {lb_target}\" -m {proto} --dport {sp.port} -j DROP")
    if sp.source_ranges:
        nat[lb_target] = [
            f"-s {cidr} -m comment --comment \"{sp.display} loadbalancer IP\" -j {ext}"
            for cidr in sp.source_ranges]
    nat[ext] = [
        f"-m comment --comment \"masquerade traffic for {sp.display} external destinations\" "
        f"-j {chain_name(settings, 'MARK-MASQ')}",
        f"-j {svc_chain(settings, sp)}",
    ]


def _svc_rules(settings: ProxySettings, sp: ServicePort) -> list[str]:
    rules: list[str] = []
    seps = [sep_chain(settings, sp, ep) for ep in sp.endpoints]
    if sp.affinity_seconds:
        for ep, sep in zip(sp.endpoints, seps, strict=True):
            rules.append(
                f"-m comment --comment \"{sp.display} -> {ep.ip}:{ep.port}\" -m recent "
                f"--rcheck --seconds {sp.affinity_seconds} --reap --name {sep} "
                f"--mask 255.255.255.255 --rsource -j {sep}")
    n = len(seps)
    for i, (ep, sep) in enumerate(zip(sp.endpoints, seps, strict=True)):
        # Rule i takes 1/(n-i) of what is left, so every endpoint gets 1/n overall.
        chance = (f"-m statistic --mode random --probability {1.0 / (n - i):0.10f} "
                  if i < n - 1 else "")
        rules.append(f"-m comment --comment \"{sp.display} -> {ep.ip}:{ep.port}\" "
                     f"{chance}-j {sep}")
    return rules


def _node_dst(node: ProxyNode) -> list[str]:
    """Match prefixes for "addressed to this node"."""
    if node.ips:
        return [f"-d {ip}/32 " for ip in sorted(node.ips)]
    return ["-m addrtype --dst-type LOCAL "]


def render_restore(ruleset: Ruleset, *, previous: Ruleset | None = None,
                   existing: Mapping[str, Iterable[str]] | None = None) -> str:
    """An `iptables-restore --noflush` payload.

    Without `previous`, every chain of `ruleset` is declared (hence flushed) and rewritten.
    With `previous` (what the last successful sync wrote), only chains whose rules changed are
    rewritten; chains in `previous` or `existing` (found in the kernel) but not in `ruleset`
    are flushed and deleted in the same transaction."""
    out: list[str] = []
    for table in sorted(set(ruleset.tables) | set(existing or {})):
        chains = ruleset.tables.get(table, {})
        before = (previous.tables.get(table, {}) if previous else {})
        stale = (set(before) | set((existing or {}).get(table, ()))) - set(chains)
        changed = sorted(c for c in chains if previous is None or before.get(c) != chains[c])
        if not changed and not stale:
            continue
        out.append(f"*{table}")
        out.extend(f":{c} - [0:0]" for c in sorted({*changed, *stale}))
        for c in changed:
            out.extend(f"-A {c} {rule}" for rule in chains[c])
        out.extend(f"-X {c}" for c in sorted(stale))
        out.append("COMMIT")
    return "\n".join(out) + "\n" if out else ""


def render_service_rules(services: Iterable[Obj], endpoint_slices: Iterable[Obj],
                         node: ProxyNode, settings: ProxySettings = DEFAULT_SETTINGS) -> str:
    """The full iptables-restore payload for the current state (deterministic bytes)."""
    return render_restore(build_ruleset(services, endpoint_slices, node, settings))


def _is_ipv4(s: str) -> bool:
    try:
        ipaddress.IPv4Address(s)
    except ValueError:
        return False
    return True
