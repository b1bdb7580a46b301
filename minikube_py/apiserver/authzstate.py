"""What the authorizers read, kept current from the store: the RBAC policy (every Role,
ClusterRole and binding) and the Node authorizer's graph (pods and what they refer to,
claims and the volumes they are bound to, volume attachments and their nodes).

It is loaded once at the revision the watch fan-out starts from, then fed every change by
the fan-out itself, synchronously and before any watcher sees the change: when a kubelet
hears of a pod bound to it, the graph already lets it read that pod's Secrets. Writes of
RBAC objects through this API server are applied as soon as they are stored too, so a
client that has just made a binding may use it at once; each object's revision is
remembered, so an older event arriving later never undoes a newer write.
"""

from __future__ import annotations

import json
from typing import Any

from minikube_py.api.resources import (
    CLUSTERROLEBINDINGS,
    CLUSTERROLES,
    PERSISTENTVOLUMECLAIMS,
    PODS,
    ROLEBINDINGS,
    ROLES,
    VOLUMEATTACHMENTS,
    Resource,
)
from minikube_py.apiserver.nodegraph import NodeGraph
from minikube_py.apiserver.rbac.policy import RbacPolicy
from minikube_py.apiserver.storage import list_prefix, object_key
from minikube_py.apiserver.watchcache import CachedEvent
from minikube_py.store.types import KV, prefix_end

RBAC_KINDS: tuple[Resource, ...] = (CLUSTERROLES, CLUSTERROLEBINDINGS, ROLES, ROLEBINDINGS)
_PREFIXES: tuple[tuple[bytes, Resource], ...] = tuple(
    (list_prefix(r, None), r)
    for r in (*RBAC_KINDS, PODS, PERSISTENTVOLUMECLAIMS, VOLUMEATTACHMENTS))
_POD_PREFIX = list_prefix(PODS, None)
_CLAIM_PREFIX = list_prefix(PERSISTENTVOLUMECLAIMS, None)
_ATTACHMENT_PREFIX = list_prefix(VOLUMEATTACHMENTS, None)
# A pod's value without this names no node: no node may read anything for it.
_BOUND = b'"nodeName":'


class AuthorizationState:
    def __init__(self) -> None:
        self.policy = RbacPolicy()
        self.graph = NodeGraph()
        self._revisions: dict[bytes, int] = {}  # key -> revision last applied

    @staticmethod
    def prefixes() -> tuple[bytes, ...]:
        return tuple(p for p, _ in _PREFIXES)

    async def load(self, kv: KV, revision: int) -> None:
        """Everything as of `revision` (the fan-out then feeds what comes after)."""
        for prefix, resource in _PREFIXES:
            found = await kv.range(prefix, prefix_end(prefix), revision=revision)
            for item in found.kvs:
                self._put(resource, item.key, item.value, item.mod_revision)

    def on_event(self, ev: CachedEvent) -> None:
        """A change from the fan-out (its prefix is one of `prefixes()`)."""
        resource = next((r for p, r in _PREFIXES if ev.key.startswith(p)), None)
        if resource is None:
            return
        if ev.deleted:
            self._remove(resource, ev.key, ev.revision)
        elif ev.value is not None:
            self._put(resource, ev.key, ev.value, ev.revision)

    def written(self, resource: Resource, obj: dict[str, Any]) -> None:
        """An RBAC object this server has just stored (read-your-writes for its policy)."""
        if resource not in RBAC_KINDS:
            return
        meta = obj.get("metadata") or {}
        key = object_key(resource, meta.get("namespace"), str(meta.get("name") or ""))
        revision = int(meta.get("resourceVersion") or 0)
        if self._newer(key, revision):
            self.policy.put(resource.plural, obj)

    def _newer(self, key: bytes, revision: int) -> bool:
        if revision <= self._revisions.get(key, 0):
            return False
        self._revisions[key] = revision
        return True

    def _put(self, resource: Resource, key: bytes, value: bytes, revision: int) -> None:
        if resource is PODS:
            if _BOUND in value:
                self.graph.put_pod(json.loads(value))
            else:
                self.graph.remove_pod(*_namespace_name(key, _POD_PREFIX))
            return
        if resource is PERSISTENTVOLUMECLAIMS:
            self.graph.put_claim(json.loads(value))
            return
        if resource is VOLUMEATTACHMENTS:
            self.graph.put_attachment(json.loads(value))
            return
        if self._newer(key, revision):
            self.policy.put(resource.plural, json.loads(value))

    def _remove(self, resource: Resource, key: bytes, revision: int) -> None:
        if resource is PODS:
            self.graph.remove_pod(*_namespace_name(key, _POD_PREFIX))
            return
        if resource is PERSISTENTVOLUMECLAIMS:
            self.graph.remove_claim(*_namespace_name(key, _CLAIM_PREFIX))
            return
        if resource is VOLUMEATTACHMENTS:
            self.graph.remove_attachment(key[len(_ATTACHMENT_PREFIX):].decode())
            return
        if self._newer(key, revision):
            prefix = list_prefix(resource, None)
            if resource.namespaced:
                namespace, name = _namespace_name(key, prefix)
            else:
                namespace, name = "", key[len(prefix):].decode()
            self.policy.remove(resource.plural, namespace, name)


def _namespace_name(key: bytes, prefix: bytes) -> tuple[str, str]:
    namespace, _, name = key[len(prefix):].decode().partition("/")
    return namespace, name
