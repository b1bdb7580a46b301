"""Whether a cluster may take the host network its settings name, and what it then owns.
Pure: decided from a snapshot of the host's links, cluster routes and iptables rules.

A cluster never starts on a bridge, an address range or a mark bit that another cluster (or
another interface of the host) holds, and marks what it takes with its owner id
(runtime/hostnet.py says how), so that `delete` removes only what is its own.

Clusters on one machine may share the cluster's pod range (each node has its own /24 of
10.244.0.0/16, say); nothing else may overlap: not the node pod ranges, not the service
and load-balancer ranges, and not the subnets of the host's own interfaces.
"""

from __future__ import annotations

import ipaddress
import random

from minikube_py.clustersettings import ClusterSettings, HostClaim
from minikube_py.proxy.rules import (
    ProxySettings,
    choose_masquerade_mark,
    mark_bits_of_chains,
    owned_chain_pattern,
    prefix_for_owner,
    saved_chains,
)
from minikube_py.runtime.hostnet import (
    METRIC_FLOOR,
    METRIC_SLOTS,
    HostState,
    RouteKind,
    is_peer_route,
    parse_alias,
)

ATTEMPTS = 100  # to draw an owner id or a metric base nothing on the host uses yet


class ClaimRefused(Exception):
    """Another cluster or interface holds what the settings name; the message says which,
    and names the flag to change (`flag`) when there is one."""

    def __init__(self, message: str, flag: str = "") -> None:
        super().__init__(message)
        self.flag = flag


# Which of our ranges may overlap which range of another cluster: only the cluster ranges
# with each other and with node pod ranges (the nodes' /24s stay apart).
_MAY_OVERLAP = {
    RouteKind.CLUSTER_UNREACHABLE: {"pod_cidr", "cluster_cidr"},
    RouteKind.PODS_UNREACHABLE: {"cluster_cidr"},
}
_FLAGS = {"service_cidr": "--service-cidr", "pod_cidr": "--pod-cidr",
          "cluster_cidr": "--cluster-cidr", "lb_cidr": "--lb-cidr"}


def check_host(settings: ClusterSettings, *, claim: HostClaim | None, host: HostState,
               own_network: bool = True, adopt_unmarked_bridge: bool = False) -> None:
    """Refuse (ClaimRefused) a bridge or a range that is not this cluster's to take.
    `adopt_unmarked_bridge`: a bridge without an owner mark may be ours (a data dir from
    before owner ids, whose node.json names it)."""
    if own_network:
        _check_bridge(settings.bridge, claim, host, adopt_unmarked_bridge)
    for link in host.links:
        if own_network and link.name == settings.bridge:
            continue  # ours: checked above
        found = parse_alias(link.alias)
        for address in link.addresses:
            net = ipaddress.IPv4Interface(address).network
            if found:
                _check_overlap(settings, net, f"the pod range {net} of the minikube-py cluster "
                                              f"in {found[1]}", allowed={"cluster_cidr"})
            else:
                # A subnet inside the cluster range wins over its unreachable route by being
                # more specific; one holding the range would lose part of itself to it.
                inside = net.subnet_of(ipaddress.IPv4Network(settings.cluster_cidr))
                _check_overlap(settings, net, f"{net} on {link.name}",
                               allowed={"cluster_cidr"} if inside else set())
    for route in host.routes:
        kind = route.kind
        if kind is None or (claim is not None and route.base() == claim.route_metric):
            continue
        what = {RouteKind.CLUSTER_UNREACHABLE: "cluster pod range",
                RouteKind.PODS_UNREACHABLE: "node pod range"}.get(kind, "service range")
        holder = "another minikube-py cluster on this machine"
        if is_peer_route(route):
            # A part of that cluster's range (its node's at `via`): it may overlap what the
            # cluster range may.
            what, holder = "pod range", f"the node at {route.via} of {holder}"
        _check_overlap(settings, ipaddress.IPv4Network(route.dst),
                       f"the {what} {route.dst} of {holder}",
                       allowed=_MAY_OVERLAP.get(kind, set()))


