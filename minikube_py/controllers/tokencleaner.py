"""The token cleaner (kube's bootstrap tokencleaner): a bootstrap-token Secret whose
`expiration` has passed is deleted, so `token list` does not fill up with tokens that
authenticate nobody. One whose expiration cannot be read is left alone (kube logs it and
keeps it; the authenticator refuses it anyway)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import SECRETS
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.pki.jointoken import BOOTSTRAP_TOKEN_TYPE, SECRET_NAMESPACE, parse_rfc3339


def expiration(secret: Obj) -> float | None:
    """When a bootstrap-token Secret expires (epoch seconds); None: never, or unreadable."""
    raw: Any = (secret.get("data") or {}).get("expiration")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return parse_rfc3339(base64.b64decode(raw, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


class TokenCleaner:
    name = "token-cleaner"

    def __init__(self, ctx: ControllerContext, *, workers: int = 1) -> None:
        self.ctx = ctx
        self.secrets = ctx.informers.informer(
            SECRETS, namespace=SECRET_NAMESPACE, field_selector=f"type={BOOTSTRAP_TOKEN_TYPE}")
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.secrets.add_handlers(self.loop.watch_own, self.loop.watch_own)

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        secret = self.secrets.get(key)
        if secret is None:
            return
        expires = expiration(secret)
        if expires is None:
            return
        now = self.ctx.clock()
        if expires > now:
            self.loop.enqueue_after(key, expires - now)
            return
        meta = secret["metadata"]
        try:
            await self.ctx.client.delete(SECRETS, meta["name"], namespace=meta["namespace"],
                                         preconditions={"uid": meta["uid"]})
        except ApiError as e:
            # Gone already, or replaced by a Secret of the same name (another uid): not ours.
            if e.code not in (404, 409):
                raise
