"""Informers over the real API service: the cache follows the API through handler bugs,
expired watches and re-lists."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from minikube_py.api.errors import gone
from minikube_py.api.resources import CONFIGMAPS
from minikube_py.apiserver.service import ApiService
from minikube_py.client.informer import Informer, InformerFactory
from minikube_py.client.interface import WatchEvent
from minikube_py.store.memory import MemoryKV
from minikube_py.tasks import ChildTaskFailed
from tests.conditions import until


def configmap(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


async def test_a_failing_handler_does_not_stop_the_cache_or_other_handlers(
        api: ApiService) -> None:
    factory = InformerFactory(api)
    inf = factory.informer(CONFIGMAPS, namespace="default")
    seen: list[str] = []

    def broken(obj: dict[str, Any]) -> None:
        raise KeyError("a bug in some controller")

    inf.add_handlers(on_add=broken)
    inf.add_handlers(on_add=lambda obj: seen.append(obj["metadata"]["name"]))
    task = asyncio.create_task(factory.run())
    try:
        for name in ("a", "b"):
            await api.create(CONFIGMAPS, configmap(name), namespace="default")
        await until(lambda: seen == ["a", "b"], "both adds to reach the healthy handler")
        assert sorted(inf.keys()) == ["default/a", "default/b"]
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class ExpiringWatches:
    """The real service, except that its first watch answers 410 Gone (as the API does for
    a compacted resourceVersion) after running `meanwhile`: what changed while it was away."""

    def __init__(self, api: ApiService, meanwhile: Callable[[], Awaitable[Any]]) -> None:
        self.api = api
        self.meanwhile: Callable[[], Awaitable[Any]] | None = meanwhile
        self.lists = 0

    async def list(self, *args: Any, **kw: Any) -> dict[str, Any]:
        self.lists += 1
        return await self.api.list(*args, **kw)

    async def watch(self, *args: Any, **kw: Any) -> AsyncIterator[WatchEvent]:
        if self.meanwhile is not None:
            change, self.meanwhile = self.meanwhile, None
            await change()
            raise gone("too old resource version")
        async for event in self.api.watch(*args, **kw):
            yield event


async def test_an_expired_watch_relists_and_reports_what_went_away(api: ApiService) -> None:
    await api.create(CONFIGMAPS, configmap("stays"), namespace="default")
    await api.create(CONFIGMAPS, configmap("goes"), namespace="default")
    client = ExpiringWatches(api, lambda: api.delete(CONFIGMAPS, "goes", namespace="default"))
    inf = Informer(client, CONFIGMAPS, namespace="default")  # type: ignore[arg-type]
    deleted: list[str] = []
    inf.add_handlers(on_delete=lambda obj: deleted.append(obj["metadata"]["name"]))
    task = asyncio.create_task(inf.run())
    try:
        await until(lambda: client.lists == 2 and inf.keys() == ["default/stays"],
                    "a re-list after 410")
        assert deleted == ["goes"]
        await api.create(CONFIGMAPS, configmap("new"), namespace="default")
        await until(lambda: "default/new" in inf.keys(), "the watch after the re-list")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_dead_informer_stops_the_factory_loudly(api: ApiService) -> None:
    factory = InformerFactory(api)
    inf = factory.informer(CONFIGMAPS)

    async def crash() -> None:
        raise RuntimeError("bug")

    inf.run = crash  # type: ignore[method-assign]
    with pytest.raises(ChildTaskFailed, match="stopped"):
        await asyncio.wait_for(factory.run(), 5)


async def test_a_metadata_only_informer_keeps_only_kind_api_version_and_metadata() -> None:
    kv = MemoryKV()
    api = ApiService(kv)
    await api.start()
    try:
        await api.create(CONFIGMAPS, {"metadata": {"name": "m"}, "data": {"k": "v" * 100}},
                         namespace="default")
        factory = InformerFactory(api)
        inf = factory.informer(CONFIGMAPS, metadata_only=True)
        task = asyncio.create_task(factory.run())
        await asyncio.wait_for(inf.synced.wait(), 5)
        cached = inf.get("default/m")
        assert cached is not None and set(cached) == {"apiVersion", "kind", "metadata"}
        await api.create(CONFIGMAPS, {"metadata": {"name": "n"}, "data": {"k": "v"}},
                         namespace="default")
        await until(lambda: inf.get("default/n") is not None, "the watch to deliver n")
        assert "data" not in inf.get("default/n")  # type: ignore[operator]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await api.stop()
        await kv.close()


async def test_a_transforming_informer_caches_and_hands_out_what_the_transform_keeps(
        api: ApiService) -> None:
    def name_and_size(obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        return {"metadata": {k: meta[k] for k in ("name", "namespace", "resourceVersion")},
                "size": len(obj.get("data", {}).get("k", ""))}

    await api.create(CONFIGMAPS, {"metadata": {"name": "m"}, "data": {"k": "v" * 100}},
                     namespace="default")
    inf = Informer(api, CONFIGMAPS, transform=name_and_size)
    added: list[dict[str, Any]] = []
    deleted: list[dict[str, Any]] = []
    inf.add_handlers(on_add=added.append, on_delete=deleted.append)
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 5)
        assert inf.get("default/m") == added[0]
        assert added[0]["size"] == 100 and "data" not in added[0]
        await api.create(CONFIGMAPS, {"metadata": {"name": "n"}, "data": {"k": "vv"}},
                         namespace="default")
        await until(lambda: len(added) == 2, "the watch to deliver n")
        assert added[1]["size"] == 2
        await api.delete(CONFIGMAPS, "m", namespace="default")
        await until(lambda: len(deleted) == 1, "the watch to deliver m's deletion")
        assert deleted[0]["size"] == 100 and inf.get("default/m") is None
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_full_request_makes_an_earlier_metadata_only_informer_full() -> None:
    factory = InformerFactory(None)  # type: ignore[arg-type]
    meta = factory.informer(CONFIGMAPS, metadata_only=True)
    full = factory.informer(CONFIGMAPS)
    assert full is meta and not full.metadata_only
    assert factory.informer(CONFIGMAPS, metadata_only=True) is full
