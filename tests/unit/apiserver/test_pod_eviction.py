"""pods/eviction honouring the PodDisruptionBudget its status states, as kube's
EvictionREST (the disruption controller, which writes that status, is tested on its own)."""

from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PODDISRUPTIONBUDGETS, PODS
from minikube_py.apiserver.kinds.eviction import decremented
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.conftest import pod_body
from tests.unit.apiserver.test_kind_policy import pdb

NS = "default"
NOW = "2026-01-01T00:00:00Z"

def eviction(name: str, **delete_options: Any) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name},
            "deleteOptions": delete_options}


async def evict(svc: ApiService, name: str, **delete_options: Any) -> dict[str, Any]:
    return await svc.create(PODS, eviction(name, **delete_options), namespace=NS, name=name,
                            subresource="eviction")


async def running_pod(svc: ApiService, name: str, *, ready: bool = True,
                      **spec: Any) -> dict[str, Any]:
    pod = await svc.create(PODS, pod_body(name, **spec), namespace=NS)
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}
    return await svc.update(PODS, pod, namespace=NS, subresource="status")


async def budget(svc: ApiService, name: str = "web", *, allowed: int, current: int = 2,
                 desired: int = 2, observed: int = 1, **spec: Any) -> dict[str, Any]:
    """A budget whose status says what the disruption controller would have written."""
    out = await svc.create(PODDISRUPTIONBUDGETS, pdb(name, **(spec or {"minAvailable": 2})),
                           namespace=NS)
    out["status"] = {"observedGeneration": observed, "disruptionsAllowed": allowed,
                     "currentHealthy": current, "desiredHealthy": desired,
                     "expectedPods": current}
    return await svc.update(PODDISRUPTIONBUDGETS, out, namespace=NS, subresource="status")


async def gone_or_going(svc: ApiService, name: str) -> bool:
    try:
        pod = await svc.get(PODS, name, namespace=NS)
    except ApiError as e:
        return e.code == 404
    return bool(pod["metadata"].get("deletionTimestamp"))


async def test_eviction_takes_a_disruption_and_records_the_pod(svc: ApiService) -> None:
    await running_pod(svc, "a")
    await budget(svc, allowed=1, current=3)
    assert (await evict(svc, "a"))["status"] == "Success"
    assert await gone_or_going(svc, "a")
    status = (await svc.get(PODDISRUPTIONBUDGETS, "web", namespace=NS))["status"]
    assert status["disruptionsAllowed"] == 0
    assert list(status["disruptedPods"]) == ["a"]
    [cond] = status["conditions"]
    assert (cond["type"], cond["status"], cond["reason"]) == (
        "DisruptionAllowed", "False", "InsufficientPods")


async def test_no_disruption_allowed_is_429_with_kubes_cause(svc: ApiService) -> None:
    await running_pod(svc, "a")
    await budget(svc, allowed=0, current=2, desired=2)
    with pytest.raises(ApiError) as e:
        await evict(svc, "a")
    assert e.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Cannot evict pod as it would violate the pod's disruption budget.",
        "reason": "TooManyRequests",
        "details": {"causes": [{"reason": "DisruptionBudget", "message":
                                "The disruption budget web needs 2 healthy pods and has 2 "
                                "currently"}]},
        "code": 429}
    assert not await gone_or_going(svc, "a")


async def test_a_budget_not_yet_observed_is_429_retry_after_ten(svc: ApiService) -> None:
    await running_pod(svc, "a")
    await svc.create(PODDISRUPTIONBUDGETS, pdb(minAvailable=1), namespace=NS)  # fresh
    with pytest.raises(ApiError) as e:
        await evict(svc, "a")
    status = e.value.to_status()
    assert (status["code"], status["reason"]) == (429, "TooManyRequests")
    assert status["details"] == {
        "causes": [{"reason": "DisruptionBudget", "message":
                    "The disruption budget web is still being processed by the server."}],
        "retryAfterSeconds": 10}
    assert not await gone_or_going(svc, "a")


async def test_two_budgets_over_one_pod_is_500(svc: ApiService) -> None:
    await running_pod(svc, "a")
    await budget(svc, "one", allowed=1)
    await budget(svc, "two", allowed=1)
    with pytest.raises(ApiError) as e:
        await evict(svc, "a")
    assert e.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "This pod has more than one PodDisruptionBudget, which the eviction "
                   "subresource does not support.", "code": 500}


async def test_pending_and_finished_pods_evict_freely(svc: ApiService) -> None:
    await svc.create(PODS, pod_body("pending"), namespace=NS)
    done = await svc.create(PODS, pod_body("done"), namespace=NS)
    done["status"] = {"phase": "Succeeded"}
    await svc.update(PODS, done, namespace=NS, subresource="status")
    await budget(svc, allowed=0)
    for name in ("pending", "done"):
        await evict(svc, name)
        assert await gone_or_going(svc, name)
    status = (await svc.get(PODDISRUPTIONBUDGETS, "web", namespace=NS))["status"]
    assert "disruptedPods" not in status


async def test_an_unready_pod_goes_when_the_budget_is_healthy_anyway(svc: ApiService) -> None:
    await running_pod(svc, "a", ready=False)
    await budget(svc, allowed=0, current=2, desired=2)
    await evict(svc, "a")
    assert await gone_or_going(svc, "a")
    status = (await svc.get(PODDISRUPTIONBUDGETS, "web", namespace=NS))["status"]
    assert status["disruptionsAllowed"] == 0 and "disruptedPods" not in status


