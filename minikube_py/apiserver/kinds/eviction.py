"""POST pods/eviction as kube's EvictionREST: a delete that honours the pod's
PodDisruptionBudget. A pod that is not running yet, finished or already going is deleted
outright; otherwise its one budget must allow a disruption, which the eviction takes (and
records in status.disruptedPods) in the same write before it deletes the pod."""

from __future__ import annotations

import dataclasses
from typing import Any

from minikube_py.api import errors
from minikube_py.api.disruption import ALWAYS_ALLOW, guards_pod, with_disruption_allowed_condition
from minikube_py.api.errors import ApiError, Cause
from minikube_py.api.podutil import is_ready
from minikube_py.api.resources import PODDISRUPTIONBUDGETS, PODS
from minikube_py.apiserver.kinds.base import Obj, created_status
from minikube_py.apiserver.objectstore import Stored
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.rest.context import RestContext
from minikube_py.apiserver.rest.delete import delete
from minikube_py.apiserver.storage import decode_kv, list_prefix
from minikube_py.store.types import prefix_end

MORE_THAN_ONE_BUDGET = ("This pod has more than one PodDisruptionBudget, which the eviction "
                        "subresource does not support.")
WOULD_VIOLATE = "Cannot evict pod as it would violate the pod's disruption budget."
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"
# An eviction refuses to add to a disruptedPods map the controller has not confirmed.
MAX_DISRUPTED_PODS = 2000
# Deletes of a pod that changed meanwhile are tried again this often (EvictionsRetry).
_DELETE_ATTEMPTS = 5
_IGNORING_PHASES = ("Succeeded", "Failed", "Pending")
DISRUPTION_TARGET = {"type": "DisruptionTarget", "status": "True",
                     "reason": "EvictionByEvictionAPI", "message": "Eviction API: evicting"}


def can_ignore_budgets(pod: Obj) -> bool:
    """canIgnorePDB: a finished, not yet running, or already deleted pod disrupts
    nothing more by going."""
    return (pod.get("status") or {}).get("phase") in _IGNORING_PHASES or \
        bool(pod["metadata"].get("deletionTimestamp"))


def pins_resource_version(pod: Obj) -> bool:
    """shouldEnforceResourceVersion: a pod that may still turn ready is deleted only as
    it was when judged."""
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and \
        not pod["metadata"].get("deletionTimestamp")


def still_processing(budget: str) -> ApiError:
    return errors.too_many_requests(WOULD_VIOLATE, 10, [Cause(
        DISRUPTION_BUDGET_CAUSE,
        f"The disruption budget {budget} is still being processed by the server.")])


def with_disruption_target(pod: Obj, now: str) -> Obj:
    """The pod with the DisruptionTarget condition an eviction sets before it deletes
    (UpdatePodCondition: the transition time moves only with the status)."""
    status = dict(pod.get("status") or {})
    conditions = [dict(c) for c in status.get("conditions") or []]
    old = next((c for c in conditions if c.get("type") == DISRUPTION_TARGET["type"]), None)
    since = old.get("lastTransitionTime") if old is not None and \
        old.get("status") == DISRUPTION_TARGET["status"] else now
    new = {"type": DISRUPTION_TARGET["type"], "status": DISRUPTION_TARGET["status"],
           "lastProbeTime": None, "lastTransitionTime": since or now,
           "reason": DISRUPTION_TARGET["reason"], "message": DISRUPTION_TARGET["message"]}
    if old is None:
        conditions.append(new)
    else:
        conditions[conditions.index(old)] = new
    status["conditions"] = conditions
    return {**pod, "status": status}


def _precondition_conflict(name: str, field: str, wanted: str, stored: str,
                           why: str) -> ApiError:
    return errors.conflict("Pod", name, f"the {field} in the precondition ({wanted}) does not "
                                        f"match the {field} in record ({stored}). {why}")


async def _mark_disruption_target(rest: RestContext, name: str, namespace: str,
                                  pre: Obj) -> str:
    """addConditionAndDeletePod's update: the condition on the latest pod, under the
    delete's preconditions; the pod's new resourceVersion."""
    async def try_mark(stored: Stored | None) -> Obj:
        assert stored is not None
        pod = stored.copy()
        meta = pod["metadata"]
        if pre.get("uid") and pre["uid"] != meta.get("uid"):
            raise _precondition_conflict(name, "UID", pre["uid"], meta.get("uid", ""),
                                         "The object might have been deleted and then "
                                         "recreated")
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
            raise _precondition_conflict(name, "ResourceVersion", pre["resourceVersion"],
                                         meta["resourceVersion"],
                                         "The object might have been modified")
        return with_disruption_target(pod, rest.now())

    written = await rest.objects.guaranteed_update(PODS, namespace, name, try_mark)
    return str(written.obj["metadata"]["resourceVersion"])


