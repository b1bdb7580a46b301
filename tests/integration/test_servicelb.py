"""The service load balancer on a control plane with simulated nodes: LoadBalancer Services
get pool addresses in their status, one event when the pool is used up, none for another
class; addresses come back on delete and type change, and stay across a restart."""

from __future__ import annotations

from typing import Any

from minikube_py.api.resources import EVENTS, NODES, SERVICES
from minikube_py.apiserver.authn import KUBE_CONTROLLER_MANAGER
from minikube_py.client.informer import InformerFactory
from minikube_py.controllers.base import ControllerContext
from minikube_py.controllers.servicelb import ServiceLbController
from tests.integration.harness import ControlPlane, control_plane, eventually

POOL = "10.113.9.0/30"  # two addresses


def lb_service(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"type": "LoadBalancer", "selector": {"app": name},
                     "ports": [{"port": 80, "targetPort": 8080}], **spec}}


async def ingress(plane: ControlPlane, name: str) -> list[str]:
    svc = await plane.api.get(SERVICES, name, namespace="default")
    return [i["ip"] for i in ((svc.get("status") or {}).get("loadBalancer") or {})
            .get("ingress") or []]


async def reasons(plane: ControlPlane, name: str) -> list[str]:
    events = (await plane.api.list(EVENTS, namespace="default"))["items"]
    return [e["reason"] for e in events if e["involvedObject"]["name"] == name]


def start(plane: ControlPlane, name: str = "service-lb") -> ServiceLbController:
    client = plane.api.as_user(KUBE_CONTROLLER_MANAGER)
    informers = InformerFactory(client)
    controller = ServiceLbController(ControllerContext(client, informers), lb_cidr=POOL)
    plane.start(f"{name}-informers", informers.run)
    plane.start(name, controller.run)
    return controller


async def test_addresses_are_allocated_refused_when_used_up_and_released() -> None:
    async with control_plane(nodes=1, scheduler=False) as plane:
        start(plane)
        for name in ("a", "b"):
            await plane.api.create(SERVICES, lb_service(name), namespace="default")

        async def both() -> list[list[str]] | None:
            got = [await ingress(plane, n) for n in ("a", "b")]
            return got if all(got) else None

        got = await eventually(both, what="both load balancers", plane=plane)
        assert sorted(ip for ips in got for ip in ips) == ["10.113.9.1", "10.113.9.2"]
        svc = await plane.api.get(SERVICES, "a", namespace="default")
        assert svc["status"]["loadBalancer"]["ingress"][0]["ipMode"] == "VIP"
        assert {"EnsuringLoadBalancer", "EnsuredLoadBalancer"} <= set(await reasons(plane, "a"))

        await plane.api.create(SERVICES, lb_service("c"), namespace="default")

        async def refused() -> list[str] | None:
            found = [r for r in await reasons(plane, "c") if r == "AllocationFailed"]
            return found or None

        assert await eventually(refused, what="AllocationFailed", plane=plane) == \
            ["AllocationFailed"]
        assert await ingress(plane, "c") == []

        # A deleted Service's address goes to the one waiting.
        freed = (await ingress(plane, "a"))[0]
        await plane.api.delete(SERVICES, "a", namespace="default")

        async def handed_on() -> list[str] | None:
            return await ingress(plane, "c") or None

        assert await eventually(handed_on, what="c's address", plane=plane) == [freed]

        # A type change takes the address away, and the next Service gets it.
        b_ip = (await ingress(plane, "b"))[0]
        await plane.api.patch(SERVICES, "b", {"spec": {"type": "ClusterIP"}},
                              namespace="default")

        async def cleared() -> bool:
            return await ingress(plane, "b") == []

        await eventually(cleared, what="b's status cleared", plane=plane)
        await plane.api.create(SERVICES, lb_service("d"), namespace="default")

        async def d_has_it() -> list[str] | None:
            return await ingress(plane, "d") or None

        assert await eventually(d_has_it, what="d's address", plane=plane) == [b_ip]


