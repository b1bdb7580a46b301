"""PATCH bodies: JSON Patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch."""

from __future__ import annotations

import copy
import json
from typing import Any

from minikube_py.api.errors import ApiError, bad_request

JSON = Any


class PatchError(ValueError):
    """The patch cannot be applied to this document."""


# A JSON patch may copy at most this much: beyond it no object could be stored anyway.
MAX_COPIED_BYTES = 3 * 1024 * 1024


def _too_large() -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", "Request entity too large: the json patch "
                    f"copies more than {MAX_COPIED_BYTES} bytes")


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, "Invalid", message)


# --- RFC 6902 ------------------------------------------------------------------------------


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str):
        raise PatchError(f"JSON pointer {json.dumps(path)} must be a string")
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f'JSON pointer "{path}" must start with "/"')
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _index(container: list[Any], token: str, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"invalid array index: {token}")
    i = int(token)
    if i > len(container) or (i == len(container) and not allow_end):
        raise PatchError(f"array index out of bounds: {token}")
    return i


def _parent(doc: JSON, tokens: list[str]) -> JSON:
    cur = doc
    for t in tokens[:-1]:
        if isinstance(cur, dict):
            if t not in cur:
                raise PatchError(f"doc is missing path: /{'/'.join(tokens)}")
            cur = cur[t]
        elif isinstance(cur, list):
            cur = cur[_index(cur, t, allow_end=False)]
        else:
            raise PatchError(f"doc is missing path: /{'/'.join(tokens)}")
    return cur


def _get(doc: JSON, path: str) -> JSON:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"doc is missing path: {path}")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, allow_end=False)]
    raise PatchError(f"doc is missing path: {path}")


def _add(doc: JSON, path: str, value: JSON) -> JSON:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise PatchError(f"doc is missing path: {path}")
    return doc


def _remove(doc: JSON, path: str) -> tuple[JSON, JSON]:
    tokens = _pointer(path)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"Unable to remove nonexistent key: {last}: missing value")
        return doc, parent.pop(last)
    if isinstance(parent, list):
        return doc, parent.pop(_index(parent, last, allow_end=False))
    raise PatchError(f"doc is missing path: {path}")


def json_patch(doc: JSON, ops: JSON) -> JSON:
    """Apply RFC 6902 operations to a copy of `doc`."""
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    copied = 0  # bytes that copy operations added: the one way a patch outgrows itself
    try:
        for op in ops:
            if not isinstance(op, dict) or "op" not in op or "path" not in op:
                raise PatchError(f"invalid operation: {json.dumps(op)[:200]}")
            kind, path = op["op"], op["path"]
            if kind == "add":
                doc = _add(doc, path, copy.deepcopy(op.get("value")))
            elif kind == "remove":
                doc, _ = _remove(doc, path)
            elif kind == "replace":
                _get(doc, path)
                doc, _ = _remove(doc, path) if _pointer(path) else (doc, None)
                doc = _add(doc, path, copy.deepcopy(op.get("value")))
            elif kind == "move":
                doc, value = _remove(doc, op["from"])
                doc = _add(doc, path, value)
            elif kind == "copy":
                value = _get(doc, op["from"])
                copied += len(json.dumps(value))
                if copied > MAX_COPIED_BYTES:
                    raise _too_large()
                doc = _add(doc, path, copy.deepcopy(value))
            elif kind == "test":
                if _get(doc, path) != op.get("value"):
                    raise PatchError(f"testing value {path} failed")
            else:
                raise PatchError(f"Unexpected kind: {json.dumps(kind)[:100]}")
    except PatchError as e:
        raise _unprocessable(str(e)) from None
    except (KeyError, TypeError) as e:
        raise _unprocessable(f"invalid json patch: {e}") from None
    return doc


# --- RFC 7386 -----------------------------------------------------------------------------


