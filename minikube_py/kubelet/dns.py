"""A pod's resolv.conf (servers, searches, options) from its dnsPolicy/dnsConfig and the node's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_SEARCHES = 32


@dataclass(frozen=True, slots=True)
class DnsSettings:
    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


def parse_resolv_conf(text: str) -> DnsSettings:
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        key, values = fields[0], fields[1:]
        if key == "nameserver" and values:
            servers.append(values[0])
        elif key in ("search", "domain"):
            searches = list(values)  # the last search/domain line wins, as in glibc
        elif key == "options":
            options.extend(values)
    return DnsSettings(tuple(servers), tuple(searches), tuple(options))


def _merge_options(base: list[str], extra: list[dict[str, Any]]) -> list[str]:
    merged: dict[str, str] = {}
    for opt in base:
        name, sep, _ = opt.partition(":")
        merged[name] = opt if sep else name
    for item in extra:
        name = item.get("name", "")
        if name:
            value = item.get("value")
            merged[name] = f"{name}:{value}" if value is not None else name
    return list(merged.values())


def pod_dns_settings(pod_spec: dict[str, Any], namespace: str, *, cluster_dns: tuple[str, ...],
                     cluster_domain: str, host: DnsSettings) -> DnsSettings:
    """The kubelet's rules: ClusterFirst uses the cluster DNS (falling back to the host's when
    none is configured, as the kubelet does), Default uses the host's, None only dnsConfig."""
    policy = pod_spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "ClusterFirst" and pod_spec.get("hostNetwork"):
        policy = "Default"  # the kubelet does this too: host-network pods keep the node's DNS
    servers: list[str]
    searches: list[str]
    options: list[str]
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet") and cluster_dns:
        servers = list(cluster_dns)
        searches = [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain,
                    *host.searches]
        options = ["ndots:5"]
    elif policy == "None":
        servers, searches, options = [], [], []
    else:
        servers, searches, options = list(host.servers), list(host.searches), list(host.options)
    extra = pod_spec.get("dnsConfig") or {}
    servers += [s for s in extra.get("nameservers") or [] if s not in servers]
    searches += [s for s in extra.get("searches") or [] if s not in searches]
    options = _merge_options(options, extra.get("options") or [])
    return DnsSettings(tuple(servers[:3]), tuple(dict.fromkeys(searches))[:MAX_SEARCHES],
                       tuple(options))
