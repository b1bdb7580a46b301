"""Records core/v1 Events about objects (what `kubectl describe` shows), aggregating repeats."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import EVENTS
from minikube_py.api.timefmt import rfc3339
from minikube_py.client.interface import ApiClient
from minikube_py.tasks import TaskSet

log = logging.getLogger("minikube_py.events")

NORMAL = "Normal"
WARNING = "Warning"


def object_reference(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind", ""),
        "apiVersion": obj.get("apiVersion", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


class EventRecorder:
    """Fire-and-forget: `record` never blocks the caller and never raises. A repeat of
    the same (object, reason, message) bumps the count of the existing Event."""

    def __init__(self, client: ApiClient, component: str, host: str = "", *,
                 clock: Callable[[], float] = time.time, max_in_flight: int = 256) -> None:
        self._client = client
        self._source = {"component": component, **({"host": host} if host else {})}
        self._clock = clock
        self._max_in_flight = max_in_flight
        self._tasks = TaskSet(f"events:{component}", logger=log)
        self._writes: weakref.WeakSet[asyncio.Task[None]] = weakref.WeakSet()  # for flush
        self._seen: OrderedDict[tuple[str, str, str], tuple[str, str, int]] = OrderedDict()

    def record(self, obj: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        if len(self._tasks) >= self._max_in_flight:
            log.debug("dropping event %s for %s: too many in flight", reason,
                      (obj.get("metadata") or {}).get("name"))
            return
        self._writes.add(self._tasks.spawn(f"event {reason}",
                                           self._write(obj, event_type, reason, message)))

    async def _write(self, obj: dict[str, Any], event_type: str, reason: str,
                     message: str) -> None:
        ref = object_reference(obj)
        namespace = ref.get("namespace") or "default"
        key = (ref["uid"] or ref["name"], reason, message)
        now = rfc3339(self._clock())
        try:
            seen = self._seen.get(key)
            if seen is not None:
                name, ns, count = seen
                await self._client.patch(EVENTS, name, {"count": count + 1, "lastTimestamp": now},
                                         namespace=ns)
                self._remember(key, (name, ns, count + 1))
                return
            event = {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {
                    "name": f"{ref['name']}.{time.time_ns():x}", "namespace": namespace,
                },
                "involvedObject": ref, "reason": reason, "message": message,
                "source": self._source, "firstTimestamp": now, "lastTimestamp": now,
                "count": 1, "type": event_type, "reportingComponent": self._source["component"],
                "reportingInstance": self._source.get("host", ""),
            }
            created = await self._client.create(EVENTS, event, namespace=namespace)
            self._remember(key, (created["metadata"]["name"], namespace, 1))
        except ApiError as e:
            self._seen.pop(key, None)
            log.debug("could not record event %s: %s", reason, e)
        except Exception:  # an event is never worth crashing a component over
            log.debug("could not record event %s", reason, exc_info=True)

    def _remember(self, key: tuple[str, str, str], value: tuple[str, str, int]) -> None:
        self._seen[key] = value
        self._seen.move_to_end(key)
        while len(self._seen) > 4096:
            self._seen.popitem(last=False)

    async def flush(self) -> None:
        """Wait for events in flight (tests and shutdown)."""
        while writes := [t for t in self._writes if not t.done()]:
            await asyncio.gather(*writes, return_exceptions=True)
