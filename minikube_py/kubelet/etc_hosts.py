"""The /etc/hosts the kubelet gives every container (kube's managed hosts file): localhost, the
pod's own name on its IPs (with its FQDN when it has a subdomain) and its hostAliases; a
host-network pod gets the node's file plus its aliases. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MANAGED_HEADER = "# Kubernetes-managed hosts file.\n"
HOST_NETWORK_HEADER = "# Kubernetes-managed hosts file (host network).\n"
HOSTNAME_MAX = 63


def pod_hostname(pod: Mapping[str, Any]) -> str:
    """The pod's hostname: spec.hostname or its name, cut to 63 characters without a
    trailing '-' or '.'."""
    spec = pod.get("spec") or {}
    name = str(spec.get("hostname") or pod["metadata"]["name"])
    return name if len(name) <= HOSTNAME_MAX else name[:HOSTNAME_MAX].rstrip("-.")


def pod_domain(pod: Mapping[str, Any], cluster_domain: str) -> str:
    """`subdomain.namespace.svc.cluster-domain` for a pod with a subdomain, else ""."""
    spec = pod.get("spec") or {}
    sub = spec.get("subdomain")
    if not sub:
        return ""
    return f"{sub}.{pod['metadata'].get('namespace', 'default')}.svc.{cluster_domain}"


def _aliases(host_aliases: Sequence[Mapping[str, Any]]) -> str:
    if not host_aliases:
        return ""
    lines = [f"{a.get('ip', '')}\t{chr(9).join(a.get('hostnames') or [])}\n" for a in host_aliases]
    return "\n# Entries added by HostAliases.\n" + "".join(lines)


def managed_hosts(pod: Mapping[str, Any], pod_ips: Sequence[str], cluster_domain: str) -> bytes:
    hostname = pod_hostname(pod)
    domain = pod_domain(pod, cluster_domain)
    text = [MANAGED_HEADER, "127.0.0.1\tlocalhost\n",
            "::1\tlocalhost ip6-localhost ip6-loopback\n", "fe00::0\tip6-localnet\n",
            "fe00::0\tip6-mcastprefix\n", "fe00::1\tip6-allnodes\n", "fe00::2\tip6-allrouters\n"]
    for ip in pod_ips:
        text.append(f"{ip}\t{hostname}.{domain}\t{hostname}\n" if domain else f"{ip}\t{hostname}\n")
    text.append(_aliases((pod.get("spec") or {}).get("hostAliases") or []))
    return "".join(text).encode()


def host_network_hosts(pod: Mapping[str, Any], node_hosts: bytes) -> bytes:
    aliases = _aliases((pod.get("spec") or {}).get("hostAliases") or [])
    return HOST_NETWORK_HEADER.encode() + node_hosts + aliases.encode()
