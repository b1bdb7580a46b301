"""The root CA publisher (kube's rootcacertpublisher): a ConfigMap `kube-root-ca.crt` with
the cluster CA as `ca.crt` in every namespace, made again when deleted and put back when
edited, so pods can verify the API server (the ServiceAccount volume projects it)."""

from __future__ import annotations

import copy
from typing import Final

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS, NAMESPACES
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop

CONFIGMAP_NAME: Final = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION: Final = "kubernetes.io/description"
DESCRIPTION: Final = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters.")


def root_ca_configmap(namespace: str, root_ca: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CONFIGMAP_NAME, "namespace": namespace,
                         "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
            "data": {"ca.crt": root_ca}}


def repaired_configmap(current: Obj, root_ca: str) -> Obj | None:
    """The stored ConfigMap with exactly the CA as its data and the description annotation
    kept (any non-empty one) or added; None when it is right as it is (kube's)."""
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    if current.get("data") == {"ca.crt": root_ca} and annotations.get(DESCRIPTION_ANNOTATION):
        return None
    fixed = copy.deepcopy(current)
    fixed["data"] = {"ca.crt": root_ca}
    if not annotations.get(DESCRIPTION_ANNOTATION):
        fixed["metadata"]["annotations"] = {**annotations, DESCRIPTION_ANNOTATION: DESCRIPTION}
    return fixed


class RootCaCertPublisher:
    name = "root-ca-cert-publisher"

    def __init__(self, ctx: ControllerContext, *, root_ca: str, workers: int = 1) -> None:
        self.ctx = ctx
        self.root_ca = root_ca
        self.namespaces = ctx.informers.informer(NAMESPACES)
        self.configmaps = ctx.informers.informer(
            CONFIGMAPS, field_selector=f"metadata.name={CONFIGMAP_NAME}")
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.namespaces.add_handlers(self.loop.watch_own, lambda _o, n: self.loop.enqueue(n))
        self.configmaps.add_handlers(on_update=lambda _o, n: self._configmap_changed(n),
                                     on_delete=self._configmap_changed)

    def _configmap_changed(self, configmap: Obj) -> None:
        self.loop.enqueue_key(configmap["metadata"]["namespace"])

    async def run(self) -> None:
        await self.loop.run()

    async def sync(self, key: str) -> None:
        if self.namespaces.get(key) is None:
            return
        current = self.configmaps.get(f"{key}/{CONFIGMAP_NAME}")
        try:
            if current is None:
                await self.ctx.client.create(CONFIGMAPS, root_ca_configmap(key, self.root_ca),
                                             namespace=key)
                return
            fixed = repaired_configmap(current, self.root_ca)
            if fixed is not None:
                await self.ctx.client.update(CONFIGMAPS, fixed, namespace=key)
        except ApiError as e:
            # The namespace is gone or terminating: nothing to publish (kube gives up too).
            # Anything else (a conflict with a cache behind) is retried by the loop.
            if not (e.code == 404 or namespace_terminating(e)):
                raise


def namespace_terminating(e: ApiError) -> bool:
    return any(c.reason == "NamespaceTerminating" for c in e.causes)
