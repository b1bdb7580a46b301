"""The kubelet serving CSR rule: a node's request for its own name and its own addresses is
approved; every other request is left undecided, saying why."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from minikube_py.controllers.csrserving import serving_verdict
from tests.csrs import KUBELET_CLIENT_SIGNER, request_b64

Obj = dict[str, Any]
SERVING_SIGNER = "kubernetes.io/kubelet-serving"
SERVING_USAGES = ["digital signature", "server auth"]
NODE = "n1"


def csr(*, cn: str = f"system:node:{NODE}", orgs: tuple[str, ...] = ("system:nodes",),
        dns: tuple[str, ...] = (NODE,), ips: tuple[str, ...] = ("10.200.0.11",),
        username: str = f"system:node:{NODE}",
        groups: tuple[str, ...] = ("system:nodes", "system:authenticated"),
        signer: str = SERVING_SIGNER, usages: list[str] | None = None,
        request: str | None = None) -> Obj:
    return {"metadata": {"name": "csr-1", "uid": "u1"},
            "spec": {"request": request or request_b64(cn, orgs, dns_names=dns,
                                                       ip_addresses=ips),
                     "signerName": signer, "username": username, "groups": list(groups),
                     "usages": usages or list(SERVING_USAGES)}}


def node(name: str, *ips: str) -> Obj:
    return {"metadata": {"name": name},
            "status": {"addresses": [*({"type": "InternalIP", "address": ip} for ip in ips),
                                     {"type": "Hostname", "address": name}]}}


NODES = [node(NODE, "10.200.0.11", "fd00::11"), node("n2", "10.200.0.12")]
REFUSED = "not auto-approving this kubelet serving certificate: "


def test_a_nodes_request_for_its_own_name_and_address_is_approved() -> None:
    verdict = serving_verdict(csr(), NODES)
    assert verdict is not None and verdict.approve
    assert verdict.message == ("Auto approving kubelet serving certificate for node 'n1': "
                               "its own name and addresses (10.200.0.11).")


def test_every_address_of_the_node_may_be_asked_for_and_no_dns_name_at_all() -> None:
    verdict = serving_verdict(csr(dns=(), ips=("10.200.0.11", "fd00::11")), NODES)
    assert verdict is not None and verdict.approve


def test_a_node_not_registered_yet_may_ask_for_addresses_no_other_node_has() -> None:
    verdict = serving_verdict(csr(), [node("n2", "10.200.0.12")])
    assert verdict is not None and verdict.approve
    assert "not registered yet" in verdict.message


def test_requests_to_other_signers_are_not_this_rules_to_decide() -> None:
    assert serving_verdict(csr(signer=KUBELET_CLIENT_SIGNER), NODES) is None


@pytest.mark.parametrize(("obj", "nodes", "why"), [
    (csr(request=base64.b64encode(b"junk").decode()), NODES,
     "its request cannot be read (PEM block type must be CERTIFICATE REQUEST)"),
    (csr(usages=["digital signature", "client auth"]), NODES,
     "usages did not match ['digital signature', 'key encipherment', 'server auth']"),
    (csr(orgs=("system:masters",)), NODES, "subject organization is not system:nodes"),
    (csr(username="system:node:n2"), NODES,
     "the requester 'system:node:n2' is not the 'system:node:n1' it names"),
    (csr(username="system:bootstrap:abcdef"), NODES,
     "the requester 'system:bootstrap:abcdef' is not the 'system:node:n1' it names"),
    (csr(groups=("system:authenticated",)), NODES,
     "the requester 'system:node:n1' is not in the group system:nodes"),
    (csr(dns=(NODE, "api.example.com", "localhost")), NODES,
     "it asks for DNS names other than the node's name 'n1': api.example.com, localhost"),
    (csr(ips=()), NODES, "it asks for no IP address"),
    (csr(ips=("10.200.0.11", "10.200.0.99")), NODES,
     "10.200.0.99 is not an address of Node 'n1' (it has 10.200.0.11, fd00::11)"),
    (csr(ips=("10.200.0.12",)), NODES,
     "10.200.0.12 is not an address of Node 'n1' (it has 10.200.0.11, fd00::11)"),
    (csr(), [node(NODE)], "10.200.0.11 is not an address of Node 'n1' (it has none)"),
    (csr(ips=("10.200.0.12",)), [node("n2", "10.200.0.12")],
     "10.200.0.12 is an address of Node 'n2'"),
], ids=["unreadable", "client-usages", "not-system-nodes", "another-node-asks",
        "bootstrap-token-asks", "requester-not-a-node", "other-dns-names", "no-ip",
        "an-address-not-the-nodes", "another-nodes-address", "node-without-addresses",
        "unregistered-node-takes-anothers-address"])
def test_refusals_leave_the_request_undecided_saying_why(obj: Obj, nodes: list[Obj],
                                                         why: str) -> None:
    verdict = serving_verdict(obj, nodes)
    assert verdict is not None and not verdict.approve
    assert verdict.message == REFUSED + why
