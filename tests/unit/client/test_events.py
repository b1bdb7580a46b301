"""The event recorder: fire-and-forget writes, repeats aggregated into one Event."""

from __future__ import annotations

from minikube_py.api.resources import CONFIGMAPS, EVENTS
from minikube_py.apiserver.service import ApiService
from minikube_py.client.events import NORMAL, EventRecorder


async def test_a_repeated_event_is_one_event_with_a_count(api: ApiService) -> None:
    cm = await api.create(CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "cm"}}, namespace="default")
    recorder = EventRecorder(api, "test-controller", clock=lambda: 1_700_000_000.0)
    recorder.record(cm, NORMAL, "Synced", "all good")
    await recorder.flush()
    recorder.record(cm, NORMAL, "Synced", "all good")
    await recorder.flush()
    events = (await api.list(EVENTS, namespace="default"))["items"]
    assert [(e["reason"], e["count"], e["source"]["component"]) for e in events] == [
        ("Synced", 2, "test-controller")]


async def test_an_event_that_cannot_be_written_is_dropped_quietly(api: ApiService) -> None:
    recorder = EventRecorder(api, "test-controller")
    recorder.record({"kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "nope"}},
                    NORMAL, "Synced", "all good")
    await recorder.flush()  # the namespace does not exist: the write fails, nothing raises
    assert (await api.list(EVENTS))["items"] == []
