"""ResourceQuota usage as data (kube's pkg/quota/v1 and its core evaluators): what one object
uses of the names a quota limits, sums, masks, and the checks admission makes. The API
server's quota admission and the resource quota controller both count with these."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any

from minikube_py.api.quantity import QuantityError, format_quantity, parse_quantity
from minikube_py.api.resources import (
    CONFIGMAPS,
    PERSISTENTVOLUMECLAIMS,
    PODS,
    REPLICATIONCONTROLLERS,
    RESOURCEQUOTAS,
    SECRETS,
    SERVICES,
    Resource,
)

Obj = dict[str, Any]
Usage = dict[str, Fraction]

# The kinds whose plain plural is a quota name of its own (besides count/<plural>).
_LEGACY_COUNTS = {PODS.plural, SERVICES.plural, CONFIGMAPS.plural, SECRETS.plural,
                  REPLICATIONCONTROLLERS.plural, PERSISTENTVOLUMECLAIMS.plural,
                  RESOURCEQUOTAS.plural}
# Quota names that are whole numbers (helper.IsIntegerResourceName's standard part).
INTEGER_NAMES = frozenset({*_LEGACY_COUNTS, "services.nodeports", "services.loadbalancers"})
# kube's IsStandardQuotaResourceName: what a quota may name without a "/".
STANDARD_NAMES = frozenset({
    *INTEGER_NAMES, "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
    "requests.storage", "requests.ephemeral-storage", "limits.cpu", "limits.memory",
    "limits.ephemeral-storage"})
_STANDARD_PREFIXES = ("hugepages-", "requests.hugepages-")
# Names a pod's containers must each request (or limit) once a quota limits them: kube's
# backward-compatible podEvaluator.Constraints.
_MUST_SPECIFY = frozenset({"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu",
                           "limits.memory"})
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
_BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def is_standard_name(name: str) -> bool:
    return name in STANDARD_NAMES or name.startswith(_STANDARD_PREFIXES)


def count_name(resource: Resource) -> str:
    """count/<plural> for the core group, count/<plural>.<group> for the others."""
    return f"count/{resource}"


def parse_list(values: Any) -> Usage:
    """A ResourceList (name -> quantity text) as exact values; bad quantities are left out
    (validation refused them before anything was stored)."""
    out: Usage = {}
    if isinstance(values, Mapping):
        for k, v in values.items():
            try:
                out[str(k)] = parse_quantity(v)
            except (QuantityError, TypeError, ValueError):
                continue
    return out


def is_binary(name: str) -> bool:
    """Whether Go would print this name's amounts in BinarySI (memory, storage)."""
    return "memory" in name or "storage" in name or name.startswith(("hugepages-",
                                                                       "requests.hugepages-"))


def format_list(usage: Mapping[str, Fraction]) -> dict[str, str]:
    return {k: format_quantity(v, is_binary(k)) for k, v in sorted(usage.items())}


def add(a: Mapping[str, Fraction], b: Mapping[str, Fraction]) -> Usage:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, Fraction(0)) + v
    return out


def subtract_non_negative(a: Mapping[str, Fraction], b: Mapping[str, Fraction]) -> Usage:
    """a - b, each name at least 0 (quota.SubtractWithNonNegativeResult)."""
    return {k: max(v - b.get(k, Fraction(0)), Fraction(0)) for k, v in a.items()}


def mask(usage: Mapping[str, Fraction], names: Iterable[str]) -> Usage:
    keep = set(names)
    return {k: v for k, v in usage.items() if k in keep}


def pretty(usage: Mapping[str, Fraction]) -> str:
    """kube's prettyPrint: name=amount, sorted, comma-joined."""
    return ",".join(f"{k}={v}" for k, v in format_list(usage).items())


# --- what one object uses ---------------------------------------------------------------


def _containers(spec: Obj, key: str) -> list[Obj]:
    return [c for c in spec.get(key) or [] if isinstance(c, dict)]


def _resources(c: Obj, section: str) -> Usage:
    res = c.get("resources")
    return parse_list(res.get(section)) if isinstance(res, dict) else {}


def pod_totals(spec: Obj, section: str) -> Usage:
    """resourcehelper.PodRequests/PodLimits: the sum over containers and sidecars, or the
    largest regular init container (with the sidecars started before it) if larger, plus
    the pod's overhead."""
    total: Usage = {}
    for c in _containers(spec, "containers"):
        total = add(total, _resources(c, section))
    sidecars: Usage = {}
    init_peak: Usage = {}
    for c in _containers(spec, "initContainers"):
        own = _resources(c, section)
        if c.get("restartPolicy") == "Always":
            sidecars = add(sidecars, own)
            own = dict(sidecars)
        else:
            own = add(own, sidecars)
        for k, v in own.items():
            init_peak[k] = max(init_peak.get(k, Fraction(0)), v)
    total = add(total, sidecars)
    for k, v in init_peak.items():
        total[k] = max(total.get(k, Fraction(0)), v)
    return add(total, parse_list(spec.get("overhead")))