def merge_patch(doc: JSON, patch: JSON) -> JSON:
    """RFC 7386: objects merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(doc) if isinstance(doc, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            out[k] = merge_patch(out.get(k), v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# --- strategic merge patch ------------------------------------------------------------------

# patchMergeKey of the list fields Kubernetes types declare with patchStrategy "merge".
# Keyed by field name: the built-in types never give one field name two different keys,
# except "ports" (containerPort in containers, port in services), resolved by content.
MERGE_KEYS: dict[str, str] = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "conditions": "type", "imagePullSecrets": "name", "hostAliases": "ip",
    "ownerReferences": "uid", "addresses": "type", "podIPs": "ip", "hostIPs": "ip",
    "topologySpreadConstraints": "topologyKey", "resourceClaims": "name",
    "schedulingGates": "name", "secrets": "name", "ports": "containerPort",
    "resizePolicy": "resourceName",
}
# Lists of scalars merged as sets (patchStrategy "merge" on a []string).
MERGE_PRIMITIVE_LISTS = frozenset({"finalizers"})
_DIRECTIVE = "$patch"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_RETAIN_KEYS = "$retainKeys"


def _merge_key(field: str, items: list[Any]) -> str:
    key = MERGE_KEYS.get(field, "")
    if field == "ports":
        for it in items:
            if isinstance(it, dict) and "containerPort" not in it and "port" in it:
                return "port"
    return key


def strategic_merge_patch(doc: JSON, patch: JSON) -> JSON:
    """Apply a strategic merge patch (what kubectl apply/edit/patch send) to `doc`."""
    if not isinstance(patch, dict):
        raise bad_request("strategic merge patch must be a JSON object")
    try:
        result = _merge_map(doc if isinstance(doc, dict) else {}, patch)
    except PatchError as e:
        raise bad_request(str(e)) from None
    except (TypeError, AttributeError, ValueError):
        # A directive of the wrong shape ("$setElementOrder/x": true, "$retainKeys": 1).
        raise bad_request("invalid strategic merge patch: a $-directive has the wrong "
                          "type") from None
    return result if result is not None else {}


def _merge_map(orig: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None:
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive not in (None, "merge"):
        raise PatchError(f"Unknown patch type: {directive}")
    out = dict(orig)
    retain = patch.get(_RETAIN_KEYS)
    if retain is not None:
        if not isinstance(retain, list):
            raise PatchError("$retainKeys must be a list")
        out = {k: v for k, v in out.items() if k in retain}
    orders: dict[str, list[Any]] = {}
    for k, v in patch.items():
        if k in (_DIRECTIVE, _RETAIN_KEYS):
            continue
        if k.startswith(_SET_ORDER):
            orders[k[len(_SET_ORDER):]] = v
            continue
        if k.startswith(_DELETE_PRIMITIVE):
            field = k[len(_DELETE_PRIMITIVE):]
            if isinstance(out.get(field), list):
                out[field] = [x for x in out[field] if x not in v]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            cur = out.get(k)
            merged = _merge_map(cur if isinstance(cur, dict) else {}, v)
            if merged is None:
                out.pop(k, None)
            else:
                out[k] = merged
        elif isinstance(v, list):
            cur = out.get(k)
            out[k] = _merge_list(k, cur if isinstance(cur, list) else [], v)
        else:
            out[k] = v
    for field, order in orders.items():
        if isinstance(out.get(field), list):
            out[field] = _apply_order(field, out[field], order)
    return out


def _merge_list(field: str, orig: list[Any], patch: list[Any]) -> list[Any]:
    if field in MERGE_PRIMITIVE_LISTS:
        out = list(orig)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    key = _merge_key(field, orig + patch)
    if not key or not all(isinstance(x, dict) for x in patch):
        return [copy.deepcopy(x) for x in patch if not _is_directive(x)]
    if any(isinstance(x, dict) and x.get(_DIRECTIVE) == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch if not _is_directive(x)]
    out = list(orig)
    for item in patch:
        kv = item.get(key)
        idx = next((i for i, o in enumerate(out) if isinstance(o, dict) and o.get(key) == kv),
                   None)
        if item.get(_DIRECTIVE) == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            merged = _merge_map({}, item)
            if merged is not None:
                out.append(merged)
        else:
            merged = _merge_map(out[idx], item)
            if merged is None:
                out.pop(idx)
            else:
                out[idx] = merged
    return out


def _is_directive(x: Any) -> bool:
    return isinstance(x, dict) and _DIRECTIVE in x and len(x) == 1


def _apply_order(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    """Order `items` as $setElementOrder says; items it does not name keep their place after."""
    if field in MERGE_PRIMITIVE_LISTS or not items or not isinstance(items[0], dict):
        rank = {_hashable(v): i for i, v in enumerate(order)}
        return sorted(items, key=lambda x: rank.get(_hashable(x), len(rank)))
    key = _merge_key(field, items)
    rank = {_hashable(o.get(key) if isinstance(o, dict) else o): i for i, o in enumerate(order)}
    return sorted(items, key=lambda x: rank.get(_hashable(x.get(key)), len(rank)))


def _hashable(v: Any) -> Any:
    return repr(v) if isinstance(v, dict | list) else v


def apply_patch(doc: JSON, patch: JSON, patch_type: str) -> JSON:
    """Dispatch on the PATCH Content-Type (without parameters)."""
    if patch_type == "application/json-patch+json":
        return json_patch(doc, patch)
    if patch_type in ("application/merge-patch+json", "application/apply-patch+yaml"):
        if not isinstance(patch, dict):
            raise bad_request("merge patch must be a JSON object")
        return merge_patch(doc, patch)
    if patch_type == "application/strategic-merge-patch+json":
        return strategic_merge_patch(doc, patch)
    raise ApiError(415, "UnsupportedMediaType", f"the server does not support patch type {patch_type!r}"
                   "; use application/json-patch+json, application/merge-patch+json, "
                   "application/strategic-merge-patch+json or application/apply-patch+yaml")
