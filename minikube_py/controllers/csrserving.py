"""Whether a kubelet's serving CSR (`kubernetes.io/kubelet-serving`) is approved without a
person. kube leaves these to an external approver and k3s's server issues agents' serving
certificates itself; we decide as the widely used kubelet-csr-approver does: a node may have
a serving certificate for its own name and its own addresses, nothing else. kube's RBAC has
no permission for this (the `selfnodeserver` subresource is gone from its bootstrap roles),
so no SubjectAccessReview is asked; the rules below are the whole decision. Pure: a
function of the CSR and the Nodes."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from minikube_py.pki.csr import (
    KUBELET_SERVING,
    NODE_PREFIX,
    NODES_GROUP,
    common_name,
    decode_bytes,
    kubelet_serving_error,
    parse_request,
)

Obj = dict[str, Any]
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class ServingVerdict:
    """Approve (with the message of the Approved condition), or not (saying why)."""

    approve: bool
    message: str


def _refuse(why: str) -> ServingVerdict:
    return ServingVerdict(False, f"not auto-approving this kubelet serving certificate: {why}")


def node_ips(node: Obj) -> set[IpAddress]:
    """The Node's addresses that are IP addresses (its Hostname address is a name)."""
    found: set[IpAddress] = set()
    for address in (node.get("status") or {}).get("addresses") or []:
        try:
            found.add(ipaddress.ip_address(str(address.get("address", ""))))
        except ValueError:
            continue
    return found


def serving_verdict(csr: Obj, nodes: Iterable[Obj]) -> ServingVerdict | None:
    """The decision on a kubelet serving CSR; None when `csr` is not one (another signer),
    so not this rule's to decide."""
    spec = csr.get("spec") or {}
    if spec.get("signerName") != KUBELET_SERVING:
        return None
    try:
        request = parse_request(decode_bytes(spec.get("request")))
    except ValueError as e:
        return _refuse(f"its request cannot be read ({e})")
    why = kubelet_serving_error(request, spec.get("usages") or [])
    if why is not None:
        return _refuse(why)
    username = str(spec.get("username") or "")
    if username != common_name(request):
        return _refuse(f"the requester {username!r} is not the {common_name(request)!r} "
                       "it names")
    if NODES_GROUP not in (spec.get("groups") or []):
        return _refuse(f"the requester {username!r} is not in the group {NODES_GROUP}")
    node_name = username.removeprefix(NODE_PREFIX)
    return _names_verdict(request, node_name, list(nodes))


def _names_verdict(request: x509.CertificateSigningRequest, node_name: str,
                   nodes: list[Obj]) -> ServingVerdict:
    sans = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    other_names = sorted(set(sans.get_values_for_type(x509.DNSName)) - {node_name})
    if other_names:
        return _refuse(f"it asks for DNS names other than the node's name {node_name!r}: "
                       f"{', '.join(other_names)}")
    ips = sans.get_values_for_type(x509.IPAddress)
    if not ips:
        return _refuse("it asks for no IP address")
    listed = ", ".join(str(ip) for ip in ips)
    own = next((n for n in nodes if (n.get("metadata") or {}).get("name") == node_name), None)
    if own is not None:
        have = node_ips(own)
        for ip in ips:
            if ip not in have:
                return _refuse(f"{ip} is not an address of Node {node_name!r} (it has "
                               f"{', '.join(sorted(map(str, have))) or 'none'})")
        return ServingVerdict(True, f"Auto approving kubelet serving certificate for node "
                                    f"{node_name!r}: its own name and addresses ({listed}).")
    for other in nodes:
        taken = node_ips(other) & set(ips)
        if taken:
            return _refuse(f"{', '.join(sorted(map(str, taken)))} is an address of Node "
                           f"{(other.get('metadata') or {}).get('name')!r}")
    return ServingVerdict(True, f"Auto approving kubelet serving certificate for node "
                                f"{node_name!r}, not registered yet: its own name and "
                                f"addresses no other Node has ({listed}).")
