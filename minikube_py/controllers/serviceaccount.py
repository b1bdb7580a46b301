"""The service account controller: a `default` ServiceAccount in every active namespace,
recreated if deleted."""

from __future__ import annotations

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NAMESPACES, SERVICEACCOUNTS
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop

DEFAULT_SERVICE_ACCOUNTS = ("default",)


def is_active(namespace: Obj) -> bool:
    return not (namespace.get("metadata") or {}).get("deletionTimestamp") and \
        (namespace.get("status") or {}).get("phase", "Active") == "Active"


def missing_service_accounts(namespace: Obj, existing: set[str]) -> list[str]:
    """The default accounts an active namespace lacks."""
    if not is_active(namespace):
        return []
    return [name for name in DEFAULT_SERVICE_ACCOUNTS if name not in existing]


class ServiceAccountController:
    name = "serviceaccount-controller"

    def __init__(self, ctx: ControllerContext, *, workers: int = 1) -> None:
        self.ctx = ctx
        self.namespaces = ctx.informers.informer(NAMESPACES)
        self.accounts = ctx.informers.informer(SERVICEACCOUNTS)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.namespaces.add_handlers(self.loop.watch_own, lambda _o, n: self.loop.enqueue(n))
        self.accounts.add_handlers(on_delete=self._account_deleted)

    def _account_deleted(self, account: Obj) -> None:
        if account["metadata"]["name"] in DEFAULT_SERVICE_ACCOUNTS:
            self.loop.enqueue_key(account["metadata"]["namespace"])

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        namespace = self.namespaces.get(key)
        if namespace is None:
            return
        existing = {name for name in DEFAULT_SERVICE_ACCOUNTS
                    if self.accounts.get(f"{key}/{name}") is not None}
        for name in missing_service_accounts(namespace, existing):
            try:
                await self.ctx.client.create(SERVICEACCOUNTS, {
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": key}}, namespace=key)
            except ApiError as e:
                # 409: it exists (cache behind); 403/404: the namespace is going away.
                if e.code not in (403, 404, 409):
                    raise