def _forbidden(budget: str, why: str) -> ApiError:
    return ApiError(403, "Forbidden", f'poddisruptionbudget.policy "{budget}" is forbidden: '
                                      f"{why}",
                    {"name": budget, "group": "policy", "kind": "poddisruptionbudget"})


def unhealthy_pod_may_go(pdb: Obj) -> bool:
    """A not-ready pod goes without taking a disruption when the budget says AlwaysAllow,
    or (IfHealthyBudget, the default) when the application has its healthy pods anyway."""
    if (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy") == ALWAYS_ALLOW:
        return True
    status = pdb.get("status") or {}
    desired = int(status.get("desiredHealthy") or 0)
    return int(status.get("currentHealthy") or 0) >= desired > 0


def decremented(pdb: Obj, pod_name: str, now: str) -> Obj:
    """checkAndDecrement: the budget with one disruption taken by `pod_name`, or the
    ApiError that refuses it."""
    name = pdb["metadata"]["name"]
    status: dict[str, Any] = dict(pdb.get("status") or {})
    if int(status.get("observedGeneration") or 0) < int(pdb["metadata"].get("generation") or 0):
        raise still_processing(name)
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise _forbidden(name, "pdb disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise _forbidden(name, "DisruptedPods map too big - too many evictions not confirmed "
                               "by PDB controller")
    if allowed == 0:
        raise errors.too_many_requests(WOULD_VIOLATE, 0, [Cause(
            DISRUPTION_BUDGET_CAUSE,
            f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} "
            f"healthy pods and has {int(status.get('currentHealthy') or 0)} currently")])
    status["disruptionsAllowed"] = allowed - 1
    if allowed == 1:
        status = with_disruption_allowed_condition(status, now)
    status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod_name: now}
    return {**pdb, "status": status}


async def _budgets_of(rest: RestContext, pod: Obj) -> list[Obj]:
    prefix = list_prefix(PODDISRUPTIONBUDGETS, pod["metadata"]["namespace"])
    found = await rest.objects.kv.range(prefix, prefix_end(prefix))
    return [pdb for pdb in (decode_kv(kv) for kv in found.kvs) if guards_pod(pdb, pod)]


async def _take_disruption(rest: RestContext, pdb: Obj, pod: Obj,
                           opts: RequestOptions) -> None:
    async def try_decrement(stored: Stored | None) -> Obj:
        assert stored is not None
        return decremented(stored.copy(), pod["metadata"]["name"], rest.now())

    await rest.objects.guaranteed_update(PODDISRUPTIONBUDGETS, pod["metadata"]["namespace"],
                                         pdb["metadata"]["name"], try_decrement,
                                         dry_run=opts.dry_run)


async def evict_pod(rest: RestContext, name: str, namespace: str | None, body: Obj,
                    opts: RequestOptions) -> Obj:
    meta: Obj = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
    if meta.get("name") != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    options: Obj = body["deleteOptions"] if isinstance(body.get("deleteOptions"), dict) else {}
    if options.get("dryRun"):
        opts = dataclasses.replace(opts, dry_run=True)
    ns = namespace or "default"
    asked: Obj = options["preconditions"] if isinstance(options.get("preconditions"),
                                                        dict) else {}
    client_pinned = bool(asked.get("resourceVersion"))

    async def delete_pod(pod: Obj, pin: bool) -> None:
        pre = dict(asked)
        if pin and not client_pinned:
            pre["resourceVersion"] = pod["metadata"]["resourceVersion"]
        if not opts.dry_run:
            marked = await _mark_disruption_target(rest, name, ns, pre)
            if pre.get("resourceVersion"):
                pre["resourceVersion"] = marked  # the mark is ours: delete what it wrote
        await delete(rest, rest.strategy(PODS), name, ns,
                     grace_period_seconds=options.get("gracePeriodSeconds"),
                     preconditions=pre, opts=opts)

    for attempt in range(_DELETE_ATTEMPTS):
        pod = await rest.objects.get(PODS, ns, name)
        if not can_ignore_budgets(pod):
            break
        try:
            await delete_pod(pod, pins_resource_version(pod))
            return created_status()
        except ApiError as e:
            if e.code != 409 or client_pinned or attempt == _DELETE_ATTEMPTS - 1:
                raise

    budgets = await _budgets_of(rest, pod)
    if len(budgets) > 1:
        raise ApiError(500, "", MORE_THAN_ONE_BUDGET)
    pin = False
    if budgets:
        if not is_ready(pod) and unhealthy_pod_may_go(budgets[0]):
            pin = True  # takes no disruption, so it must still be the pod judged unready
        else:
            await _take_disruption(rest, budgets[0], pod, opts)
    try:
        await delete_pod(pod, pin)
    except ApiError as e:
        if e.code == 409 and pin and not client_pinned:
            raise still_processing(budgets[0]["metadata"]["name"]) from e
        raise
    return created_status()
