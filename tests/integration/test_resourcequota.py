"""ResourceQuota end to end over the real API service and the resource quota controller:
a new quota is counted at once, the pod past the limit is refused with kube's message,
a deletion gives its unit back, and creates racing the controller never exceed the quota."""

from __future__ import annotations

import asyncio
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS, LIMITRANGES, PODS, RESOURCEQUOTAS
from minikube_py.controllers.resourcequota import ResourceQuotaController
from tests.integration.harness import ControlPlane, control_plane, eventually

NS = "default"


def pod(name: str, **resources: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "resources": resources}]}}


def quota(name: str, **hard: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name},
            "spec": {"hard": hard}}


async def used(plane: ControlPlane, name: str) -> dict[str, str]:
    got = await plane.api.get(RESOURCEQUOTAS, name, namespace=NS)
    return dict((got.get("status") or {}).get("used") or {})


def start_controller(plane: ControlPlane, **kw: Any) -> None:
    plane.start("resourcequota-controller", ResourceQuotaController(
        plane.ctx, settle=kw.pop("settle", 0.2), **kw).run)


async def test_third_pod_refused_then_admitted_after_a_delete() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start_controller(plane)
        await plane.api.create(RESOURCEQUOTAS, quota("pods", pods="2"), namespace=NS)

        async def counted() -> bool:
            return await used(plane, "pods") == {"pods": "0"}

        await eventually(counted, timeout=1.0, plane=plane, what="the new quota counted")
        for name in ("a", "b"):
            await plane.api.create(PODS, pod(name), namespace=NS)
        try:
            await plane.api.create(PODS, pod("c"), namespace=NS)
            raise AssertionError("the third pod was admitted")
        except ApiError as e:
            assert (e.code, e.message) == (403, 'pods "c" is forbidden: exceeded quota: pods, '
                                                 "requested: pods=1, used: pods=2, limited: "
                                                 "pods=2")
        await plane.api.delete(PODS, "a", namespace=NS)

        async def admitted() -> bool:
            try:
                await plane.api.create(PODS, pod("c"), namespace=NS)
            except ApiError as e:
                assert e.code == 403, e
                return False
            return True

        await eventually(admitted, plane=plane, what="the freed unit to admit a new pod")
        assert await used(plane, "pods") == {"pods": "2"}


async def test_usage_follows_deletions_of_any_counted_kind() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start_controller(plane)
        await plane.api.create(CONFIGMAPS, {"metadata": {"name": "before"}}, namespace=NS)
        await plane.api.create(RESOURCEQUOTAS, quota("objects", **{
            "count/configmaps": "5", "requests.cpu": "1"}), namespace=NS)

        async def counted(want: dict[str, str]) -> bool:
            return await used(plane, "objects") == want

        await eventually(lambda: counted({"count/configmaps": "1", "requests.cpu": "0"}),
                         timeout=1.0, plane=plane, what="the configmap already there")
        await plane.api.create(PODS, pod("p", requests={"cpu": "250m"}), namespace=NS)
        await eventually(lambda: counted({"count/configmaps": "1", "requests.cpu": "250m"}),
                         plane=plane, what="the pod's request charged")
        await plane.api.delete(CONFIGMAPS, "before", namespace=NS)
        await plane.api.delete(PODS, "p", namespace=NS)
        await eventually(lambda: counted({"count/configmaps": "0", "requests.cpu": "0"}),
                         plane=plane, what="the deletions given back")


