"""The reconcile loop every controller runs, over the real API service: no sync before the
controller's informers have filled; periodic resyncs; one record of informers per
controller."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from minikube_py.api.resources import CONFIGMAPS, PODS, SERVICES
from minikube_py.apiserver.service import ApiService
from minikube_py.client.informer import InformerFactory
from minikube_py.controllers.base import ControllerContext, ReconcileLoop
from tests.conditions import until


@dataclass
class Recorder:
    """A reconciler that notes each sync and whether its caches were full then."""

    ctx: ControllerContext
    name: str = "recorder"
    synced: list[tuple[str, bool]] = field(default_factory=list)

    async def sync(self, key: str) -> None:
        full = all(i.synced.is_set() for i in self.ctx.informers.taken())
        self.synced.append((key, full))


async def test_no_sync_runs_before_every_informer_the_controller_took_has_filled(
        api: ApiService) -> None:
    factory = InformerFactory(api)
    ctx = ControllerContext(api, factory)
    reconciler = Recorder(ctx)
    loop = ReconcileLoop(reconciler, ctx)
    ctx.informers.informer(PODS)
    ctx.informers.informer(CONFIGMAPS, namespace="default")
    loop.enqueue_key("default/x")
    run = asyncio.create_task(loop.run())
    informers: asyncio.Task[None] | None = None
    try:
        for _ in range(20):
            await asyncio.sleep(0)
        assert reconciler.synced == []  # the informers have not even started
        informers = asyncio.create_task(factory.run())
        await until(lambda: bool(reconciler.synced), "the first sync")
        assert reconciler.synced == [("default/x", True)]
    finally:
        for task in (run, informers):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)


async def test_a_resync_enqueues_its_keys_every_period_once_synced(api: ApiService) -> None:
    factory = InformerFactory(api)
    ctx = ControllerContext(api, factory)
    reconciler = Recorder(ctx)
    loop = ReconcileLoop(reconciler, ctx)
    ctx.informers.informer(CONFIGMAPS)
    loop.resync_every(0.01, lambda: ["a", "b"])
    tasks = [asyncio.create_task(loop.run()), asyncio.create_task(factory.run())]
    try:
        await until(lambda: [k for k, _ in reconciler.synced].count("b") >= 3,
                    "three rounds of resync")
        assert all(full for _, full in reconciler.synced)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_each_controller_context_records_only_its_own_informers(api: ApiService) -> None:
    shared = ControllerContext(api, InformerFactory(api))
    one, other = shared.for_controller(), shared.for_controller()
    pods = one.informers.informer(PODS)
    services = other.informers.informer(SERVICES)
    assert one.informers.taken() == [pods]
    assert other.informers.taken() == [services]
    assert other.informers.informer(PODS) is pods  # the cache itself is shared
    assert shared.informers.taken() == []
