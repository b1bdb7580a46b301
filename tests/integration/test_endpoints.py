"""Endpoints and EndpointSlices follow a Service's pods over the real API service."""

from __future__ import annotations

from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import ENDPOINTS, ENDPOINTSLICES, PODS, SERVICES
from minikube_py.controllers.endpoints import EndpointsController
from minikube_py.controllers.endpointslice import EndpointSliceController
from tests.integration.harness import ControlPlane, control_plane, eventually


def web_pod(name: str, app: str = "web") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "ports": [{"name": "http", "containerPort": 8080}]}]}}


def web_service(selector: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"ports": [{"name": "web", "port": 80, "targetPort": "http"}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}


def start(plane: ControlPlane) -> None:
    plane.start("endpoints", EndpointsController(plane.ctx).run)
    plane.start("endpointslice", EndpointSliceController(plane.ctx).run)


async def ready_ips(plane: ControlPlane) -> set[str]:
    try:
        ep = await plane.api.get(ENDPOINTS, "web", namespace="default")
    except ApiError:
        return set()
    return {a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []}


async def slice_ips(plane: ControlPlane) -> set[str]:
    slices = (await plane.api.list(ENDPOINTSLICES, namespace="default",
                                   label_selector="kubernetes.io/service-name=web"))["items"]
    return {e["addresses"][0] for s in slices for e in s["endpoints"]
            if e["conditions"]["ready"]}


async def pod_ips(plane: ControlPlane) -> set[str]:
    pods = (await plane.api.list(PODS, namespace="default", label_selector="app=web"))["items"]
    return {p["status"]["podIP"] for p in pods
            if p["status"].get("podIP") and not p["metadata"].get("deletionTimestamp")}


async def test_endpoints_follow_ready_pods_as_they_come_and_go() -> None:
    async with control_plane(nodes=2) as plane:
        start(plane)
        await plane.api.create(SERVICES, web_service({"app": "web"}), namespace="default")
        for i in range(3):
            await plane.api.create(PODS, web_pod(f"web-{i}"), namespace="default")
        await plane.api.create(PODS, web_pod("other", app="other"), namespace="default")

        async def three() -> set[str] | None:
            ips, want = await ready_ips(plane), await pod_ips(plane)
            return ips if len(want) == 3 and ips == want == await slice_ips(plane) else None

        await eventually(three, plane=plane, what="3 ready endpoints")
        ep = await plane.api.get(ENDPOINTS, "web", namespace="default")
        assert ep["subsets"][0]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
        slices = (await plane.api.list(ENDPOINTSLICES, namespace="default"))["items"]
        ours = [s for s in slices if s["metadata"]["labels"].get(
            "kubernetes.io/service-name") == "web"]
        assert len(ours) == 1
        sl = ours[0]
        assert sl["addressType"] == "IPv4"
        assert sl["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == \
            "endpointslice-controller.k8s.io"
        assert sl["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
        assert sl["metadata"]["ownerReferences"][0]["kind"] == "Service"
        assert all(e["targetRef"]["kind"] == "Pod" and e["nodeName"] for e in sl["endpoints"])

        await plane.api.delete(PODS, "web-0", namespace="default")

        async def two() -> bool:
            ips, want = await ready_ips(plane), await pod_ips(plane)
            return len(want) == 2 and ips == want == await slice_ips(plane)

        await eventually(two, plane=plane, what="endpoints without web-0")


async def test_a_pod_that_stops_being_ready_moves_to_not_ready_addresses() -> None:
    async with control_plane(nodes=1) as plane:
        start(plane)
        await plane.api.create(SERVICES, web_service({"app": "web"}), namespace="default")
        await plane.api.create(PODS, web_pod("web-0"), namespace="default")

        async def one() -> set[str]:
            return await ready_ips(plane)

        (ip,) = await eventually(one, plane=plane, what="1 ready endpoint")
        pod = await plane.api.get(PODS, "web-0", namespace="default")
        for c in pod["status"]["conditions"]:
            if c["type"] == "Ready":
                c["status"] = "False"
        await plane.api.update(PODS, pod, namespace="default", subresource="status")

        async def not_ready() -> list[Any] | None:
            ep = await plane.api.get(ENDPOINTS, "web", namespace="default")
            subsets = ep.get("subsets") or []
            return subsets if subsets and "addresses" not in subsets[0] else None

        subsets = await eventually(not_ready, plane=plane, what="address not ready")
        assert [a["ip"] for a in subsets[0]["notReadyAddresses"]] == [ip]
        assert not await slice_ips(plane)


async def test_deleting_the_service_deletes_its_endpoints_and_slices() -> None:
    async with control_plane(nodes=1) as plane:
        start(plane)
        await plane.api.create(SERVICES, web_service({"app": "web"}), namespace="default")
        await plane.api.create(PODS, web_pod("web-0"), namespace="default")

        async def some() -> set[str]:
            return await slice_ips(plane) and await ready_ips(plane)

        await eventually(some, plane=plane, what="endpoints")
        await plane.api.delete(SERVICES, "web", namespace="default")

        async def gone() -> bool:
            slices = (await plane.api.list(ENDPOINTSLICES, namespace="default",
                                           label_selector="kubernetes.io/service-name=web"))
            return not slices["items"] and not await ready_ips(plane) and \
                not any(e["metadata"]["name"] == "web" for e in
                        (await plane.api.list(ENDPOINTS, namespace="default"))["items"])

        await eventually(gone, plane=plane, what="endpoints and slices gone")


async def test_endpoints_of_a_service_without_selector_are_left_alone() -> None:
    async with control_plane(nodes=1) as plane:
        start(plane)
        await plane.api.create(SERVICES, web_service(), namespace="default")
        manual = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"},
                  "subsets": [{"addresses": [{"ip": "10.1.2.3"}],
                              "ports": [{"port": 9, "protocol": "TCP"}]}]}
        await plane.api.create(ENDPOINTS, manual, namespace="default")
        await plane.api.create(PODS, web_pod("web-0"), namespace="default")
        # A service with a selector, synced after the manual one, proves the loop ran.
        probe = web_service({"app": "web"})
        probe["metadata"]["name"] = "probe"
        await plane.api.create(SERVICES, probe, namespace="default")

        async def probe_synced() -> bool:
            try:
                ep = await plane.api.get(ENDPOINTS, "probe", namespace="default")
            except ApiError:
                return False
            return bool(ep.get("subsets"))

        await eventually(probe_synced, plane=plane, what="probe endpoints")
        ep = await plane.api.get(ENDPOINTS, "web", namespace="default")
        assert ep["subsets"] == manual["subsets"]
