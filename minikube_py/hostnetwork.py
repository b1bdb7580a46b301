"""The host network of `serve` and `delete`: claim it (refusing what another cluster owns),
set up the bridge and routes marked as this data dir's, and release exactly those.
Decisions: hostclaim.py; what is marked how: runtime/hostnet.py."""

from __future__ import annotations

import ipaddress
import random
from pathlib import Path

from minikube_py.clustersettings import (
    ClusterSettings,
    HostClaim,
    Remembered,
    SettingsFileError,
    fixed_conflict,
    load_remembered,
)
from minikube_py.hostclaim import ClaimRefused, check_host, choose_claim, orphaned_claim
from minikube_py.proxy.iptables import IptablesError, saved_rules
from minikube_py.proxy.iptables import cleanup as cleanup_proxy_rules
from minikube_py.proxy.rules import ProxySettings, settings_for_bridge
from minikube_py.runtime.bridge import (
    delete_bridge,
    delete_routes,
    ensure_bridge,
    read_host_state,
    replace_routes,
)
from minikube_py.runtime.hostnet import (
    HostState,
    cluster_routes,
    describe_route,
    owned_routes,
    owner_alias,
)


class NodeAddressMissing(Exception):
    """--node-ip names no address of this machine; the message lists the ones it has."""


def node_network(host: HostState, address: str) -> str:
    """The subnet of the interface holding `address` (the node's LAN, where the other nodes
    are: pods are given a route to it); NodeAddressMissing if no interface holds it."""
    for link in host.links:
        for iface in link.addresses:
            found = ipaddress.IPv4Interface(iface)
            if str(found.ip) == address:
                return str(found.network)
    have = sorted({iface.split("/")[0] for link in host.links for iface in link.addresses
                   if not iface.startswith("127.")})
    raise NodeAddressMissing(f"--node-ip {address} is not an address of this machine "
                             f"(it has {', '.join(have) or 'none but loopback'})")


async def find_node_network(address: str) -> str:
    return node_network(await read_host_state(), address)


def pod_routes(cluster_cidr: str, service_cidr: str, node_network: str = "",
               lb_cidr: str = "") -> tuple[str, ...]:
    """Where pods are routed through their node: the cluster's pods and services (and its
    load-balancer addresses) and, on a cluster of several machines, the nodes' own network
    (NodePorts, other nodes' kubelets). Never a default route: nothing a pod sends may
    leave for elsewhere."""
    return (cluster_cidr, service_cidr, *(c for c in (lb_cidr, node_network) if c))


async def claim_host_network(settings: ClusterSettings, data_dir: Path, *, own_network: bool,
                             rng: random.Random | None = None) -> HostClaim:
    """What this cluster owns on the host; ClaimRefused if the data dir remembers other
    settings or another cluster holds any of it. Call with the data dir locked."""
    try:
        remembered = load_remembered(data_dir)
    except SettingsFileError as e:
        raise ClaimRefused(str(e)) from e
    conflict = fixed_conflict(settings, remembered)
    if conflict is not None:
        raise ClaimRefused(str(conflict), conflict.flag)
    host = await read_host_state()
    try:
        rules = await saved_rules()
    except IptablesError as e:
        if own_network:
            raise RuntimeError(f"cannot read the iptables rules: {e}") from e
        rules = ""  # a foreign containerd and no root: kube-proxy will say so itself
    check_host(settings, claim=remembered.claim, host=host, own_network=own_network,
               adopt_unmarked_bridge=remembered.legacy)
    legacy_prefix = settings_for_bridge(settings.bridge).prefix if remembered.legacy else None
    return choose_claim(remembered.claim, host=host, iptables=rules,
                        rng=rng or random.SystemRandom(), legacy_prefix=legacy_prefix)


def proxy_settings(settings: ClusterSettings, claim: HostClaim) -> ProxySettings:
    return ProxySettings(prefix=claim.iptables_prefix, service_cidr=settings.service_cidr,
                         cluster_cidr=settings.cluster_cidr, lb_cidr=settings.lb_cidr,
                         masquerade_mark=f"{claim.masquerade_mark:#x}")


async def set_up_host_network(settings: ClusterSettings, claim: HostClaim,
                              data_dir: Path) -> str:
    """The pod bridge (marked with the owner id) and the cluster's routes; returns the
    node's address on the bridge."""
    node_ip = await ensure_bridge(settings.bridge, settings.pod_cidr,
                                  owner_alias(claim.owner, data_dir))
    await replace_routes(cluster_routes(
        bridge=settings.bridge, pod_cidr=settings.pod_cidr, cluster_cidr=settings.cluster_cidr,
        service_cidr=settings.service_cidr, metric_base=claim.route_metric,
        lb_cidr=settings.lb_cidr))
    return node_ip


async def release_host_network(remembered: Remembered) -> list[str]:
    """Remove the iptables rules, routes and bridge that carry this data dir's marks; say
    what was removed, and what was left because it is not provably this cluster's."""
    bridge = remembered.settings.get("bridge")
    claim = remembered.claim
    if claim is None:
        if bridge is None:
            return []
        return [f"left bridge {bridge} and its service rules: {remembered.source} does not "
                "record that this cluster owns them (an older minikube-py wrote it); remove "
                "them by hand if they are this cluster's"]
    done: list[str] = []
    if await cleanup_proxy_rules(ProxySettings(prefix=claim.iptables_prefix)):
        done.append(f"removed service rules (iptables chains {claim.iptables_prefix}-*)")
    host = await read_host_state()
    # Peer node routes (runtime/noderoutes.py) carry the same marks: they go too.
    for route in await delete_routes(owned_routes(host.routes, claim.route_metric)):
        done.append(f"removed route {describe_route(route)}")
    link = host.link(str(bridge)) if bridge else None
    if link is not None and link.owner == claim.owner:
        await delete_bridge(link.name)
        done.append(f"removed bridge {link.name}")
    elif link is not None:
        done.append(f"left bridge {link.name}: it is not this cluster's "
                    f"({link.alias or 'no owner mark'})")
    return done


async def release_orphaned_network(data_dir: Path) -> list[str]:
    """What a cluster whose data dir is gone still holds on the host (its bridge names the
    data dir): release it as `release_host_network` would; [] if no bridge names it."""
    found = orphaned_claim(await read_host_state(), str(data_dir))
    if found is None:
        return []
    bridge, claim = found
    return await release_host_network(Remembered({"bridge": bridge}, claim))
