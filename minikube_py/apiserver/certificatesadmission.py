"""kube's CertificateApproval and CertificateSigning admission plugins (on by default): who
approves or denies a CSR through `approval` must hold `approve` on `signers` named for the
request's signer (or its `DOMAIN/*`); who writes a certificate through `status` must hold
`sign` there, as RBAC grants `certificates.k8s.io` `signers` by name."""

from __future__ import annotations

from collections.abc import Callable

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CERTIFICATESIGNINGREQUESTS
from minikube_py.apiserver.admissionapi import Attributes, Operation
from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.authz import Decision, Verdict
from minikube_py.apiserver.requestinfo import RequestInfo

Decide = Callable[[UserInfo, RequestInfo], Verdict]
GROUP = CERTIFICATESIGNINGREQUESTS.group


def _refused(name: str, why: str) -> ApiError:
    return ApiError(403, "Forbidden",
                    f'certificatesigningrequests.{GROUP} "{name}" is forbidden: {why}',
                    {"name": name, "group": GROUP, "kind": "certificatesigningrequests"})


class CertificateSignerAuthorization:
    """`decide` is the API server's authorizer chain."""

    def __init__(self, decide: Decide) -> None:
        self.decide = decide

    async def admit(self, attrs: Attributes) -> None:
        if attrs.strategy.resource is not CERTIFICATESIGNINGREQUESTS or \
                attrs.operation is not Operation.UPDATE or attrs.opts.user is None:
            return
        signer = str(((attrs.obj or {}).get("spec") or {}).get("signerName") or "")
        if attrs.subresource == "approval":
            if not self._may(attrs.opts.user, "approve", signer):
                raise _refused(attrs.name, "user not permitted to approve requests with "
                                           f"signerName {signer!r}".replace("'", '"'))
        elif attrs.subresource == "status":
            new = ((attrs.obj or {}).get("status") or {}).get("certificate")
            old = ((attrs.old or {}).get("status") or {}).get("certificate")
            if new != old and not self._may(attrs.opts.user, "sign", signer):
                raise _refused(attrs.name, "user not permitted to sign requests with "
                                           f"signerName {signer!r}".replace("'", '"'))

    def _may(self, user: UserInfo, verb: str, signer: str) -> bool:
        """Allowed for the signer by name, or for every signer of its domain."""
        for name in (signer, f"{signer.split('/', 1)[0]}/*"):
            info = RequestInfo("", verb, name=name, about=(GROUP, "signers"))
            if self.decide(user, info).decision is Decision.ALLOW:
                return True
        return False