def _compute_usage(requests: Usage, limits: Usage) -> Usage:
    """podComputeUsageHelper: a pod (or container) as quota names."""
    out: Usage = {"pods": Fraction(1)}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            out[name] = out[f"requests.{name}"] = requests[name]
        if name in limits:
            out[f"limits.{name}"] = limits[name]
    for name, amount in requests.items():
        if name.startswith("hugepages-"):
            out[name] = out[f"requests.{name}"] = amount
        elif "/" in name and not name.startswith("kubernetes.io/"):
            out[f"requests.{name}"] = amount  # extended resources: requests.<name> only
    return out


def pod_counts(pod: Obj, now: float) -> bool:
    """kube's QuotaV1Pod: terminal pods use nothing but their object count, and so does a
    pod whose deletion's grace period has run out."""
    status, meta = pod.get("status") or {}, pod.get("metadata") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    deleting, grace = meta.get("deletionTimestamp"), meta.get("deletionGracePeriodSeconds")
    if deleting and grace is not None:
        try:
            return now <= datetime.fromisoformat(str(deleting)).timestamp() + float(grace)
        except ValueError:
            return True
    return True


def pod_usage(pod: Obj, now: float) -> Usage:
    out: Usage = {count_name(PODS): Fraction(1)}
    if not pod_counts(pod, now):
        return out
    spec = pod.get("spec") or {}
    return add(out, _compute_usage(pod_totals(spec, "requests"), pod_totals(spec, "limits")))


def service_usage(svc: Obj) -> Usage:
    spec = svc.get("spec") or {}
    out: Usage = {count_name(SERVICES): Fraction(1), "services": Fraction(1),
                  "services.loadbalancers": Fraction(0), "services.nodeports": Fraction(0)}
    ports = Fraction(len(spec.get("ports") or []))
    kind = spec.get("type")
    if kind == "NodePort":
        out["services.nodeports"] = ports
    elif kind == "LoadBalancer":
        out["services.loadbalancers"] = Fraction(1)
        if spec.get("allocateLoadBalancerNodePorts") is not False:
            out["services.nodeports"] = ports
    return out


def claim_class(pvc: Obj) -> str:
    annotations = (pvc.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(_BETA_CLASS_ANNOTATION) or
               (pvc.get("spec") or {}).get("storageClassName") or "")


