"""Watch semantics: initial state, resume from a resourceVersion, 410, selector transitions."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS, PODS
from minikube_py.apiserver.service import ApiService
from minikube_py.client.interface import WatchEvent

from .conftest import pod_body

pytestmark = pytest.mark.both_stores  # each test runs on the in-memory store and on etcd


async def next_event(it: AsyncIterator[WatchEvent]) -> WatchEvent:
    return await asyncio.wait_for(it.__anext__(), 2)


async def test_watch_without_version_starts_with_current_state(svc: ApiService) -> None:
    await svc.create(PODS, pod_body("a"), namespace="default")
    w = svc.watch(PODS, namespace="default")
    ev = await next_event(w)
    assert (ev.type, ev.object["metadata"]["name"]) == ("ADDED", "a")
    await svc.create(PODS, pod_body("b"), namespace="default")
    ev = await next_event(w)
    assert (ev.type, ev.object["metadata"]["name"]) == ("ADDED", "b")
    await w.aclose()  # type: ignore[attr-defined]


async def test_watch_from_resource_version_replays_later_changes(svc: ApiService) -> None:
    a = await svc.create(PODS, pod_body("a"), namespace="default")
    rv = a["metadata"]["resourceVersion"]
    await svc.patch(PODS, "a", {"metadata": {"labels": {"x": "1"}}}, namespace="default")
    await svc.delete(PODS, "a", namespace="default")
    w = svc.watch(PODS, namespace="default", resource_version=rv)
    types = [(await next_event(w)).type for _ in range(2)]
    assert types == ["MODIFIED", "DELETED"]
    await w.aclose()  # type: ignore[attr-defined]


async def test_deleted_event_carries_deletion_revision(svc: ApiService) -> None:
    a = await svc.create(PODS, pod_body("a"), namespace="default")
    w = svc.watch(PODS, namespace="default", resource_version=a["metadata"]["resourceVersion"])
    await svc.delete(PODS, "a", namespace="default")
    ev = await next_event(w)
    assert ev.type == "DELETED"
    assert int(ev.object["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"])
    await w.aclose()  # type: ignore[attr-defined]


async def test_watch_from_compacted_version_is_gone(svc: ApiService) -> None:
    a = await svc.create(PODS, pod_body("a"), namespace="default")
    for i in range(3):
        await svc.patch(PODS, "a", {"metadata": {"labels": {"i": str(i)}}}, namespace="default")
    await svc.kv.compact(svc.kv.revision)
    # Force the direct store path: pretend the fan-out's history has moved on.
    svc.fanout._history_start = svc.kv.revision
    w = svc.watch(PODS, namespace="default", resource_version=a["metadata"]["resourceVersion"])
    with pytest.raises(ApiError) as e:
        await next_event(w)
    assert e.value.code == 410


async def test_label_selector_transitions(svc: ApiService) -> None:
    body = pod_body("a")
    body["metadata"]["labels"] = {"role": "x"}
    await svc.create(PODS, body, namespace="default")
    w = svc.watch(PODS, namespace="default", label_selector="role=y",
                  resource_version=str(svc.kv.revision))
    await svc.patch(PODS, "a", {"metadata": {"labels": {"role": "y"}}}, namespace="default")
    assert (await next_event(w)).type == "ADDED"
    await svc.patch(PODS, "a", {"metadata": {"labels": {"extra": "1"}}}, namespace="default")
    assert (await next_event(w)).type == "MODIFIED"
    await svc.patch(PODS, "a", {"metadata": {"labels": {"role": "x"}}}, namespace="default")
    ev = await next_event(w)
    assert ev.type == "DELETED" and ev.object["metadata"]["labels"]["role"] == "x"
    await w.aclose()  # type: ignore[attr-defined]


async def test_field_selector_watch_for_a_node(svc: ApiService) -> None:
    w = svc.watch(PODS, field_selector="spec.nodeName=n1", resource_version=str(svc.kv.revision))
    await svc.create(PODS, pod_body("a"), namespace="default")
    await svc.create(PODS, pod_body("b"), namespace="default")
    await svc.create(PODS, {"target": {"name": "n1"}}, namespace="default", name="b",
                     subresource="binding")
    ev = await next_event(w)
    assert (ev.type, ev.object["metadata"]["name"]) == ("ADDED", "b")
    await w.aclose()  # type: ignore[attr-defined]


async def test_a_watch_of_one_name_sees_that_object_only_in_every_namespace(
        svc: ApiService) -> None:
    w = svc.watch(CONFIGMAPS, field_selector="metadata.name=ca",
                  resource_version=str(svc.kv.revision))
    await svc.create(CONFIGMAPS, {"metadata": {"name": "not-ca"}}, namespace="default")
    await svc.create(CONFIGMAPS, {"metadata": {"name": "xca"}}, namespace="default")
    await svc.create(CONFIGMAPS, {"metadata": {"name": "ca"}}, namespace="kube-system")
    await svc.create(CONFIGMAPS, {"metadata": {"name": "ca"}, "data": {"k": "v"}},
                     namespace="default")
    await svc.delete(CONFIGMAPS, "ca", namespace="kube-system")
    seen = [await next_event(w) for _ in range(3)]
    assert [(e.type, e.object["metadata"]["namespace"]) for e in seen] == [
        ("ADDED", "kube-system"), ("ADDED", "default"), ("DELETED", "kube-system")]
    await w.aclose()  # type: ignore[attr-defined]


async def test_bookmarks_when_allowed(svc: ApiService) -> None:
    w = svc.watch(CONFIGMAPS, namespace="default", allow_bookmarks=True,
                  resource_version=str(svc.kv.revision))
    await svc.create(PODS, pod_body("a"), namespace="default")  # moves the revision only
    ev = await next_event(w)
    assert ev.type == "BOOKMARK"
    assert ev.object["metadata"]["resourceVersion"] == str(svc.kv.revision)
    await w.aclose()  # type: ignore[attr-defined]


async def test_watch_timeout_ends_stream(svc: ApiService) -> None:
    events = [e async for e in svc.watch(CONFIGMAPS, namespace="default", timeout_seconds=0,
                                         resource_version=str(svc.kv.revision))]
    assert events == []


async def test_many_watchers_share_one_store_watch(svc: ApiService) -> None:
    watchers = [svc.watch(PODS, resource_version=str(svc.kv.revision)) for _ in range(100)]
    await svc.create(PODS, pod_body("a"), namespace="default")
    got = await asyncio.gather(*(next_event(w) for w in watchers))
    assert {e.type for e in got} == {"ADDED"}
    assert svc.fanout.watcher_count == 100
    for w in watchers:
        await w.aclose()  # type: ignore[attr-defined]
    assert svc.fanout.watcher_count == 0
