"""OwnedPods over the real API service: the expectations it raises when it creates and
deletes a controller's pods, and when the pod cache settles them. The pod informer is held
back where a test needs the moment before the cache has seen a write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.owners import new_controller_ref
from minikube_py.api.resources import EVENTS, PODS, REPLICASETS
from minikube_py.apiserver.service import ApiService
from minikube_py.client.informer import InformerFactory
from minikube_py.controllers.base import ControllerContext, ReconcileLoop
from minikube_py.controllers.ownedpods import OwnedPods, slow_start_batches
from minikube_py.store.memory import MemoryKV

Obj = dict[str, Any]
NS = "default"
KEY = "default/web"


@pytest.mark.parametrize(("count", "batches"), [
    (0, []), (1, [1]), (2, [1, 1]), (3, [1, 2]), (7, [1, 2, 4]), (10, [1, 2, 4, 3]),
    (16, [1, 2, 4, 8, 1]),
])
def test_creations_start_slow_and_double(count: int, batches: list[int]) -> None:
    assert slow_start_batches(count) == batches


class Idle:
    name = "owned-pods-test"

    async def sync(self, key: str) -> None:
        return None


@dataclass
class Harness:
    api: ApiService
    owner: Obj
    owned: OwnedPods
    loop: ReconcileLoop
    pods_factory: InformerFactory
    orphans: list[str] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start_pod_cache(self) -> None:
        self._tasks.append(asyncio.create_task(self.pods_factory.run()))

    async def pod_cache_synced(self) -> None:
        await asyncio.wait_for(self.pods_factory.informer(PODS).synced.wait(), 5)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    kv = MemoryKV()
    api = ApiService(kv)
    await api.start()
    owner = await api.create(REPLICASETS, {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}},
        namespace=NS)
    owner.setdefault("kind", "ReplicaSet")
    owner.setdefault("apiVersion", "apps/v1")
    # The owner cache runs from the start; the pod cache only when a test says so.
    owners_factory = InformerFactory(api)
    owners = owners_factory.informer(REPLICASETS)
    pods_factory = InformerFactory(api)
    ctx = ControllerContext(api, pods_factory)
    loop = ReconcileLoop(Idle(), ctx)
    orphans: list[str] = []
    owned = OwnedPods(ctx, loop, owners, kind="ReplicaSet",
                      recorder=ctx.recorder("owned-pods-test"),
                      orphan_owners=lambda pod: orphans)
    h = Harness(api, owner, owned, loop, pods_factory, orphans)
    h._tasks.append(asyncio.create_task(owners_factory.run()))
    await asyncio.wait_for(owners.synced.wait(), 5)
    try:
        yield h
    finally:
        for task in h._tasks:
            task.cancel()
        await asyncio.gather(*h._tasks, return_exceptions=True)
        await api.stop()
        await kv.close()


def pod_body(owner: Obj | None, *, name: str | None = None, valid: bool = True,
             finalizers: list[str] | None = None) -> Obj:
    meta: Obj = {"name": name} if name else {"generateName": "web-"}
    meta["labels"] = {"app": "web"}
    if owner is not None:
        meta["ownerReferences"] = [new_controller_ref(owner)]
    if finalizers:
        meta["finalizers"] = finalizers
    containers = [{"name": "c", "image": "busybox"}] if valid else []
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": containers}}


async def eventually(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def pod_names(api: ApiService) -> list[str]:
    return sorted(p["metadata"]["name"] for p in (await api.list(PODS, namespace=NS))["items"])


async def test_created_pods_are_awaited_until_the_pod_cache_shows_them(harness: Harness) -> None:
    await harness.owned.create(harness.owner, [pod_body(harness.owner)] * 2)
    assert len(await pod_names(harness.api)) == 2
    assert not harness.owned.satisfied(KEY)
    harness.start_pod_cache()
    await eventually(lambda: harness.owned.satisfied(KEY), "both creations seen")


async def test_a_failed_creation_is_not_awaited_and_is_reported(harness: Harness) -> None:
    with pytest.raises(ApiError) as failure:
        await harness.owned.create(harness.owner, [pod_body(harness.owner, valid=False)])
    assert failure.value.code == 422
    assert harness.owned.satisfied(KEY)

    async def reported() -> bool:
        events = (await harness.api.list(EVENTS, namespace=NS))["items"]
        return [e["message"] for e in events if e["reason"] == "FailedCreate"] == [
            f"Error creating: {failure.value}"]

    await eventually(reported, "a FailedCreate event")


async def test_creation_stops_at_the_first_failing_batch_and_awaits_only_what_was_made(
        harness: Harness) -> None:
    # Batches of 1, 2 and 4: the second holds the bad pod, the third is never tried.
    bodies = [pod_body(harness.owner), pod_body(harness.owner, valid=False),
              *[pod_body(harness.owner)] * 5]
    with pytest.raises(ApiError):
        await harness.owned.create(harness.owner, bodies)
    assert len(await pod_names(harness.api)) == 2
    harness.start_pod_cache()
    await eventually(lambda: harness.owned.satisfied(KEY), "the two made pods seen")


async def test_an_existing_named_pod_is_not_an_error_nor_awaited(harness: Harness) -> None:
    await harness.api.create(PODS, pod_body(harness.owner, name="web-0"), namespace=NS)
    await harness.owned.create(harness.owner, [pod_body(harness.owner, name="web-0")])
    assert harness.owned.satisfied(KEY)


async def test_a_pod_marked_for_deletion_counts_as_deleted(harness: Harness) -> None:
    held = await harness.api.create(
        PODS, pod_body(harness.owner, finalizers=["example.com/hold"]), namespace=NS)
    await harness.owned.delete(harness.owner, [held])
    assert not harness.owned.satisfied(KEY)
    harness.start_pod_cache()  # it lists the pod with its deletionTimestamp: going
    await eventually(lambda: harness.owned.satisfied(KEY), "the deletion seen")
    assert await pod_names(harness.api) == [held["metadata"]["name"]]


async def test_deleting_a_pod_that_is_gone_or_replaced_is_not_an_error(
        harness: Harness) -> None:
    gone = await harness.api.create(PODS, pod_body(harness.owner), namespace=NS)
    await harness.api.delete(PODS, gone["metadata"]["name"], namespace=NS)
    replaced = await harness.api.create(PODS, pod_body(harness.owner, name="web-0"),
                                        namespace=NS)
    await harness.api.delete(PODS, "web-0", namespace=NS)
    namesake = await harness.api.create(PODS, pod_body(harness.owner, name="web-0"),
                                        namespace=NS)
    await harness.owned.delete(harness.owner, [gone, replaced])
    assert harness.owned.satisfied(KEY)
    still = await harness.api.get(PODS, "web-0", namespace=NS)
    assert still["metadata"]["uid"] == namesake["metadata"]["uid"]


async def test_a_pod_of_a_former_owner_of_the_same_name_does_not_count(
        harness: Harness) -> None:
    former = {**harness.owner, "metadata": {**harness.owner["metadata"], "uid": "former"}}
    harness.owned.expectations.expect_creations(KEY, 1)
    await harness.api.create(PODS, pod_body(former), namespace=NS)
    harness.start_pod_cache()
    await harness.pod_cache_synced()
    assert not harness.owned.satisfied(KEY)
    await harness.api.create(PODS, pod_body(harness.owner), namespace=NS)
    await eventually(lambda: harness.owned.satisfied(KEY), "the owner's own pod seen")


async def test_pod_events_enqueue_the_controlling_owner_or_the_orphan_adopters(
        harness: Harness) -> None:
    harness.orphans.append("default/adopter")
    mine = await harness.api.create(PODS, pod_body(harness.owner), namespace=NS)
    orphan = await harness.api.create(PODS, pod_body(None), namespace=NS)
    harness.start_pod_cache()
    await harness.pod_cache_synced()
    queued = {await harness.loop.queue.get() for _ in range(len(harness.loop.queue))}
    assert queued == {KEY, "default/adopter"}
    assert {p["metadata"]["uid"] for p in harness.owned.in_namespace(NS)} == {
        mine["metadata"]["uid"], orphan["metadata"]["uid"]}
    assert [p["metadata"]["uid"] for p in harness.owned.controlled_by(harness.owner)] == [
        mine["metadata"]["uid"]]
