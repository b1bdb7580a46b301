"""The garbage collector's view of ownership, pure: an index of who owns whom by uid,
and what to do with a dependent given the state of its owners."""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from minikube_py.api.resources import Resource

Obj = dict[str, Any]

ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"


@dataclass(frozen=True, slots=True)
class Node:
    """Where an object lives, to find it in its informer or GET it."""

    resource: Resource
    namespace: str | None
    name: str


def owner_refs(obj: Obj) -> list[Obj]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or [])


def has_finalizer(obj: Obj, finalizer: str) -> bool:
    meta = obj.get("metadata") or {}
    return bool(meta.get("deletionTimestamp")) and finalizer in (meta.get("finalizers") or [])


@dataclass
class OwnerGraph:
    """uid -> where the object is, and owner uid -> dependent uids (from ownerReferences)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    refs: dict[str, list[Obj]] = field(default_factory=dict)
    dependents: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def upsert(self, resource: Resource, obj: Obj) -> list[str]:
        """Record `obj`; returns the uids of owners it no longer references."""
        meta = obj["metadata"]
        uid = meta["uid"]
        self.nodes[uid] = Node(resource, meta.get("namespace"), meta["name"])
        old = {r.get("uid") for r in self.refs.get(uid, [])}
        new_refs = owner_refs(obj)
        new = {r.get("uid") for r in new_refs}
        for owner in old - new:
            self._unlink(str(owner), uid)
        for owner in new:
            self.dependents[str(owner)].add(uid)
        self.refs[uid] = new_refs
        return [str(o) for o in old - new]

    def remove(self, obj: Obj) -> tuple[list[str], list[str]]:
        """Forget `obj`; returns (its dependents, its owners)."""
        uid = obj["metadata"]["uid"]
        self.nodes.pop(uid, None)
        owners = [str(r.get("uid")) for r in self.refs.pop(uid, [])]
        for owner in owners:
            self._unlink(owner, uid)
        return sorted(self.dependents.get(uid, ())), owners

    def _unlink(self, owner: str, dependent: str) -> None:
        deps = self.dependents.get(owner)
        if deps is not None:
            deps.discard(dependent)
            if not deps:
                del self.dependents[owner]

    def dependents_of(self, uid: str) -> list[str]:
        return sorted(self.dependents.get(uid, ()))

    def blocking_dependents(self, uid: str) -> list[str]:
        """Dependents whose reference to `uid` says blockOwnerDeletion."""
        return [d for d in self.dependents_of(uid)
                if any(r.get("uid") == uid and r.get("blockOwnerDeletion")
                       for r in self.refs.get(d, []))]


class OwnerState(enum.Enum):
    SOLID = "solid"  # exists and is not waiting on its dependents
    DANGLING = "dangling"  # gone (or replaced by an object with another uid)
    WAITING = "waiting"  # being deleted in the foreground: its dependents go first


def owner_state(owner: Obj | None, ref: Obj) -> OwnerState:
    if owner is None or (owner.get("metadata") or {}).get("uid") != ref.get("uid"):
        return OwnerState.DANGLING
    if has_finalizer(owner, FOREGROUND_FINALIZER):
        return OwnerState.WAITING
    return OwnerState.SOLID


class Action(enum.Enum):
    KEEP = "keep"
    PATCH_REFS = "patch"  # drop dangling refs / stop blocking waiting owners
    DELETE = "delete"


@dataclass(frozen=True)
class Decision:
    action: Action
    propagation: str = ""  # for DELETE
    refs: tuple[Obj, ...] = ()  # for PATCH_REFS: the ownerReferences to keep


def decide_dependent(dependent: Obj, states: dict[str, OwnerState]) -> Decision:
    """kube's attemptToDeleteItem: keep a dependent while one owner is solid (cleaning up
    references to gone owners), delete it in the foreground when its remaining owners wait
    on it, and delete it when every owner is gone."""
    refs = owner_refs(dependent)
    if not refs:
        return Decision(Action.KEEP)
    by_state = {s: [r for r in refs if states.get(str(r.get("uid"))) is s] for s in OwnerState}
    if by_state[OwnerState.SOLID]:
        keep = []
        changed = False
        for r in refs:
            state = states.get(str(r.get("uid")))
            if state is OwnerState.DANGLING:
                changed = True
                continue
            if state is OwnerState.WAITING and r.get("blockOwnerDeletion"):
                r = {**r, "blockOwnerDeletion": False}
                changed = True
            keep.append(r)
        return Decision(Action.PATCH_REFS, refs=tuple(keep)) if changed else Decision(Action.KEEP)
    if by_state[OwnerState.WAITING]:
        return Decision(Action.DELETE, "Foreground")
    if all(states.get(str(r.get("uid"))) is OwnerState.DANGLING for r in refs):
        meta = dependent.get("metadata") or {}
        finalizers = meta.get("finalizers") or []
        policy = "Orphan" if ORPHAN_FINALIZER in finalizers else \
            "Foreground" if FOREGROUND_FINALIZER in finalizers else "Background"
        return Decision(Action.DELETE, policy)
    return Decision(Action.KEEP)  # an owner whose state is not known: never guess
