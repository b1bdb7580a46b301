"""Owner graph upkeep and the garbage collector's verdict on a dependent, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.api.resources import CONFIGMAPS
from minikube_py.controllers.ownergraph import (
    Action,
    OwnerGraph,
    OwnerState,
    decide_dependent,
    owner_state,
)

S, D, W = OwnerState.SOLID, OwnerState.DANGLING, OwnerState.WAITING


def obj(uid: str, *owners: str, block: bool = False,
        finalizers: list[str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": uid, "namespace": "ns", "uid": uid,
                         "finalizers": finalizers or [],
                         "ownerReferences": [{"uid": o, "name": o, "blockOwnerDeletion": block}
                                             for o in owners]}}


@pytest.mark.parametrize(("dep", "states", "action", "policy", "kept"), [
    (obj("d"), {}, Action.KEEP, "", ()),
    (obj("d", "a"), {"a": S}, Action.KEEP, "", ()),
    (obj("d", "a"), {"a": D}, Action.DELETE, "Background", ()),
    (obj("d", "a", "b"), {"a": D, "b": S}, Action.PATCH_REFS, "", ("b",)),
    (obj("d", "a", "b"), {"a": D, "b": D}, Action.DELETE, "Background", ()),
    (obj("d", "a"), {"a": W}, Action.DELETE, "Foreground", ()),
    (obj("d", "a", "b", block=True), {"a": W, "b": S}, Action.PATCH_REFS, "", ("a", "b")),
    (obj("d", "a", finalizers=["orphan"]), {"a": D}, Action.DELETE, "Orphan", ()),
    (obj("d", "a", "b"), {"a": D}, Action.KEEP, "", ()),  # b unknown: never guess
])
def test_decide_dependent(dep: dict[str, Any], states: dict[str, OwnerState], action: Action,
                          policy: str, kept: tuple[str, ...]) -> None:
    decision = decide_dependent(dep, states)
    assert decision.action is action
    assert decision.propagation == policy
    assert tuple(r["uid"] for r in decision.refs) == kept


def test_a_waiting_owner_stops_being_blocked_by_a_dependent_kept_alive() -> None:
    decision = decide_dependent(obj("d", "a", "b", block=True), {"a": W, "b": S})
    assert [r["blockOwnerDeletion"] for r in decision.refs] == [False, True]


@pytest.mark.parametrize(("owner", "ref_uid", "state"), [
    (None, "a", D),
    (obj("a"), "a", S),
    (obj("a"), "other-uid", D),  # same name, recreated
    ({"metadata": {"uid": "a", "deletionTimestamp": "x",
                   "finalizers": ["foregroundDeletion"]}}, "a", W),
    ({"metadata": {"uid": "a", "deletionTimestamp": "x", "finalizers": ["orphan"]}}, "a", S),
])
def test_owner_state(owner: dict[str, Any] | None, ref_uid: str, state: OwnerState) -> None:
    assert owner_state(owner, {"uid": ref_uid}) is state


def test_graph_tracks_dependents_and_blocking_refs() -> None:
    g = OwnerGraph()
    g.upsert(CONFIGMAPS, obj("o"))
    g.upsert(CONFIGMAPS, obj("d1", "o", block=True))
    g.upsert(CONFIGMAPS, obj("d2", "o"))
    assert g.dependents_of("o") == ["d1", "d2"]
    assert g.blocking_dependents("o") == ["d1"]
    assert g.upsert(CONFIGMAPS, obj("d1")) == ["o"]  # ref dropped: owner reported
    assert g.dependents_of("o") == ["d2"]
    assert g.remove(obj("o")) == (["d2"], [])
    assert g.remove(obj("d2", "o")) == ([], ["o"])
    assert g.dependents_of("o") == []