async def test_a_service_of_another_class_is_left_alone() -> None:
    async with control_plane(nodes=1, scheduler=False) as plane:
        start(plane)
        await plane.api.create(SERVICES, lb_service("other", loadBalancerClass="example.com/lb"),
                               namespace="default")
        await plane.api.create(SERVICES, lb_service("ours"), namespace="default")

        async def ours_done() -> list[str] | None:
            return await ingress(plane, "ours") or None

        # Both were synced in order by the one worker: "other" came first.
        await eventually(ours_done, what="our load balancer", plane=plane)
        assert await ingress(plane, "other") == [] and await reasons(plane, "other") == []


async def test_a_restarted_controller_keeps_every_address() -> None:
    async with control_plane(nodes=1, scheduler=False) as plane:
        first = start(plane, "first")
        await plane.api.create(SERVICES, lb_service("a"), namespace="default")
        await plane.api.create(SERVICES, lb_service("b", loadBalancerIP="10.113.9.2"),
                               namespace="default")

        async def both() -> dict[str, list[str]] | None:
            got = {n: await ingress(plane, n) for n in ("a", "b")}
            return got if all(got.values()) else None

        before = await eventually(both, what="both load balancers", plane=plane)
        assert before == {"a": ["10.113.9.1"], "b": ["10.113.9.2"]}
        for task in plane._tasks[-2:]:
            task.cancel()
        del first
        # A Service created while no controller runs would take the lowest free address
        # (a's) if the new controller had not rebuilt its pool from the statuses first.
        await plane.api.create(SERVICES, lb_service("c"), namespace="default")
        start(plane, "second")

        async def c_refused() -> bool:
            return "AllocationFailed" in await reasons(plane, "c")

        await eventually(c_refused, what="c refused: the pool is still full", plane=plane)
        assert {n: await ingress(plane, n) for n in ("a", "b", "c")} == {
            **before, "c": []}


async def test_each_reason_for_no_address_is_one_event() -> None:
    async with control_plane(nodes=1, scheduler=False) as plane:
        start(plane)
        for name in ("a", "b", "c"):
            await plane.api.create(SERVICES, lb_service(name), namespace="default")

        async def messages() -> list[str]:
            events = (await plane.api.list(EVENTS, namespace="default"))["items"]
            return sorted(e["message"] for e in events if e["reason"] == "AllocationFailed")

        async def refusals(n: int) -> list[str] | None:
            found = await messages()
            return found if len(found) >= n else None

        (used_up,) = await eventually(lambda: refusals(1), what="a refusal", plane=plane)
        assert "used up" in used_up
        waiting = [n for n in ("a", "b", "c") if not await ingress(plane, n)][0]
        await plane.api.patch(SERVICES, waiting, {"spec": {"loadBalancerIP": "10.9.9.9"}},
                              namespace="default")
        found = await eventually(lambda: refusals(2), what="a second refusal", plane=plane)
        assert any("10.9.9.9: it is not in the load-balancer pool" in m for m in found)
        assert len(await messages()) == 2


async def test_without_a_pool_load_balancers_get_the_node_addresses_one_per_port() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        await add_node(plane, "n1", "10.200.0.11")
        client = plane.api.as_user(KUBE_CONTROLLER_MANAGER)
        informers = InformerFactory(client)
        plane.start("informers", informers.run)
        plane.start("service-lb", ServiceLbController(
            ControllerContext(client, informers), reserved=[("UDP", 53)]).run)
        await plane.api.create(SERVICES, lb_service("a"), namespace="default")

        async def a_has(want: list[str]) -> bool:
            return await ingress(plane, "a") == want

        await eventually(lambda: a_has(["10.200.0.11"]), what="a at the node", plane=plane)
        await plane.api.create(SERVICES, lb_service("b"), namespace="default")

        async def b_refused() -> bool:
            return "AllocationFailed" in await reasons(plane, "b")

        await eventually(b_refused, what="b refused port 80", plane=plane)
        assert await ingress(plane, "b") == []
        # Another node: every load balancer answers there too.
        await add_node(plane, "n2", "10.200.0.12")
        await eventually(lambda: a_has(["10.200.0.11", "10.200.0.12"]),
                         what="a at both nodes", plane=plane)


async def add_node(plane: ControlPlane, name: str, ip: str) -> None:
    await plane.api.create(NODES, {"metadata": {"name": name}, "status": {
        "addresses": [{"type": "InternalIP", "address": ip}]}})