def pvc_usage(pvc: Obj) -> Usage:
    out: Usage = {count_name(PERSISTENTVOLUMECLAIMS): Fraction(1),
                  "persistentvolumeclaims": Fraction(1)}
    spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
    requested = parse_list((spec.get("resources") or {}).get("requests")).get("storage")
    allocated = parse_list(status.get("allocatedResources")).get("storage")
    storage = max(a for a in (requested, allocated, Fraction(0)) if a is not None)
    cls = claim_class(pvc)
    if requested is not None or allocated is not None:
        out["requests.storage"] = storage
        if cls:
            out[f"{cls}{STORAGE_CLASS_SUFFIX}requests.storage"] = storage
    if cls:
        out[f"{cls}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = Fraction(1)
    return out


def usage(resource: Resource, obj: Obj, now: float) -> Usage:
    """Everything `obj` of `resource` uses, under every quota name that counts it."""
    if resource == PODS:
        return pod_usage(obj, now)
    if resource == SERVICES:
        return service_usage(obj)
    if resource == PERSISTENTVOLUMECLAIMS:
        return pvc_usage(obj)
    out: Usage = {count_name(resource): Fraction(1)}
    if resource.group == "" and resource.plural in _LEGACY_COUNTS:
        out[resource.plural] = Fraction(1)
    return out


_POD_NAMES = frozenset({count_name(PODS), "pods", *_MUST_SPECIFY, "ephemeral-storage",
                        "requests.ephemeral-storage", "limits.ephemeral-storage"})


def matches(resource: Resource, name: str) -> bool:
    """Whether quota name `name` counts objects of `resource` (MatchingResources)."""
    if resource == PODS:
        return name in _POD_NAMES or name.startswith(("hugepages-", "requests.hugepages-")) \
            or (name.startswith("requests.") and "/" in name)
    if resource == SERVICES:
        return name in {count_name(SERVICES), "services", "services.loadbalancers",
                        "services.nodeports"}
    if resource == PERSISTENTVOLUMECLAIMS:
        return name in {count_name(resource), "persistentvolumeclaims", "requests.storage"} \
            or STORAGE_CLASS_SUFFIX in name
    return name == count_name(resource) or (
        resource.group == "" and resource.plural in _LEGACY_COUNTS and name == resource.plural)


def missing_requests(pod: Obj, limited: Iterable[str]) -> str | None:
    """podEvaluator.Constraints: once a quota limits cpu or memory (requests or limits),
    every container must say it: "must specify limits.cpu for: a; requests.cpu for: a,b"."""
    required = set(limited) & _MUST_SPECIFY
    if not required:
        return None
    spec = pod.get("spec") or {}
    missing: dict[str, set[str]] = {}
    for c in _containers(spec, "containers") + _containers(spec, "initContainers"):
        has = _compute_usage(_resources(c, "requests"), _resources(c, "limits"))
        for name in required - set(has):
            missing.setdefault(name, set()).add(str(c.get("name", "")))
    if not missing:
        return None
    return "must specify " + "; ".join(f"{k} for: {','.join(sorted(v))}"
                                       for k, v in sorted(missing.items()))


def exceeded(used: Mapping[str, Fraction], hard: Mapping[str, Fraction],
             requested: Mapping[str, Fraction]) -> list[str]:
    """The names whose use, with `requested` added, would go over `hard`."""
    return sorted(k for k, v in requested.items()
                  if k in hard and used.get(k, Fraction(0)) + v > hard[k])


def counted_resources(hard: Iterable[str], served: Iterable[Resource]) -> list[Resource]:
    """The namespaced kinds among `served` that some name of `hard` counts."""
    names = list(hard)
    return [r for r in served if r.namespaced and any(matches(r, n) for n in names)]


def recount(quota: Obj, objects: Mapping[Resource, list[Obj]], now: float) -> Usage:
    """status.used from the objects themselves: each name of spec.hard, summed over every
    object in the quota's scopes of the kinds it counts (0 when nothing uses it)."""
    names = list((quota.get("spec") or {}).get("hard") or {})
    selectors = scope_selectors(quota)
    total: Usage = {n: Fraction(0) for n in names}
    for resource, items in objects.items():
        for obj in items:
            if in_scope(resource, obj, selectors):
                total = add(total, mask(usage(resource, obj, now), names))
    return total


# --- scopes ------------------------------------------------------------------------------

SCOPES = ("Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
          "CrossNamespacePodAffinity")
# The scopes that take no values: a `scopes` entry, or a selector term with Exists.
FLAG_SCOPES = SCOPES[:4]
SCOPE_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
# IsResourceQuotaScopeValidForResource: what a pod-scoped quota may limit.
POD_COMPUTE_NAMES = frozenset({"cpu", "memory", "requests.cpu", "requests.memory",
                               "limits.cpu", "limits.memory"})
Selector = tuple[str, str, tuple[str, ...]]  # scope name, operator, values


def scope_selectors(quota: Obj) -> list[Selector]:
    """getScopeSelectorsFromQuota: `scopes` as Exists terms, then the selector's terms."""
    spec = quota.get("spec") or {}
    out: list[Selector] = [(str(s), "Exists", ()) for s in spec.get("scopes") or []]
    for term in (spec.get("scopeSelector") or {}).get("matchExpressions") or []:
        if isinstance(term, Mapping):
            out.append((str(term.get("scopeName") or ""), str(term.get("operator") or ""),
                        tuple(str(v) for v in term.get("values") or [])))
    return out


def is_best_effort(spec: Obj) -> bool:
    """QoS BestEffort: no container requests or limits any cpu or memory."""
    for c in _containers(spec, "containers") + _containers(spec, "initContainers"):
        for section in ("requests", "limits"):
            amounts = _resources(c, section)
            if any(amounts.get(n, Fraction(0)) != 0 for n in ("cpu", "memory")):
                return False
    return True


def _pod_in_scope(pod: Obj, selector: Selector) -> bool:
    """podMatchesScopeFunc."""
    scope, operator, values = selector
    spec = pod.get("spec") or {}
    if scope in ("Terminating", "NotTerminating"):
        deadline = spec.get("activeDeadlineSeconds")
        terminating = isinstance(deadline, int) and deadline >= 0
        return terminating == (scope == "Terminating")
    if scope in ("BestEffort", "NotBestEffort"):
        return is_best_effort(spec) == (scope == "BestEffort")
    if scope == "PriorityClass":
        cls = str(spec.get("priorityClassName") or "")
        return {"In": cls in values, "NotIn": cls not in values, "Exists": bool(cls),
                "DoesNotExist": not cls}.get(operator, False)
    return False


def in_scope(resource: Resource, obj: Obj, selectors: list[Selector]) -> bool:
    """Whether a quota with these scope terms counts `obj`: every term must hold, and only
    pods can be in a scope (other kinds' evaluators match no scope)."""
    if not selectors:
        return True
    return resource == PODS and all(_pod_in_scope(obj, s) for s in selectors)
