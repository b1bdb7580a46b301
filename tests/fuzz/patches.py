"""PATCH bodies against a stored object: JSON patch operations of every shape (copy and move
included), merge patches, strategic merge patches with $-directives, and apply."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .values import HOSTILE, JSON, STRINGS, clone, get_at, json_values, paths

Obj = dict[str, Any]
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC, APPLY)


def pointer(path: tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _pointers(obj: JSON) -> st.SearchStrategy[Any]:
    known = [pointer(p) for p in paths(obj)]
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known).map(lambda p: p + "/-"),
        st.sampled_from(known).map(lambda p: p + "/bogus"),
        st.sampled_from(["", "/", "x", "/metadata/labels/a~1b", "/spec/containers/01",
                         "/spec/containers/99", "/~2", "//", "/metadata/-"]),
        st.sampled_from([1, None, [], {}, True]))


@st.composite
def json_patch(draw: st.DrawFn, obj: JSON) -> JSON:
    where = _pointers(obj)
    ops: list[Any] = []
    for _ in range(draw(st.integers(1, 5))):
        op: dict[str, Any] = {"op": draw(st.sampled_from(
            ["add", "remove", "replace", "move", "copy", "test", "add", "copy", "Add", 5]))}
        op["path"] = draw(where)
        if op["op"] in ("move", "copy") or draw(st.integers(0, 9)) == 0:
            op["from"] = draw(where)
        if op["op"] in ("add", "replace", "test") or draw(st.integers(0, 9)) == 0:
            op["value"] = draw(st.one_of(HOSTILE, st.sampled_from(
                [get_at(obj, p) for p in paths(obj)]).map(clone)))
        if draw(st.integers(0, 12)) == 0:
            del op[draw(st.sampled_from(sorted(op)))]
        ops.append(op if draw(st.integers(0, 20)) else draw(HOSTILE))
    if draw(st.integers(0, 8)) == 0:
        ops += _doubling(draw(st.sampled_from([3, 12, 30])))
    return ops if draw(st.integers(0, 20)) else draw(st.sampled_from([{}, ops[0], "x", None]))


def _doubling(times: int) -> list[Any]:
    """Each copy doubles /x: thirty of them turn a kilobyte of patch into a gigabyte."""
    ops: list[Any] = [{"op": "add", "path": "/x", "value": {"v": "x" * 100}}]
    return ops + [{"op": "copy", "from": "/x", "path": f"/x/{i}"} for i in range(times)]


@st.composite
def overlay(draw: st.DrawFn, obj: JSON, *, directives: bool) -> JSON:
    """A merge-style patch: a few of the object's paths set to new values or null."""
    patch: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 4))):
        chosen = draw(st.sampled_from(paths(obj)[1:] or [("metadata",)]))
        keys = [str(p) for p in chosen if isinstance(p, str)] or ["metadata"]
        cur = patch
        for k in keys[:-1]:
            nxt = cur.setdefault(k, {})
            if not isinstance(nxt, dict):
                break
            cur = nxt
        else:
            cur[keys[-1]] = draw(st.one_of(st.none(), HOSTILE, json_values()))
            if directives and draw(st.booleans()):
                _directive(draw, cur, obj)
    if draw(st.integers(0, 15)) == 0:
        return draw(HOSTILE)
    return patch


def _directive(draw: st.DrawFn, patch: dict[str, Any], obj: JSON) -> None:
    lists = sorted({str(p[-1]) for p in paths(obj) if p and isinstance(p[-1], str) and
                    isinstance(get_at(obj, p), list)} | {"containers", "finalizers", "ports"})
    name = draw(st.sampled_from(lists))
    kind = draw(st.sampled_from(["patch", "order", "retain", "delete-primitive", "item"]))
    if kind == "patch":
        patch["$patch"] = draw(st.sampled_from(["delete", "replace", "merge", "bogus", 1, None]))
    elif kind == "order":
        patch[f"$setElementOrder/{name}"] = draw(st.one_of(
            st.lists(st.fixed_dictionaries({"name": STRINGS}), max_size=3), HOSTILE))
    elif kind == "retain":
        patch["$retainKeys"] = draw(st.one_of(st.lists(STRINGS, max_size=3), HOSTILE))
    elif kind == "delete-primitive":
        patch[f"$deleteFromPrimitiveList/{name}"] = draw(st.one_of(
            st.lists(STRINGS, max_size=3), HOSTILE))
    else:
        patch[name] = [{"name": draw(STRINGS), "$patch": draw(st.sampled_from(
            ["delete", "replace", "merge", "x"]))}, *draw(st.lists(HOSTILE, max_size=2))]


@st.composite
def any_patch(draw: st.DrawFn, obj: JSON) -> tuple[str, JSON]:
    """(patch content type, patch body) against `obj`, the object as stored."""
    kind = draw(st.sampled_from(PATCH_TYPES))
    if kind == JSON_PATCH:
        return kind, draw(json_patch(obj))
    if kind == APPLY:
        body = draw(overlay(obj, directives=False))
        if isinstance(body, dict) and isinstance(obj, dict) and draw(st.booleans()):
            body.update({"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind")})
        return kind, body
    return kind, draw(overlay(obj, directives=kind == STRATEGIC))
