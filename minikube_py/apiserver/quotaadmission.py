"""kube's ResourceQuota admission: a write that uses more of what a namespace's quotas limit
is refused once it would go over, and otherwise charged to each quota's status.used by a
compare-and-swap on the quota, so two writes racing for the last unit cannot both have it
(the one that loses the swap reads the quota again and is checked again). The resource
quota controller recounts status.used from the objects, which gives deletions back."""

from __future__ import annotations

import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from minikube_py.api import quota as q
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PERSISTENTVOLUMECLAIMS, PODS, RESOURCEQUOTAS, SERVICES
from minikube_py.apiserver.admissionapi import Attributes, Operation, refused
from minikube_py.apiserver.objectstore import ObjectStore, Stored
from minikube_py.apiserver.storage import decode_kv, list_prefix
from minikube_py.store.types import prefix_end

Obj = dict[str, Any]
# The kinds whose updates can use more (a claim grows, a Service turns NodePort); a pod's
# resources are immutable, and other kinds count only objects.
_UPDATES_CHARGED = (SERVICES, PERSISTENTVOLUMECLAIMS)


def hard_limits(quota: Obj) -> q.Usage:
    """What the quota enforces: status.hard, the controller's copy of spec.hard. A quota
    the controller has not counted yet limits nothing, as in kube (it counts a new quota
    within a second)."""
    return q.parse_list((quota.get("status") or {}).get("hard"))


def check_charge(quota: Obj, resource_obj: Obj, is_pod: bool, delta: q.Usage,
                 limited: list[str]) -> tuple[q.Usage, str | None]:
    """(the quota's used after the charge, or why it is refused) for `delta` against
    `quota`, whose names `limited` count the object's kind."""
    name = (quota.get("metadata") or {}).get("name", "")
    if is_pod:
        missing = q.missing_requests(resource_obj, limited)
        if missing:
            return {}, f"failed quota: {name}: {missing}"
    hard = hard_limits(quota)
    requested = q.mask(delta, limited)
    used = q.parse_list((quota.get("status") or {}).get("used"))
    if not requested:
        return used, None
    unknown = sorted(k for k in limited if k not in used)
    if unknown:
        return {}, f"status unknown for quota: {name}, resources: {','.join(unknown)}"
    over = q.exceeded(used, hard, requested)
    if over:
        return {}, (f"exceeded quota: {name}, requested: {q.pretty(q.mask(requested, over))}, "
                    f"used: {q.pretty(q.mask(used, over))}, "
                    f"limited: {q.pretty(q.mask(hard, over))}")
    return q.add(used, requested), None


def with_used(quota: Obj, used: q.Usage) -> Obj:
    status = dict(quota.get("status") or {})
    status["used"] = {**(status.get("used") or {}), **q.format_list(used)}
    return {**quota, "status": status}


class ResourceQuotaAdmission:
    """The validating plugin: runs last, on the object as it will be stored."""

    def __init__(self, objects: ObjectStore, clock: Callable[[], float] = time.time) -> None:
        self._objects = objects
        self._clock = clock

    def _delta(self, attrs: Attributes) -> q.Usage:
        resource, now = attrs.strategy.resource, self._clock()
        assert attrs.obj is not None
        new = q.usage(resource, attrs.obj, now)
        if attrs.operation is Operation.UPDATE:
            if resource not in _UPDATES_CHARGED or attrs.old is None:
                return {}
            new = q.subtract_non_negative(new, q.usage(resource, attrs.old, now))
        return {k: v for k, v in new.items() if v != 0}

    async def validate(self, attrs: Attributes) -> None:
        resource = attrs.strategy.resource
        # Subresource writes (status, scale, binding) are never charged, as in kube.
        if not attrs.namespace or not resource.namespaced or attrs.obj is None or \
                attrs.operation is Operation.DELETE or attrs.subresource is not None:
            return
        delta = self._delta(attrs)
        if not delta:  # before any read: most updates use nothing more
            return
        prefix = list_prefix(RESOURCEQUOTAS, attrs.namespace)
        found = await self._objects.kv.range(prefix, prefix_end(prefix))
        if not found.kvs:
            return
        charged: list[str] = []
        try:
            for quota in sorted((decode_kv(kv) for kv in found.kvs),
                                key=lambda o: o["metadata"]["name"]):
                name = quota["metadata"]["name"]
                if await self._charge(attrs, name, delta):
                    charged.append(name)
        except ApiError:
            for name in charged:  # best effort; the controller recounts either way
                await self._charge(attrs, name, {k: -v for k, v in delta.items()},
                                   check=False)
            raise

    async def _charge(self, attrs: Attributes, name: str, delta: q.Usage, *,
                      check: bool = True) -> bool:
        """Charge one quota (compare-and-swap, again on conflict); whether it counted."""
        resource, obj = attrs.strategy.resource, attrs.obj or {}
        counted = False

        async def try_update(stored: Stored | None) -> Obj | None:
            nonlocal counted
            assert stored is not None
            quota = stored.copy()
            limited = sorted(k for k in hard_limits(quota) if q.matches(resource, k))
            if not limited or not q.in_scope(resource, obj, q.scope_selectors(quota)):
                return None
            if not check:
                used = q.parse_list((quota.get("status") or {}).get("used"))
                undone = q.add(used, q.mask(delta, limited))
                return with_used(quota, {k: max(v, Fraction(0)) for k, v in undone.items()})
            used, why = check_charge(quota, obj, resource is PODS, delta, limited)
            if why is not None:
                raise refused(attrs, why)
            if not q.mask(delta, limited):
                return None
            counted = True
            return None if attrs.opts.dry_run else with_used(quota, used)

        try:
            await self._objects.guaranteed_update(RESOURCEQUOTAS, attrs.namespace, name,
                                                  try_update)
        except ApiError as e:
            if e.code != 404:  # a quota deleted meanwhile limits nothing
                raise
        return counted and not attrs.opts.dry_run
