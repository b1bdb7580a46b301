"""The CSR approver (kube's csrapproving controller, sarapprove.go): a kubelet's client CSR
(`kubernetes.io/kube-apiserver-client-kubelet`, O=system:nodes, CN=system:node:NAME, the
client usages) is approved when a SubjectAccessReview says its requester may create
`certificatesigningrequests/nodeclient` (a bootstrap token's user) or, when it names the
requester itself, `certificatesigningrequests/selfnodeclient` (a node renewing). A kubelet's
serving CSR is approved when it asks for the node's own name and addresses (csrserving.py);
one that does not is left alone, and why is said once (a log line and an Event). Everything
else is left for someone to approve or deny by hand."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from minikube_py.api.resources import CERTIFICATESIGNINGREQUESTS, NODES, SUBJECTACCESSREVIEWS
from minikube_py.api.timefmt import rfc3339
from minikube_py.client.events import WARNING
from minikube_py.client.informer import object_key
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.controllers.csrserving import node_ips, serving_verdict
from minikube_py.pki.csr import (
    KUBE_APISERVER_CLIENT_KUBELET,
    KUBELET_SERVING,
    NODE_PREFIX,
    common_name,
    decode_bytes,
    kubelet_client_error,
    parse_request,
)

log = logging.getLogger(__name__)

CERTIFICATES_GROUP = CERTIFICATESIGNINGREQUESTS.group
APPROVED_REASON = "AutoApproved"
NOT_APPROVED_REASON = "NotAutoApproved"


@dataclass(frozen=True, slots=True)
class Permission:
    """A permission that, held by the requester, approves the request."""

    subresource: str
    message: str


SELF_NODE_CLIENT = Permission(
    "selfnodeclient", "Auto approving self kubelet client certificate after "
                      "SubjectAccessReview.")
NODE_CLIENT = Permission(
    "nodeclient", "Auto approving kubelet client certificate after SubjectAccessReview.")


def decided(csr: Obj) -> bool:
    """Approved, denied, or already issued: nothing for the approver to do."""
    status = csr.get("status") or {}
    types = {c.get("type") for c in status.get("conditions") or []}
    return bool(types & {"Approved", "Denied"}) or bool(status.get("certificate"))


def permissions_to_check(csr: Obj) -> list[Permission]:
    """Which permissions would approve this request, in kube's order (none: not a kubelet
    client request, so not the approver's to decide)."""
    spec = csr.get("spec") or {}
    if spec.get("signerName") != KUBE_APISERVER_CLIENT_KUBELET:
        return []
    try:
        request = parse_request(decode_bytes(spec.get("request")))
    except ValueError:
        return []
    if kubelet_client_error(request, spec.get("usages") or []) is not None:
        return []
    found = [NODE_CLIENT]
    if common_name(request) == spec.get("username"):
        found.insert(0, SELF_NODE_CLIENT)
    return found


def access_review(csr: Obj, permission: Permission) -> Obj:
    """The SubjectAccessReview asking whether the requester holds `permission`."""
    spec = csr.get("spec") or {}
    review: dict[str, Any] = {
        "user": spec.get("username", ""), "groups": list(spec.get("groups") or []),
        "resourceAttributes": {"group": CERTIFICATES_GROUP, "resource":
                               CERTIFICATESIGNINGREQUESTS.plural, "verb": "create",
                               "subresource": permission.subresource}}
    if spec.get("uid"):
        review["uid"] = spec["uid"]
    if spec.get("extra"):
        review["extra"] = spec["extra"]
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": review}


def approved(csr: Obj, message: str, now: str) -> Obj:
    """The request with kube's Approved condition appended (as PUT to /approval)."""
    out = {**csr, "status": dict(csr.get("status") or {})}
    out["status"]["conditions"] = [*((csr.get("status") or {}).get("conditions") or []), {
        "type": "Approved", "status": "True", "reason": APPROVED_REASON,
        "message": message, "lastUpdateTime": now, "lastTransitionTime": now}]
    return out


NODE_NAME_TAKEN = "NodeNameTaken"


