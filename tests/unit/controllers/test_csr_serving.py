"""The kubelet serving CSR rule: a node's request for its own name and its own addresses is
approved; every other request is left undecided, saying why."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from minikube_py.api.resources import CERTIFICATESIGNINGREQUESTS
from minikube_py.api.resources import NODES as NODES_API
from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.service import ApiService
from minikube_py.client.informer import InformerFactory
from minikube_py.controllers.base import ControllerContext
from minikube_py.controllers.csrapproving import CsrApprovingController
from minikube_py.controllers.csrserving import serving_verdict
from tests.csrs import KUBELET_CLIENT_SIGNER, request_b64
from tests.integration.harness import eventually

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


KNOWN_NODES = [node(NODE, "10.200.0.11", "fd00::11"), node("n2", "10.200.0.12")]
REFUSED = "not auto-approving this kubelet serving certificate: "


def test_a_nodes_request_for_its_own_name_and_address_is_approved() -> None:
    verdict = serving_verdict(csr(), KNOWN_NODES)
    assert verdict is not None and verdict.approve
    assert verdict.message == ("Auto approving kubelet serving certificate for node 'n1': "
                               "its own name and addresses (10.200.0.11).")


def test_every_address_of_the_node_may_be_asked_for_and_no_dns_name_at_all() -> None:
    verdict = serving_verdict(csr(dns=(), ips=("10.200.0.11", "fd00::11")), KNOWN_NODES)
    assert verdict is not None and verdict.approve


def test_a_node_not_registered_yet_may_ask_for_addresses_no_other_node_has() -> None:
    verdict = serving_verdict(csr(), [node("n2", "10.200.0.12")])
    assert verdict is not None and verdict.approve
    assert "not registered yet" in verdict.message


def test_requests_to_other_signers_are_not_this_rules_to_decide() -> None:
    assert serving_verdict(csr(signer=KUBELET_CLIENT_SIGNER), KNOWN_NODES) is None


@pytest.mark.parametrize(("obj", "nodes", "why"), [
    (csr(request=base64.b64encode(b"junk").decode()), KNOWN_NODES,
     "its request cannot be read (PEM block type must be CERTIFICATE REQUEST)"),
    (csr(usages=["digital signature", "client auth"]), KNOWN_NODES,
     "usages did not match ['digital signature', 'key encipherment', 'server auth']"),
    (csr(orgs=("system:masters",)), KNOWN_NODES, "subject organization is not system:nodes"),
    (csr(username="system:node:n2"), KNOWN_NODES,
     "the requester 'system:node:n2' is not the 'system:node:n1' it names"),
    (csr(username="system:bootstrap:abcdef"), KNOWN_NODES,
     "the requester 'system:bootstrap:abcdef' is not the 'system:node:n1' it names"),
    (csr(groups=("system:authenticated",)), KNOWN_NODES,
     "the requester 'system:node:n1' is not in the group system:nodes"),
    (csr(dns=(NODE, "api.example.com", "localhost")), KNOWN_NODES,
     "it asks for DNS names other than the node's name 'n1': api.example.com, localhost"),
    (csr(ips=()), KNOWN_NODES, "it asks for no IP address"),
    (csr(ips=("10.200.0.11", "10.200.0.99")), KNOWN_NODES,
     "10.200.0.99 is not an address of Node 'n1' (it has 10.200.0.11, fd00::11)"),
    (csr(ips=("10.200.0.12",)), KNOWN_NODES,
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


# --- the approver acting on the rule -------------------------------------------------------

NODE_USER = UserInfo(f"system:node:{NODE}", ("system:nodes", "system:authenticated"))


@pytest.fixture
async def approver(api: ApiService) -> AsyncIterator[CsrApprovingController]:
    informers = InformerFactory(api)
    controller = CsrApprovingController(ControllerContext(api, informers))
    task = asyncio.create_task(informers.run())
    try:
        await controller.ctx.informers.wait_synced()
        yield controller
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_approver_says_once_why_and_approves_when_the_address_appears(
        api: ApiService, approver: CsrApprovingController,
        caplog: pytest.LogCaptureFixture) -> None:
    await api.create(NODES_API, node(NODE, "10.200.0.12"))
    created = await api.as_user(NODE_USER).create(CERTIFICATESIGNINGREQUESTS, {
        "apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
        **csr(ips=("10.200.0.11",))} | {"metadata": {"name": "serving-1"}})
    assert created["spec"]["username"] == NODE_USER.name

    async def cached() -> bool:
        return approver.csrs.get("serving-1") is not None

    await eventually(cached, what="the request in the approver's cache")
    caplog.set_level(logging.INFO, logger="minikube_py.controllers.csrapproving")
    await approver.sync("serving-1")
    await approver.sync("serving-1")
    assert [r.getMessage() for r in caplog.records] == [
        "certificatesigningrequest serving-1: " + REFUSED +
        f"10.200.0.11 is not an address of Node '{NODE}' (it has 10.200.0.12)"]
    # Running, the approver takes the queued request again and says nothing new; a new
    # address on the Node puts the request back on the queue, and this time it passes.
    loop = asyncio.create_task(approver.run())

    async def drained() -> bool:
        return len(approver.loop.queue) == 0

    try:
        await eventually(drained, what="the approver to take the queued request")
        await api.patch(NODES_API, NODE, {"status": {"addresses": [
            {"type": "InternalIP", "address": "10.200.0.11"}]}}, subresource="status")

        async def approved() -> list[tuple[str, str]]:
            found = await api.get(CERTIFICATESIGNINGREQUESTS, "serving-1")
            return [(c["type"], c["reason"]) for c in
                    (found.get("status") or {}).get("conditions") or []]

        assert await eventually(approved, what="the approval") == [
            ("Approved", "AutoApproved")]
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    assert len([r for r in caplog.records if "not auto-approving" in r.getMessage()]) == 1
