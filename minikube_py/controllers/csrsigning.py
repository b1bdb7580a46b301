"""The CSR signer (kube's csrsigning controller): an approved, not yet issued or failed
request to one of the signers this cluster runs (kube-apiserver-client,
kube-apiserver-client-kubelet, kubelet-serving) gets a certificate from the cluster CA in
status.certificate, valid for the requested duration capped by the signing duration; one
its signer refuses gets a Failed condition saying why. Requests to other signers are left to
their own signers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from minikube_py.api.resources import CERTIFICATESIGNINGREQUESTS
from minikube_py.api.timefmt import rfc3339
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.pki.certs import LEAF_VALIDITY, SerialNumbers
from minikube_py.pki.csr import (
    SIGNED_HERE,
    SigningCa,
    certificate_pem,
    decode_bytes,
    parse_request,
    sign,
    signer_refusal,
)

FAILED_REASON = "SignerValidationFailure"


def to_sign(csr: Obj) -> bool:
    """Approved, not denied or failed, not issued, and for a signer of this cluster."""
    spec, status = csr.get("spec") or {}, csr.get("status") or {}
    types = {c.get("type") for c in status.get("conditions") or []}
    return spec.get("signerName") in SIGNED_HERE and "Approved" in types and \
        not types & {"Denied", "Failed"} and not status.get("certificate")


def signed_status(csr: Obj, ca: SigningCa, now: datetime, serial: SerialNumbers,
                  max_duration: timedelta = LEAF_VALIDITY) -> Obj:
    """The status the signer writes: the certificate, or a Failed condition saying why
    its signer will not sign this request."""
    spec = csr.get("spec") or {}
    status = dict(csr.get("status") or {})
    usages = list(spec.get("usages") or [])
    try:
        request = parse_request(decode_bytes(spec.get("request")))
        why = signer_refusal(spec["signerName"], request, usages)
    except ValueError as e:
        why = str(e)
    if why is not None:
        stamp = rfc3339(now.timestamp())
        status["conditions"] = [*(status.get("conditions") or []), {
            "type": "Failed", "status": "True", "reason": FAILED_REASON, "message": why,
            "lastUpdateTime": stamp, "lastTransitionTime": stamp}]
        return status
    cert = sign(request, usages, ca, now, spec.get("expirationSeconds"), serial,
                max_duration)
    status["certificate"] = base64.b64encode(certificate_pem(cert)).decode()
    return status


class CsrSigningController:
    name = "csrsigning"

    def __init__(self, ctx: ControllerContext, *, ca: SigningCa,
                 serial: SerialNumbers, max_duration: timedelta = LEAF_VALIDITY,
                 workers: int = 1) -> None:
        self.ctx = ctx
        self.ca = ca
        self.serial = serial
        self.max_duration = max_duration
        self.csrs = ctx.informers.informer(CERTIFICATESIGNINGREQUESTS)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.csrs.add_handlers(self.loop.watch_own, self.loop.watch_own)

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        csr = self.csrs.get(key)
        if csr is None or not to_sign(csr):
            return
        now = datetime.fromtimestamp(self.ctx.clock(), UTC)
        status = signed_status(csr, self.ca, now, self.serial, self.max_duration)
        await self.ctx.client.update(CERTIFICATESIGNINGREQUESTS, {**csr, "status": status},
                                     subresource="status")
