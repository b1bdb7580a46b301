"""Events, in core/v1 and events.k8s.io/v1: they expire an hour after they are written,
and a PUT may create one (the event recorder's updates of a series)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.resources import EVENTS, EVENTS_V1
from minikube_py.api.validation import (
    dns1123_subdomain_errors,
    invalid_value,
    path_segment_errors,
    required,
)
from minikube_py.apiserver.kinds.base import Obj, Printer, Strategy, field_text
from minikube_py.apiserver.tables_format import (
    NAME_DESC,
    Row,
    column,
    since,
)


def _event_fields(o: Mapping[str, Any]) -> dict[str, str]:
    inv = o.get("involvedObject") or {}
    src = o.get("source") or {}
    return {
        **{f"involvedObject.{k}": field_text(inv.get(k)) for k in (
            "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
        "reason": field_text(o.get("reason")),
        "reportingComponent": field_text(o.get("reportingComponent")),
        "source": field_text(src.get("component")),
        "type": field_text(o.get("type")),
    }


def _events_v1_fields(o: Mapping[str, Any]) -> dict[str, str]:
    reg = o.get("regarding") or {}
    return {
        **{f"regarding.{k}": field_text(reg.get(k)) for k in (
            "kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
        "reason": field_text(o.get("reason")),
        "reportingController": field_text(o.get("reportingController")),
        "type": field_text(o.get("type")),
    }


EVENT_COLUMNS = [
    column("Last Seen", "The time at which the most recent occurrence of this event was "
                        "recorded."),
    column("Type", "Type of this event (Normal, Warning), new types could be added in the "
                   "future"),
    column("Reason", "This should be a short, machine understandable string that gives the "
                     "reason for the transition into the object's current status."),
    column("Object", "The object that this event is about."),
    column("Subobject", "The path of the field of the object the event is about.", priority=1),
    column("Source", "The component reporting this event.", priority=1),
    column("Message", "A human-readable description of the status of this operation."),
    column("First Seen", "The time at which the event was first recorded.", priority=1),
    column("Count", "The number of times this event has occurred.", priority=1),
    column("Name", NAME_DESC, priority=1, fmt="name"),
]


def event_row(ev: Obj, now: float) -> Row:
    meta = ev.get("metadata") or {}
    inv = ev.get("involvedObject") or ev.get("regarding") or {}
    last = ev.get("lastTimestamp") or ev.get("eventTime") or \
        (ev.get("series") or {}).get("lastObservedTime") or meta.get("creationTimestamp")
    first = ev.get("firstTimestamp") or ev.get("eventTime") or meta.get("creationTimestamp")
    src = ev.get("source") or {}
    source = src.get("component") or ev.get("reportingComponent") or \
        ev.get("reportingController") or ""
    if src.get("host"):
        source += ", " + src["host"]
    count = ev.get("count") or (ev.get("series") or {}).get("count") or 1
    return [since(last, now) if last else "<unknown>", ev.get("type", ""), ev.get("reason", ""),
            f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}",
            inv.get("fieldPath", ""), source, ev.get("message") or ev.get("note") or "",
            since(first, now) if first else "<unknown>", str(count), meta.get("name", "")]



_EVENT_TTL_SECONDS = 3600


class EventStrategy(Strategy):
    allow_create_on_update = True
    ttl_seconds = _EVENT_TTL_SECONDS
    name_errors = staticmethod(path_segment_errors)
    printer = Printer(EVENT_COLUMNS, event_row)


class CoreEventStrategy(EventStrategy):
    schema = "core.Event"
    field_labels = staticmethod(_event_fields)


def validate_events_v1(event: Obj) -> list[Cause]:
    """ValidateEventCreate's time rules for events.k8s.io: an event time, and a series with
    its count and last observation (Go writes a missing time as null, which no client reads
    back)."""
    causes = []
    if not event.get("eventTime"):
        causes.append(required("eventTime"))
    series = event.get("series")
    if isinstance(series, dict):
        if not isinstance(series.get("count"), int) or series["count"] < 2:
            causes.append(invalid_value("series.count", "", "should be at least 2"))
        if not series.get("lastObservedTime"):
            causes.append(required("series.lastObservedTime"))
    return causes


class EventsV1Strategy(EventStrategy):
    schema = "events.Event"
    field_labels = staticmethod(_events_v1_fields)
    # events.k8s.io/v1 creates get the strict ObjectMeta rules: a DNS subdomain.
    name_errors = staticmethod(dns1123_subdomain_errors)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_events_v1(obj)


STRATEGY = CoreEventStrategy(EVENTS)
EVENTS_V1_STRATEGY = EventsV1Strategy(EVENTS_V1)
