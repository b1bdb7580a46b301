"""The node route controller over the real API service and a route table in memory: it
follows the Node objects, adopts what it left, and outlives routes the kernel refuses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from minikube_py.api.resources import EVENTS, NODES
from minikube_py.apiserver.service import ApiService
from minikube_py.client.informer import InformerFactory
from minikube_py.runtime.hostnet import (
    METRIC_FLOOR,
    Route,
    cluster_routes,
    peer_route,
)
from minikube_py.runtime.noderoute_controller import NodeRouteController
from tests.conditions import until

BASE = METRIC_FLOOR + 40
CLUSTER = "10.244.0.0/16"
INVALID_GATEWAY = "Error: Nexthop has invalid gateway."


@dataclass
class MemoryRouteTable:
    """A main table as `ip` shows this cluster's routes: keyed by dst + metric, the device
    filled in by the "kernel", and next hops in `off_link` refused as the kernel does."""

    routes: dict[tuple[str, int], Route] = field(default_factory=dict)
    off_link: set[str] = field(default_factory=set)
    unreadable: str = ""  # the error reading the table fails with, if any
    reads: int = 0
    replaced: list[Route] = field(default_factory=list)

    async def cluster_routes(self) -> Sequence[Route]:
        self.reads += 1
        if self.unreadable:
            raise RuntimeError(self.unreadable)
        return list(self.routes.values())

    async def replace(self, route: Route) -> None:
        if route.via in self.off_link:
            raise RuntimeError(f"ip route replace {' '.join(route.args())} failed: "
                               f"{INVALID_GATEWAY}")
        self.replaced.append(route)
        self.routes[route.dst, route.metric] = Route(route.dst, route.type, "veth0",
                                                     route.src, route.metric, via=route.via)

    async def delete(self, route: Route) -> None:
        self.routes.pop((route.dst, route.metric), None)

    def peers(self) -> dict[str, str]:
        """dst -> via of every route with a next hop."""
        return {r.dst: r.via for r in self.routes.values() if r.via}


def node(name: str, pod_cidr: str, ip: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}


@dataclass
class Running:
    api: ApiService
    table: MemoryRouteTable
    controller: NodeRouteController
    task: asyncio.Task[None]


@pytest.fixture
async def table() -> MemoryRouteTable:
    return MemoryRouteTable()


@pytest.fixture
async def running(api: ApiService, table: MemoryRouteTable, tmp_path: Path,
                  ) -> AsyncIterator[Callable[..., Any]]:
    """Starts the informers and the controller of node n1 (after the test made its nodes)."""
    tasks: list[asyncio.Task[None]] = []

    async def start(**options: Any) -> Running:
        factory = InformerFactory(api)
        forward = tmp_path / "ip_forward"
        forward.write_text("0\n")
        settings: dict[str, Any] = {"table": table, "ip_forward_path": str(forward),
                                    "retry_initial": 0.01, "retry_max": 0.05, **options}
        controller = NodeRouteController(api, factory, "n1", CLUSTER, BASE, **settings)
        tasks.append(asyncio.create_task(factory.run()))
        task = asyncio.create_task(controller.run())
        tasks.append(task)
        return Running(api, table, controller, task)

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_first_sync_routes_every_other_node_then_says_ready(
        api: ApiService, table: MemoryRouteTable, running: Callable[..., Any]) -> None:
    for n in (node("n1", "10.244.0.0/24", "10.201.0.11"),
              node("n2", "10.244.1.0/24", "10.201.0.12"),
              node("n3", "10.244.2.0/24", "10.201.0.13")):
        await api.create(NODES, n)
    r = await running()
    await asyncio.wait_for(r.controller.ready.wait(), 5)
    assert table.peers() == {"10.244.1.0/24": "10.201.0.12", "10.244.2.0/24": "10.201.0.13"}


async def test_forwarding_is_turned_on_with_the_first_peer_and_not_before(
        api: ApiService, tmp_path: Path, running: Callable[..., Any]) -> None:
    await api.create(NODES, node("n1", "10.244.0.0/24", "10.201.0.11"))
    r = await running()
    await asyncio.wait_for(r.controller.ready.wait(), 5)
    assert (tmp_path / "ip_forward").read_text() == "0\n"  # alone: nothing to forward
    await api.create(NODES, node("n2", "10.244.1.0/24", "10.201.0.12"))
    await until(lambda: bool(r.table.peers()), "n2's route")
    assert (tmp_path / "ip_forward").read_text() == "1"


async def test_forwarding_that_cannot_be_turned_on_is_said_and_routes_still_kept(
        api: ApiService, table: MemoryRouteTable, tmp_path: Path, running: Callable[..., Any],
        caplog: pytest.LogCaptureFixture) -> None:
    await api.create(NODES, node("n2", "10.244.1.0/24", "10.201.0.12"))
    r = await running(ip_forward_path=str(tmp_path / "no such dir" / "ip_forward"))
    await asyncio.wait_for(r.controller.ready.wait(), 5)
    assert "IPv4 forwarding could not be turned on" in caplog.text
    assert table.peers() == {"10.244.1.0/24": "10.201.0.12"}


async def test_routes_follow_nodes_that_come_move_and_go(
        api: ApiService, table: MemoryRouteTable, running: Callable[..., Any]) -> None:
    r = await running()
    await asyncio.wait_for(r.controller.ready.wait(), 5)
    await api.create(NODES, node("n2", "10.244.1.0/24", "10.201.0.12"))
    await until(lambda: table.peers() == {"10.244.1.0/24": "10.201.0.12"}, "n2's route")
    await api.patch(NODES, "n2", {"status": {"addresses": [
        {"type": "InternalIP", "address": "10.201.0.22"}]}}, subresource="status")
    await until(lambda: table.peers() == {"10.244.1.0/24": "10.201.0.22"}, "n2's new route")
    await api.delete(NODES, "n2")
    await until(lambda: table.peers() == {}, "n2's route to go")


async def test_a_node_status_heartbeat_does_not_read_the_route_table(
        api: ApiService, table: MemoryRouteTable, running: Callable[..., Any]) -> None:
    await api.create(NODES, node("n2", "10.244.1.0/24", "10.201.0.12"))
    r = await running()
    await asyncio.wait_for(r.controller.ready.wait(), 5)
    reads = table.reads
    beat = await api.patch(NODES, "n2", {"status": {"conditions": [
        {"type": "Ready", "status": "True"}]}}, subresource="status")
    informer = r.controller.informers.informer(NODES)
    rv = beat["metadata"]["resourceVersion"]
    await until(lambda: (informer.get("n2") or {})["metadata"]["resourceVersion"] == rv,
                "the heartbeat to reach the cache")
    await api.create(NODES, node("n3", "10.244.2.0/24", "10.201.0.13"))
    await until(lambda: "10.244.2.0/24" in table.peers(), "n3's route")
    assert table.reads == reads + 1  # n3's arrival only


async def test_routes_left_by_an_earlier_run_are_adopted_and_stale_ones_removed(
        api: ApiService, table: MemoryRouteTable, running: Callable[..., Any]) -> None:
    ours = cluster_routes(bridge="mkpy0", pod_cidr="10.244.0.0/24", cluster_cidr=CLUSTER,
                          service_cidr="10.96.0.0/12", metric_base=BASE)
    theirs = peer_route("10.244.7.0/24", "10.201.0.17", BASE + 4)  # another cluster's
    kept = peer_route("10.244.1.0/24", "10.201.0.12", BASE)
    stale = peer_route("10.244.9.0/24", "10.201.0.19", BASE)
    for route in (*ours, theirs, kept, stale):
        table.routes[route.dst, route.metric] = route
    await api.create(NODES, node("n2", "10.244.1.0/24", "10.201.0.12"))
    r = await running()
    await asyncio.wait_for(r.controller.ready.wait(), 5)
    assert table.replaced == []  # the route to n2 was there already
    assert sorted(table.routes.values(), key=lambda x: (x.dst, x.metric)) == sorted(
        (*ours, theirs, kept), key=lambda x: (x.dst, x.metric))


async def test_a_refused_route_is_warned_once_retried_and_added_once_it_can_be(
        api: ApiService, table: MemoryRouteTable, running: Callable[..., Any],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "minikube_py.noderoutes")
    table.off_link.add("10.201.9.12")
    await api.create(NODES, node("n2", "10.244.1.0/24", "10.201.9.12"))
    await api.create(NODES, node("n3", "10.244.2.0/24", "10.201.0.13"))
    r = await running()
    await asyncio.wait_for(r.controller.ready.wait(), 5)  # the refusal does not hold it up
    assert table.peers() == {"10.244.2.0/24": "10.201.0.13"}
    first = table.reads
    await until(lambda: table.reads >= first + 3, "retries with backoff")
    warnings = [m for m in caplog.messages if "cannot add the route to node n2" in m]
    assert len(warnings) == 1 and INVALID_GATEWAY in warnings[0]
    table.off_link.clear()  # the link came up: the next retry gets it in, no change needed
    await until(lambda: table.peers().get("10.244.1.0/24") == "10.201.9.12", "n2's route")
    assert not r.task.done()


async def test_a_refused_route_is_an_event_on_its_node(
        api: ApiService, table: MemoryRouteTable, running: Callable[..., Any]) -> None:
    table.off_link.add("10.201.9.12")
    await api.create(NODES, node("n2", "10.244.1.0/24", "10.201.9.12"))
    r = await running()
    await asyncio.wait_for(r.controller.ready.wait(), 5)
    found: list[dict[str, Any]] = []

    async def recorded() -> bool:
        items = (await api.list(EVENTS, namespace="default"))["items"]
        found[:] = [e for e in items if e["reason"] == "FailedToCreateRoute"]
        return bool(found)

    await until(recorded, "the FailedToCreateRoute event")
    (event,) = found
    assert event["type"] == "Warning" and event["involvedObject"]["name"] == "n2"
    assert INVALID_GATEWAY in event["message"]


async def test_a_route_table_that_cannot_be_read_is_retried_not_fatal(
        api: ApiService, table: MemoryRouteTable, running: Callable[..., Any],
        caplog: pytest.LogCaptureFixture) -> None:
    table.unreadable = "ip: command not found"
    await api.create(NODES, node("n2", "10.244.1.0/24", "10.201.0.12"))
    r = await running()
    await until(lambda: table.reads >= 3, "retries")
    assert not r.controller.ready.is_set() and not r.task.done()
    assert sum("cannot read the route table" in m for m in caplog.messages) == 1
    table.unreadable = ""
    await asyncio.wait_for(r.controller.ready.wait(), 5)
    assert table.peers() == {"10.244.1.0/24": "10.201.0.12"}


async def test_cancelling_leaves_the_routes_in_place(
        api: ApiService, table: MemoryRouteTable, running: Callable[..., Any]) -> None:
    await api.create(NODES, node("n2", "10.244.1.0/24", "10.201.0.12"))
    r = await running()
    await asyncio.wait_for(r.controller.ready.wait(), 5)
    r.task.cancel()
    await asyncio.gather(r.task, return_exceptions=True)
    assert table.peers() == {"10.244.1.0/24": "10.201.0.12"}