def _check_bridge(name: str, claim: HostClaim | None, host: HostState, adopt: bool) -> None:
    link = host.link(name)
    if link is None:
        return
    found = parse_alias(link.alias)
    if found and claim is not None and found[0] == claim.owner:
        return
    if found:
        raise ClaimRefused(
            f"--bridge {name} is the pod bridge of the minikube-py cluster in {found[1]}; "
            f"choose another name with --bridge (if that cluster is stopped and no longer "
            f"wanted, `minikube-py delete --data-dir {found[1]}` removes it)", "--bridge")
    if adopt and link.kind == "bridge":
        return
    raise ClaimRefused(f"--bridge {name}: the host has a network interface of that name that "
                       f"is not this cluster's; choose another name with --bridge", "--bridge")


def _check_overlap(settings: ClusterSettings, other: ipaddress.IPv4Network, what: str, *,
                   allowed: set[str]) -> None:
    for name, flag in _FLAGS.items():
        if not getattr(settings, name):
            continue  # off (--lb-cidr)
        ours = ipaddress.IPv4Network(getattr(settings, name))
        if name not in allowed and ours.overlaps(other):
            raise ClaimRefused(f"{flag} {ours} overlaps {what}; choose another range with "
                               f"{flag}", flag)


def choose_claim(previous: HostClaim | None, *, host: HostState, iptables: str,
                 rng: random.Random, legacy_prefix: str | None = None) -> HostClaim:
    """What this cluster owns: the remembered claim, or a new owner id, chain prefix and
    route metric base that nothing on the host uses; and a masquerade mark bit no other
    cluster's rules use (the remembered one while it stays free)."""
    chains = saved_chains(iptables)
    if previous is not None:
        owner, prefix, metric = (previous.owner, previous.iptables_prefix,
                                 previous.route_metric)
    else:
        owner = _new_owner(rng, chains, host)
        prefix = legacy_prefix or prefix_for_owner(owner)
        metric = _new_metric_base(rng, host)
    ours = owned_chain_pattern(ProxySettings(prefix=prefix))
    taken = 0
    for chain, bits in mark_bits_of_chains(iptables).items():
        if chain.startswith("MKPY") and not ours.match(chain):
            taken |= bits
    mark = choose_masquerade_mark(taken, previous.masquerade_mark if previous else None)
    if mark is None:
        raise ClaimRefused("no masquerade mark bit is left for another cluster: the other "
                           "minikube-py clusters on this machine hold them all; delete one "
                           "(minikube-py delete --data-dir DIR)")
    return HostClaim(owner=owner, iptables_prefix=prefix, masquerade_mark=mark,
                     route_metric=metric)


def _new_owner(rng: random.Random, chains: list[str], host: HostState) -> str:
    owners = {link.owner for link in host.links if link.owner}
    for _ in range(ATTEMPTS):
        owner = f"{rng.getrandbits(32):08x}"
        pattern = owned_chain_pattern(ProxySettings(prefix=prefix_for_owner(owner)))
        if owner not in owners and not any(pattern.match(c) for c in chains):
            return owner
    raise ClaimRefused("no free owner id: every one drawn is in use on this machine")


def _new_metric_base(rng: random.Random, host: HostState) -> int:
    used = {route.base() for route in host.routes if route.kind is not None}
    for _ in range(ATTEMPTS):
        base = METRIC_FLOOR + 4 * rng.randrange(METRIC_SLOTS)
        if base not in used:
            return base
    raise ClaimRefused("no free route metric: every one drawn is in use on this machine")


def orphaned_claim(host: HostState, data_dir: str) -> tuple[str, HostClaim] | None:
    """(bridge, claim) of a cluster whose data dir is gone but whose bridge is still on the
    host: the bridge's owner mark names the data dir and the owner id, which names its
    iptables chains; its routes' metrics give the route base. None if no bridge names it."""
    for link in host.links:
        found = parse_alias(link.alias)
        if found is None or found[1] != data_dir:
            continue
        owner = found[0]
        bases = {r.base() for r in host.routes if r.kind is not None and r.dev == link.name}
        # Without a route on the bridge, no route can be proven this cluster's: base -1
        # matches none.
        base = bases.pop() if len(bases) == 1 else -1
        return link.name, HostClaim(owner=owner, iptables_prefix=prefix_for_owner(owner),
                                    masquerade_mark=0, route_metric=base)
    return None
