"""Admission: the plugins every write passes after decoding and before the kind's strategy
(kube-apiserver's admission chain). Each plugin names what it looks at and refuses with a
Status; mutating plugins change the object in place, validating ones (after the kind's
validation) only look. What plugins see is in admissionapi.py."""

from __future__ import annotations

import json
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NAMESPACES, PODS
from minikube_py.apiserver.admissionapi import AdmissionPlugin, ValidatingPlugin
from minikube_py.apiserver.admissionapi import Attributes as Attributes  # re-exported
from minikube_py.apiserver.admissionapi import Operation as Operation  # re-exported
from minikube_py.apiserver.objectstore import ObjectStore
from minikube_py.apiserver.podsecurity.plugin import PodSecurity
from minikube_py.apiserver.podsecurity.policy import PodSecurityConfig

Obj = dict[str, Any]
# The namespaces NamespaceLifecycle never lets go ("immortal" in kube).
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_IMMORTAL = frozenset(SYSTEM_NAMESPACES[:3])
_DEFAULT_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", 300),
    ("node.kubernetes.io/unreachable", 300),
)


class Admission:
    """The chain: every mutating plugin in order (`admit`), later every validating one
    (`validate`); the first refusal ends the write."""

    def __init__(self, plugins: list[AdmissionPlugin],
                 validating: list[ValidatingPlugin] | None = None) -> None:
        self.plugins = plugins
        self.validating = validating or []

    async def admit(self, attrs: Attributes) -> None:
        for plugin in self.plugins:
            await plugin.admit(attrs)

    async def validate(self, attrs: Attributes) -> None:
        for plugin in self.validating:
            await plugin.validate(attrs)


class NamespaceLifecycle:
    """Content only in namespaces that exist and are not terminating; the system
    namespaces may not be deleted."""

    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects
        # namespace -> (revision read, terminating): every create reads the namespace, and
        # it changes rarely, so decode it only when its revision moved.
        self._seen: dict[str, tuple[int, bool]] = {}

    async def admit(self, attrs: Attributes) -> None:
        resource = attrs.strategy.resource
        if attrs.operation is Operation.DELETE and resource is NAMESPACES and \
                attrs.name in _IMMORTAL:
            raise ApiError(403, "Forbidden", f'namespaces "{attrs.name}" is forbidden: this '
                           "namespace may not be deleted",
                           {"name": attrs.name, "kind": "namespaces"})
        if attrs.operation is Operation.CREATE and resource.namespaced and attrs.namespace:
            await self._check_open(attrs)

    async def _check_open(self, attrs: Attributes) -> None:
        ns = attrs.namespace or ""
        found = await self._objects.read(NAMESPACES, None, ns)
        if found is None:
            self._seen.pop(ns, None)
            raise errors.not_found("namespaces", ns)
        seen = self._seen.get(ns)
        if seen is not None and seen[0] == found.mod_revision:
            terminating = seen[1]
        else:
            nsobj = json.loads(found.value)
            terminating = bool((nsobj.get("metadata") or {}).get("deletionTimestamp") or
                               (nsobj.get("status") or {}).get("phase") == "Terminating")
            self._seen[ns] = (found.mod_revision, terminating)
        if not terminating:
            return
        resource = attrs.strategy.resource
        msg = (f"unable to create new content in namespace {ns} because it is being "
               "terminated")
        raise ApiError(403, "Forbidden",
                       f'{errors.qualified(resource.plural, resource.group)} "{attrs.name}" '
                       f"is forbidden: {msg}", {"name": attrs.name, "kind": resource.plural},
                       [errors.Cause("NamespaceTerminating", msg, "metadata.namespace")])


class DefaultTolerationSeconds:
    """New pods tolerate not-ready and unreachable nodes for 300 s unless they say
    otherwise (so the node controller evicts them after five minutes, not at once)."""

    async def admit(self, attrs: Attributes) -> None:
        if attrs.operation is not Operation.CREATE or attrs.strategy.resource is not PODS:
            return
        assert attrs.obj is not None
        spec = attrs.obj.setdefault("spec", {})
        tolerations = spec.get("tolerations") or []
        for key, seconds in _DEFAULT_TOLERATIONS:
            if any(_tolerates(t, key) for t in tolerations):
                continue
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": seconds})
        spec["tolerations"] = tolerations


def _tolerates(t: Any, key: str) -> bool:
    if not isinstance(t, dict):
        return False
    if t.get("effect") not in (None, "", "NoExecute"):
        return False
    if t.get("operator") == "Exists" and not t.get("key"):
        return True
    return bool(t.get("key") == key)


def default_admission(objects: ObjectStore,
                      pod_security: PodSecurityConfig | None = None) -> Admission:
    return Admission([NamespaceLifecycle(objects), DefaultTolerationSeconds()],
                     [PodSecurity(objects, pod_security or PodSecurityConfig())])
