"""kube's LimitRanger admission: a new pod's containers get their namespace's LimitRange
defaults (and the annotation saying which), then pods and claims are checked against the
min, max and maxLimitRequestRatio of each LimitRange. The decisions are pure functions of the
pod and the ranges; the plugin only reads the ranges."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from minikube_py.api.quota import parse_list, pod_totals
from minikube_py.api.resources import LIMITRANGES, PERSISTENTVOLUMECLAIMS, PODS
from minikube_py.apiserver.admissionapi import Attributes, Operation, refused
from minikube_py.apiserver.kinds.limitranges import q
from minikube_py.apiserver.objectstore import ObjectStore
from minikube_py.apiserver.storage import decode_kv, list_prefix
from minikube_py.store.types import prefix_end

Obj = dict[str, Any]
Amounts = dict[str, Fraction]
LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger"


def _items(ranges: list[Obj], limit_type: str) -> list[Obj]:
    return [item for lr in ranges for item in (lr.get("spec") or {}).get("limits") or []
            if isinstance(item, dict) and item.get("type") == limit_type]


def _container_defaults(ranges: list[Obj]) -> tuple[dict[str, Any], dict[str, Any]]:
    """defaultContainerResourceRequirements: (requests, limits) from the Container items
    (a later range's value for a name wins, as in kube's loop)."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for item in _items(ranges, "Container"):
        requests.update(item.get("defaultRequest") or {})
        limits.update(item.get("default") or {})
    return requests, limits


def _merge_container(c: Obj, requests: dict[str, Any], limits: dict[str, Any],
                     what: str) -> list[str]:
    """mergeContainerResources: what the container leaves out, filled in; the annotation's
    phrases for it."""
    res = c.setdefault("resources", {})
    if not isinstance(res, dict):
        return []
    notes: list[str] = []
    for section, defaults, word in (("requests", requests, "request"),
                                    ("limits", limits, "limit")):
        if not defaults:
            continue
        have = res.setdefault(section, {})
        if not isinstance(have, dict):
            continue
        added = sorted(k for k in defaults if k not in have)
        for k in added:
            have[k] = defaults[k]
        if not have:
            del res[section]
        if added:
            notes.append(f"{', '.join(added)} {word} for {what} {c.get('name', '')}")
    return notes