async def test_an_unready_pod_of_an_unhealthy_budget_needs_always_allow(
        svc: ApiService) -> None:
    await running_pod(svc, "a", ready=False)
    await running_pod(svc, "b", ready=False)
    await svc.patch(PODS, "b", {"metadata": {"labels": {"app": "other"}}}, namespace=NS)
    await budget(svc, allowed=0, current=1, desired=2)
    with pytest.raises(ApiError) as e:
        await evict(svc, "a")
    assert e.value.code == 429
    await budget(svc, "other", allowed=0, current=1, desired=2,
                 minAvailable=2, unhealthyPodEvictionPolicy="AlwaysAllow")
    await svc.patch(PODDISRUPTIONBUDGETS, "other", {"spec": {"selector": {
        "matchLabels": {"app": "other"}}}}, namespace=NS)
    other = await svc.get(PODDISRUPTIONBUDGETS, "other", namespace=NS)
    other["status"]["observedGeneration"] = other["metadata"]["generation"]
    await svc.update(PODDISRUPTIONBUDGETS, other, namespace=NS, subresource="status")
    await evict(svc, "b")
    assert await gone_or_going(svc, "b")


async def test_an_empty_selector_guards_every_pod_and_a_null_one_none(svc: ApiService) -> None:
    await running_pod(svc, "a")
    await budget(svc, allowed=0, minAvailable=2, selector={})
    with pytest.raises(ApiError) as e:
        await evict(svc, "a")
    assert e.value.code == 429
    await svc.delete(PODDISRUPTIONBUDGETS, "web", namespace=NS)
    await budget(svc, allowed=0, minAvailable=2, selector=None)
    await evict(svc, "a")
    assert await gone_or_going(svc, "a")


async def test_the_evicted_pod_is_marked_as_a_disruption_target(svc: ApiService) -> None:
    await running_pod(svc, "a", nodeName="n1")  # on a node, it goes gracefully
    await evict(svc, "a")
    pod = await svc.get(PODS, "a", namespace=NS)
    assert pod["metadata"]["deletionTimestamp"]
    [cond] = [c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "True", "EvictionByEvictionAPI", "Eviction API: evicting")


async def test_a_stale_resource_version_precondition_is_a_conflict(svc: ApiService) -> None:
    pod = await running_pod(svc, "a")
    stale = pod["metadata"]["resourceVersion"]
    await svc.patch(PODS, "a", {"metadata": {"labels": {"app": "web", "x": "1"}}},
                    namespace=NS)
    with pytest.raises(ApiError) as e:
        await evict(svc, "a", preconditions={"resourceVersion": stale})
    assert e.value.code == 409
    assert not await gone_or_going(svc, "a")
    current = (await svc.get(PODS, "a", namespace=NS))["metadata"]["resourceVersion"]
    await evict(svc, "a", preconditions={"resourceVersion": current})
    assert await gone_or_going(svc, "a")


async def test_a_dry_run_eviction_changes_nothing(svc: ApiService) -> None:
    await running_pod(svc, "a")
    await budget(svc, allowed=1)
    await evict(svc, "a", dryRun=["All"])
    assert not await gone_or_going(svc, "a")
    status = (await svc.get(PODDISRUPTIONBUDGETS, "web", namespace=NS))["status"]
    assert status["disruptionsAllowed"] == 1


async def test_the_eviction_must_name_the_pod_of_the_url(svc: ApiService) -> None:
    await running_pod(svc, "a")
    with pytest.raises(ApiError) as e:
        await svc.create(PODS, eviction("b"), namespace=NS, name="a", subresource="eviction")
    assert (e.value.code, e.value.message) == (
        400, "name in URL does not match name in Eviction object")


def test_the_last_disruption_turns_the_condition_false() -> None:
    obj = {"metadata": {"name": "web", "generation": 1}, "status": {
        "observedGeneration": 1, "disruptionsAllowed": 2, "currentHealthy": 3,
        "desiredHealthy": 1, "expectedPods": 3}}
    once = decremented(obj, "a", NOW)
    assert once["status"]["disruptionsAllowed"] == 1
    assert "conditions" not in once["status"]  # kube updates it only on reaching zero
    twice = decremented(once, "b", NOW)
    assert twice["status"]["disruptedPods"] == {"a": NOW, "b": NOW}
    assert twice["status"]["conditions"][0]["reason"] == "InsufficientPods"


async def test_the_429_says_retry_after_over_http(server: TestServer, svc: ApiService) -> None:
    await running_pod(svc, "a")
    await svc.create(PODDISRUPTIONBUDGETS, pdb(minAvailable=1), namespace=NS)
    url = f"http://127.0.0.1:{server.port}/api/v1/namespaces/{NS}/pods/a/eviction"
    async with aiohttp.ClientSession() as http, http.post(url, json=eviction("a")) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "10"
        body = await resp.json()
    assert list(body) == ["kind", "apiVersion", "metadata", "status", "message", "reason",
                          "details", "code"]
    assert list(body["details"]) == ["causes", "retryAfterSeconds"]