async def test_limitrange_defaults_are_on_the_created_pod() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        await plane.api.create(LIMITRANGES, {"metadata": {"name": "defaults"}, "spec": {
            "limits": [{"type": "Container", "default": {"memory": "128Mi"},
                        "defaultRequest": {"cpu": "100m", "memory": "64Mi"}}]}},
                               namespace=NS)
        await plane.api.create(PODS, pod("web"), namespace=NS)
        got = await plane.api.get(PODS, "web", namespace=NS)
        assert got["spec"]["containers"][0]["resources"] == {
            "requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}
        assert got["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
            "LimitRanger plugin set: cpu, memory request for container c; memory limit for "
            "container c")


async def test_concurrent_creates_racing_the_controller_never_exceed_the_quota() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start_controller(plane, settle=0.3)
        await plane.api.create(RESOURCEQUOTAS, quota("pods", pods="3"), namespace=NS)

        async def counted() -> bool:
            return await used(plane, "pods") == {"pods": "0"}

        await eventually(counted, timeout=1.0, plane=plane, what="the new quota counted")
        names = (f"p{i}" for i in range(10_000))

        async def burst() -> bool:
            """Eight creates at once; whether any was admitted. Never more than 3 pods."""
            results = await asyncio.gather(
                *(plane.api.create(PODS, pod(next(names)), namespace=NS) for _ in range(8)),
                return_exceptions=True)
            assert all(isinstance(r, dict) or (isinstance(r, ApiError) and r.code == 403)
                       for r in results), results
            pods = (await plane.api.list(PODS, namespace=NS))["items"]
            assert len(pods) <= 3, [p["metadata"]["name"] for p in pods]
            return any(isinstance(r, dict) for r in results)

        assert await burst()
        for _ in range(4):
            # free one unit: the bursts race the controller giving it back
            pods = (await plane.api.list(PODS, namespace=NS))["items"]
            await plane.api.delete(PODS, pods[0]["metadata"]["name"], namespace=NS)
            await eventually(burst, plane=plane, what="the freed unit taken by one burst")
        assert len((await plane.api.list(PODS, namespace=NS))["items"]) == 3


async def test_a_lower_count_waits_until_the_quota_settles() -> None:
    """Admission charges the quota just before it stores the object: a count taken in
    between is one short, and must not hand that unit out again at once."""
    async with control_plane(nodes=0, scheduler=False) as plane:
        ctl = ResourceQuotaController(plane.ctx, settle=60.0)
        await plane.api.create(RESOURCEQUOTAS, quota("pods", pods="1"), namespace=NS)
        charged = await plane.api.get(RESOURCEQUOTAS, "pods", namespace=NS)
        charged["status"] = {"hard": {"pods": "1"}, "used": {"pods": "1"}}  # no pod yet
        await plane.api.update(RESOURCEQUOTAS, charged, namespace=NS, subresource="status")
        await ctl.sync(f"{NS}/pods")
        assert await used(plane, "pods") == {"pods": "1"}  # held back
        await ctl.sync(f"{NS}/pods")  # nothing was charged since: the count stands
        assert await used(plane, "pods") == {"pods": "0"}


async def test_raising_the_hard_limit_admits_more_and_resync_recounts_any_kind() -> None:
    from minikube_py.api.resources import DEPLOYMENTS

    async with control_plane(nodes=0, scheduler=False) as plane:
        start_controller(plane, resync_period=0.2)
        await plane.api.create(RESOURCEQUOTAS, quota("q", **{"count/deployments.apps": "1"}),
                               namespace=NS)

        async def counted(want: str) -> bool:
            return await used(plane, "q") == {"count/deployments.apps": want}

        await eventually(lambda: counted("0"), timeout=1.0, plane=plane, what="counted")
        deploy = {"metadata": {"name": "d1"}, "spec": {
            "selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}}, "spec": pod("x")["spec"]}}}
        await plane.api.create(DEPLOYMENTS, deploy, namespace=NS)
        second = {**deploy, "metadata": {"name": "d2"}}
        try:
            await plane.api.create(DEPLOYMENTS, second, namespace=NS)
            raise AssertionError("the second deployment was admitted")
        except ApiError as e:
            assert e.code == 403 and "exceeded quota: q" in e.message
        raised = await plane.api.get(RESOURCEQUOTAS, "q", namespace=NS)
        raised["spec"]["hard"]["count/deployments.apps"] = "2"
        await plane.api.update(RESOURCEQUOTAS, raised, namespace=NS)

        async def admitted() -> bool:
            try:
                await plane.api.create(DEPLOYMENTS, second, namespace=NS)
            except ApiError as e:
                assert e.code == 403, e
                return False
            return True

        await eventually(admitted, plane=plane, what="the raised limit to admit d2")
        await plane.api.delete(DEPLOYMENTS, "d1", namespace=NS)
        # deployments are not watched: the periodic recount gives d1 back
        await eventually(lambda: counted("1"), plane=plane, what="the resync's recount")
