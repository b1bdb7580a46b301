"""Node IPAM: every node gets a pod range; when the cluster range is used up, a node waits
for a released one (one event), it does not retry in a loop."""

from __future__ import annotations

import logging

import pytest

from minikube_py.api.resources import EVENTS, NODES
from minikube_py.controllers.nodeipam import NodeIpamController
from tests.integration.harness import control_plane, eventually


async def pod_cidr(plane, name: str) -> str:  # type: ignore[no-untyped-def]
    node = await plane.api.get(NODES, name)
    return str((node.get("spec") or {}).get("podCIDR") or "")


async def test_a_node_waits_for_a_released_range_with_one_event_not_a_retry_loop(
        caplog: pytest.LogCaptureFixture) -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        for name in ("a", "b", "c"):
            await plane.api.create(NODES, {"metadata": {"name": name}})
        # A /23 holds two /24s: the third node finds the range used up.
        ipam = NodeIpamController(plane.ctx, cluster_cidr="10.250.0.0/23")
        plane.start("node-ipam", ipam.run)

        async def two_assigned() -> list[str] | None:
            cidrs = [await pod_cidr(plane, n) for n in ("a", "b", "c")]
            return cidrs if sum(1 for c in cidrs if c) == 2 else None

        cidrs = await eventually(two_assigned, what="two nodes with a pod range")
        waiting = ["a", "b", "c"][cidrs.index("")]

        async def one_event() -> list[object] | None:
            events = (await plane.api.list(EVENTS, namespace="default"))["items"]
            found = [e for e in events if e.get("reason") == "CIDRNotAvailable"]
            return found or None

        found = await eventually(one_event, what="the CIDRNotAvailable event")
        assert len(found) == 1 and found[0]["involvedObject"]["name"] == waiting
        with caplog.at_level(logging.WARNING, "minikube_py.workqueue"):
            holder = next(n for n in ("a", "b", "c") if n != waiting)
            freed = await pod_cidr(plane, holder)
            await plane.api.delete(NODES, holder)

            async def handed_on() -> str | None:
                return await pod_cidr(plane, waiting) or None

            assert await eventually(handed_on, what="the released range") == freed
        assert "syncing" not in caplog.text  # no failed sync, so no retry
