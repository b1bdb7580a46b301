"""Cell formatting shared by the Table printers: ages, label selectors, container lists."""

from __future__ import annotations

from typing import Any

from minikube_py.apiserver.storage import parse_rfc3339

Obj = dict[str, Any]
Row = list[Any]
NAME_DESC = "Name must be unique within a namespace."
AGE_DESC = "CreationTimestamp is a timestamp representing the server time when this object " \
           "was created."
CONTAINERS_DESC = "Names of each container in the template."
IMAGES_DESC = "Images referenced by each container in the template."


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y{dy}d" if dy else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def since(ts: str | None, now: float) -> str:
    if not ts:
        return "<unknown>"
    try:
        return human_duration(now - parse_rfc3339(ts))
    except ValueError:
        return "<unknown>"


def between(start: str, end: str) -> str:
    """HumanDuration(end - start), e.g. a job's DURATION once it has finished."""
    try:
        return human_duration(parse_rfc3339(end) - parse_rfc3339(start))
    except ValueError:
        return "<unknown>"


def column(name: str, desc: str = "", *, priority: int = 0, fmt: str = "",
           typ: str = "string") -> Obj:
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


def age(obj: Obj, now: float) -> str:
    return since((obj.get("metadata") or {}).get("creationTimestamp"), now)


def name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def format_labels(labels: dict[str, Any] | None) -> str:
    """labels.FormatLabels: sorted k=v pairs, "<none>" when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


def _requirement(expr: Obj) -> tuple[str, str]:
    key, op = str(expr.get("key", "")), expr.get("operator")
    values = ",".join(sorted(str(v) for v in expr.get("values") or []))
    text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
            "Exists": key, "DoesNotExist": f"!{key}"}.get(str(op), f"{key} {op} ({values})")
    return key, text


def format_label_selector(sel: Obj | None) -> str:
    """metav1.FormatLabelSelector: requirements sorted by key; nil or empty is "<none>"."""
    sel = sel or {}
    reqs = [(str(k), f"{k}={v}") for k, v in (sel.get("matchLabels") or {}).items()]
    reqs += [_requirement(e) for e in sel.get("matchExpressions") or []]
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0])) or "<none>"


def container_cells(pod_spec: Obj | None) -> tuple[str, str]:
    """layoutContainerCells: the CONTAINERS and IMAGES cells of a pod template."""
    cs = (pod_spec or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def template_spec(obj: Obj) -> Obj:
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


def list_with_more(items: list[str], total: int, *, limit: int = 3, empty: str = "<unset>") -> str:
    """The first `limit` items, then "+ N more..." (listWithMoreString and friends)."""
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or empty
