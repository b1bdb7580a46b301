"""The CSR approver (kube's csrapproving controller, sarapprove.go): a kubelet's client CSR
(`kubernetes.io/kube-apiserver-client-kubelet`, O=system:nodes, CN=system:node:NAME, the
client usages) is approved when a SubjectAccessReview says its requester may create
`certificatesigningrequests/nodeclient` (a bootstrap token's user) or, when it names the
requester itself, `certificatesigningrequests/selfnodeclient` (a node renewing). Everything
else is left for someone to approve or deny by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minikube_py.api.resources import CERTIFICATESIGNINGREQUESTS, SUBJECTACCESSREVIEWS
from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.pki.csr import (
    KUBE_APISERVER_CLIENT_KUBELET,
    common_name,
    decode_bytes,
    kubelet_client_error,
    parse_request,
)

CERTIFICATES_GROUP = CERTIFICATESIGNINGREQUESTS.group
APPROVED_REASON = "AutoApproved"


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


def approved(csr: Obj, permission: Permission, now: str) -> Obj:
    """The request with kube's Approved condition appended (as PUT to /approval)."""
    out = {**csr, "status": dict(csr.get("status") or {})}
    out["status"]["conditions"] = [*((csr.get("status") or {}).get("conditions") or []), {
        "type": "Approved", "status": "True", "reason": APPROVED_REASON,
        "message": permission.message, "lastUpdateTime": now, "lastTransitionTime": now}]
    return out


class CsrApprovingController:
    name = "csrapproving"

    def __init__(self, ctx: ControllerContext, *, workers: int = 1) -> None:
        self.ctx = ctx
        self.csrs = ctx.informers.informer(CERTIFICATESIGNINGREQUESTS)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.csrs.add_handlers(self.loop.watch_own, self.loop.watch_own)

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        csr = self.csrs.get(key)
        if csr is None or decided(csr):
            return
        for permission in permissions_to_check(csr):
            review = await self.ctx.client.create(SUBJECTACCESSREVIEWS,
                                                  access_review(csr, permission))
            if (review.get("status") or {}).get("allowed"):
                now = rfc3339(self.ctx.clock())
                await self.ctx.client.update(CERTIFICATESIGNINGREQUESTS,
                                             approved(csr, permission, now),
                                             subresource="approval")
                return