def node_name_taken(csr: Obj, permission: Permission, nodes: list[Obj]) -> str | None:
    """Why a kubelet client request made with a bootstrap token (`nodeclient`: not a node
    renewing its own) must not be approved: a Node of that name is in the cluster, so the
    token holder would become that node (k3s refuses it too, with its node passwords). The
    machine that owns the name renews with its own certificate instead; a machine joining
    again after losing its data dir asks after `kubectl delete node NAME`."""
    if permission is not NODE_CLIENT:
        return None
    try:
        name = common_name(parse_request(decode_bytes((csr.get("spec") or {}).get("request"))))
    except ValueError:
        return None
    node = name.removeprefix(NODE_PREFIX)
    if not any(n["metadata"]["name"] == node for n in nodes):
        return None
    return (f"a Node named {node} is already in the cluster: join with another --node-name, "
            f"or delete the node first (kubectl delete node {node})")


def denied(csr: Obj, reason: str, message: str, now: str) -> Obj:
    out = {**csr, "status": dict(csr.get("status") or {})}
    out["status"]["conditions"] = [*((csr.get("status") or {}).get("conditions") or []), {
        "type": "Denied", "status": "True", "reason": reason, "message": message,
        "lastUpdateTime": now, "lastTransitionTime": now}]
    return out


class CsrApprovingController:
    name = "csrapproving"

    def __init__(self, ctx: ControllerContext, *, workers: int = 1) -> None:
        self.ctx = ctx
        self.csrs = ctx.informers.informer(CERTIFICATESIGNINGREQUESTS)
        self.nodes = ctx.informers.informer(NODES)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.events = ctx.recorder(self.name)
        # What was last said about each waiting request (by uid), so it is said once.
        self._said: dict[str, str] = {}
        self.csrs.add_handlers(self.loop.watch_own, self.loop.watch_own, self._forget)
        self.nodes.add_handlers(self._node_changed, self._node_moved, self._node_changed)

    async def run(self) -> None:
        await self.loop.run()

    def _node_moved(self, old: Obj, new: Obj) -> None:
        if node_ips(old) != node_ips(new):
            self._node_changed(new)

    def _node_changed(self, node: Obj) -> None:
        """A serving request refused for a Node's addresses may pass once they change."""
        for csr in self.csrs.list():
            if (csr.get("spec") or {}).get("signerName") == KUBELET_SERVING and \
                    not decided(csr):
                self.loop.enqueue_key(object_key(csr))

    def _forget(self, obj: Obj) -> None:
        self._said.pop((obj.get("metadata") or {}).get("uid", ""), None)
        self.loop.watch_own(obj)

    async def sync(self, key: str) -> None:
        csr = self.csrs.get(key)
        if csr is None or decided(csr):
            if csr is not None:
                self._said.pop(csr["metadata"].get("uid", ""), None)
            return
        verdict = serving_verdict(csr, self.nodes.list())
        if verdict is not None:
            if verdict.approve:
                await self._approve(csr, verdict.message)
            else:
                self._say_once(csr, verdict.message)
            return
        for permission in permissions_to_check(csr):
            review = await self.ctx.client.create(SUBJECTACCESSREVIEWS,
                                                  access_review(csr, permission))
            if (review.get("status") or {}).get("allowed"):
                taken = node_name_taken(csr, permission, self.nodes.list())
                if taken is not None:
                    await self.ctx.client.update(
                        CERTIFICATESIGNINGREQUESTS,
                        denied(csr, NODE_NAME_TAKEN, taken, rfc3339(self.ctx.clock())),
                        subresource="approval")
                    return
                await self._approve(csr, permission.message)
                return

    async def _approve(self, csr: Obj, message: str) -> None:
        await self.ctx.client.update(CERTIFICATESIGNINGREQUESTS,
                                     approved(csr, message, rfc3339(self.ctx.clock())),
                                     subresource="approval")

    def _say_once(self, csr: Obj, why: str) -> None:
        uid = csr["metadata"].get("uid", "")
        if self._said.get(uid) == why:
            return
        self._said[uid] = why
        log.info("certificatesigningrequest %s: %s", csr["metadata"].get("name"), why)
        self.events.record(csr, WARNING, NOT_APPROVED_REASON, why)