def apply_defaults(pod: Obj, ranges: list[Obj]) -> None:
    """mergePodResourceRequirements: fill requests and limits of every container and init
    container from the ranges' defaults, and say so in the kubernetes.io/limit-ranger
    annotation ("LimitRanger plugin set: cpu, memory request for container web; ...")."""
    requests, limits = _container_defaults(ranges)
    if not requests and not limits:
        return
    spec = pod.get("spec") or {}
    notes: list[str] = []
    for key, what in (("containers", "container"), ("initContainers", "init container")):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                notes += _merge_container(c, requests, limits, what)
    if notes:
        annotations = pod.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[LIMIT_RANGER_ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


# --- the checks (limitranger.go's minConstraint, maxConstraint, ...) --------------------


def _past(bound: str, kind: str, res: str, enforced: Fraction, what: str,
          amount: Fraction | None) -> str:
    """"maximum cpu usage per Container is 1, but limit is 2" (or "...  No limit is
    specified" when there is none)."""
    head = f"{bound} {res} usage per {kind} is {q(enforced, res)}"
    if amount is None:
        return f"{head}.  No {what} is specified"
    return f"{head}, but {what} is {q(amount, res)}"


def _min_error(kind: str, res: str, enforced: Fraction, requests: Amounts,
               limits: Amounts) -> str | None:
    req, lim = requests.get(res), limits.get(res)
    if req is None or req < enforced:
        return _past("minimum", kind, res, enforced, "request", req)
    if lim is not None and lim < enforced:
        return _past("minimum", kind, res, enforced, "limit", lim)
    return None


def _max_error(kind: str, res: str, enforced: Fraction, requests: Amounts,
               limits: Amounts | None) -> str | None:
    """maxConstraint; with no `limits` (a claim has none) maxRequestConstraint."""
    req = requests.get(res)
    if limits is not None:
        lim = limits.get(res)
        if lim is None or lim > enforced:
            return _past("maximum", kind, res, enforced, "limit", lim)
    elif req is None:
        return _past("maximum", kind, res, enforced, "request", req)
    if req is not None and req > enforced:
        return _past("maximum", kind, res, enforced, "request", req)
    return None


def _ratio_error(kind: str, res: str, enforced: Fraction, requests: Amounts,
                 limits: Amounts) -> str | None:
    req, lim = requests.get(res), limits.get(res)
    text = q(enforced, res)
    if not req:
        return f"{res} max limit to request ratio per {kind} is {text}, but no request is " \
               "specified or request is 0"
    if not lim:
        return f"{res} max limit to request ratio per {kind} is {text}, but no limit is " \
               "specified or limit is 0"
    ratio = lim / req
    if ratio > enforced:
        return f"{res} max limit to request ratio per {kind} is {text}, but provided ratio " \
               f"is {float(ratio):f}"
    return None


def _item_errors(item: Obj, kind: str, requests: Amounts, limits: Amounts) -> list[str]:
    errs: list[str | None] = []
    errs += [_min_error(kind, k, v, requests, limits)
             for k, v in sorted(parse_list(item.get("min")).items())]
    errs += [_max_error(kind, k, v, requests, limits)
             for k, v in sorted(parse_list(item.get("max")).items())]
    errs += [_ratio_error(kind, k, v, requests, limits)
             for k, v in sorted(parse_list(item.get("maxLimitRequestRatio")).items())]
    return [e for e in errs if e]


def pod_limit_errors(pod: Obj, ranges: list[Obj]) -> list[str]:
    """PodValidateLimitFunc: every container (init ones too) against each Container item,
    the pod's totals against each Pod item."""
    spec = pod.get("spec") or {}
    errs: list[str] = []
    containers = [c for key in ("containers", "initContainers") for c in spec.get(key) or []
                  if isinstance(c, dict)]
    for item in _items(ranges, "Container"):
        for c in containers:
            res = c.get("resources") or {}
            errs += _item_errors(item, "Container", parse_list(res.get("requests")),
                                 parse_list(res.get("limits")))
    for item in _items(ranges, "Pod"):
        errs += _item_errors(item, "Pod", pod_totals(spec, "requests"),
                             pod_totals(spec, "limits"))
    return errs


def claim_limit_errors(pvc: Obj, ranges: list[Obj]) -> list[str]:
    """PersistentVolumeClaimValidateLimitFunc: the claim's storage request within min and
    max (requests only: a claim has no limit)."""
    requests = parse_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests"))
    errs: list[str | None] = []
    for item in _items(ranges, "PersistentVolumeClaim"):
        kind = "PersistentVolumeClaim"
        errs += [_min_error(kind, k, v, requests, {})
                 for k, v in sorted(parse_list(item.get("min")).items())]
        errs += [_max_error(kind, k, v, requests, None)
                 for k, v in sorted(parse_list(item.get("max")).items())]
    return [e for e in errs if e]


def aggregate(errs: list[str]) -> str:
    """utilerrors.NewAggregate's message: one error as itself, more in brackets."""
    return errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"


class LimitRanger:
    """Defaults on pod create (mutating), checks on pod create and claim create and update
    (validating). Pods' containers cannot change after create, so pod updates are left
    alone, as kube's plugin leaves them."""

    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects

    def _handles(self, attrs: Attributes) -> bool:
        if attrs.subresource is not None or attrs.obj is None or not attrs.namespace:
            return False
        resource = attrs.strategy.resource
        if resource is PODS:
            return attrs.operation is Operation.CREATE
        return resource is PERSISTENTVOLUMECLAIMS and attrs.operation in (Operation.CREATE,
                                                                          Operation.UPDATE)

    async def _ranges(self, namespace: str) -> list[Obj]:
        prefix = list_prefix(LIMITRANGES, namespace)
        found = await self._objects.kv.range(prefix, prefix_end(prefix))
        return [decode_kv(kv) for kv in found.kvs]

    async def admit(self, attrs: Attributes) -> None:
        if not self._handles(attrs) or attrs.strategy.resource is not PODS:
            return
        assert attrs.obj is not None and attrs.namespace
        ranges = await self._ranges(attrs.namespace)
        if ranges:
            apply_defaults(attrs.obj, ranges)

    async def validate(self, attrs: Attributes) -> None:
        if not self._handles(attrs):
            return
        assert attrs.obj is not None and attrs.namespace
        ranges = await self._ranges(attrs.namespace)
        if not ranges:
            return
        errs = (pod_limit_errors if attrs.strategy.resource is PODS
                else claim_limit_errors)(attrs.obj, ranges)
        if errs:
            raise refused(attrs, aggregate(errs))
