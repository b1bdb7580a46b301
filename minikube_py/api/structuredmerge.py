"""Server-side apply as structured-merge-diff's merge.Updater: the field sets of objects,
their comparison, and the Update and Apply operations over the managers' sets, with
conflicts, force, and the removal of fields an applier stopped applying."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from minikube_py.api.fieldpath import (
    EMPTY,
    FieldSet,
    ListType,
    Path,
    TypeTable,
    field_element,
    key_element,
    names_of,
    path_string,
    value_element,
)

JSON = Any
APPLY = "Apply"
UPDATE = "Update"
_MISSING = object()
# An object's metadata, spec and status are always there (Go structs), never added.
_ROOT_STRUCTS = frozenset({("f:metadata",), ("f:spec",), ("f:status",)})


@dataclass(frozen=True, slots=True, order=True)
class Manager:
    """Whom a managedFields entry is for: the name, the operation, the subresource, and for
    Update entries their apiVersion (each version of an updater is its own entry, as kube's
    BuildManagerIdentifier makes it)."""

    name: str
    operation: str
    subresource: str = ""
    update_version: str = ""

    def describe(self) -> str:
        """As kube's conflict messages name a manager."""
        text = f'"{self.name}"'
        if self.subresource:
            text += f' with subresource "{self.subresource}"'
        if self.operation == UPDATE:
            text += f" using {self.update_version}"
        return text


@dataclass(frozen=True, slots=True)
class Owned:
    """One manager's fields, in the apiVersion it used, and when it last changed them."""

    fields: FieldSet
    api_version: str
    time: str = ""


Managed = dict[Manager, Owned]


@dataclass(frozen=True, slots=True)
class Conflict:
    manager: Manager
    path: Path


class Conflicts(Exception):
    """An apply would change fields other managers own."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        self.conflicts = sorted(conflicts, key=lambda c: (c.manager, c.path))
        super().__init__(self.message())

    def message(self) -> str:
        """kube's message (fieldmanager's getConflictMessage)."""
        cs = self.conflicts
        if len(cs) == 1:
            return (f"Apply failed with 1 conflict: conflict with {cs[0].manager.describe()}: "
                    f"{path_string(cs[0].path)}")
        lines: list[str] = []
        for manager in sorted({c.manager for c in cs}):
            lines.append(f"conflicts with {manager.describe()}:")
            lines += [f"- {path_string(c.path)}" for c in cs if c.manager == manager]
        return f"Apply failed with {len(cs)} conflicts: " + "\n".join(lines)


class ApplyError(ValueError):
    """An applied configuration that cannot be merged (duplicate keys in a keyed list)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    added: FieldSet
    modified: FieldSet
    removed: FieldSet

    @property
    def changed(self) -> FieldSet:
        return self.added | self.modified


# --- field sets and comparison -------------------------------------------------------


def _items(value: list[Any], list_type: ListType) -> dict[str, Any] | None:
    """A set's or keyed list's items by path element; None when it cannot be read as one
    (an item without its keys, duplicates): then it is compared as a whole."""
    out: dict[str, Any] = {}
    for item in value:
        element: str | None = None
        if list_type.kind == "set" and not isinstance(item, dict | list):
            element = value_element(item)
        elif list_type.kind == "map" and isinstance(item, dict):
            element = key_element(item, list_type)
        if element is None:
            return None
        if element in out:
            return None
        out[element] = item
    return out


def _children(value: Any, names: tuple[str, ...], types: TypeTable) -> dict[str, Any] | None:
    """What a granular value holds by path element; None for a leaf (scalars, atomic
    lists and maps)."""
    if isinstance(value, dict):
        if types.map_is_atomic(names):
            return None
        return {field_element(k): v for k, v in value.items()}
    if isinstance(value, list):
        list_type = types.list_type(names)
        return None if list_type.kind == "atomic" else _items(value, list_type)
    return None


def applied_fields(config: JSON, types: TypeTable) -> FieldSet:
    """The fields an applied configuration sets (structured-merge-diff's ToFieldSet):
    leaves and list items are members; a map is one only when empty or null."""
    out: set[Path] = set()

    def walk(value: Any, path: Path, names: tuple[str, ...]) -> None:
        children = _children(value, names, types)
        if children is None or (not children and isinstance(value, dict)):
            if path:
                out.add(path)
            return
        if isinstance(value, list):
            item_names = (*names, "[]")
            for element, item in children.items():
                out.add((*path, element))
                walk_item(item, (*path, element), item_names)
            return
        for element, child in children.items():
            walk(child, (*path, element), (*names, element[2:]))

    def walk_item(item: Any, path: Path, names: tuple[str, ...]) -> None:
        children = _children(item, names, types)
        for element, child in (children or {}).items():
            walk(child, (*path, element), (*names, element[2:]))

    walk(config, (), ())
    return frozenset(out)


def compare(old: JSON, new: JSON, types: TypeTable) -> Comparison:
    """Which fields `new` adds, changes and removes against `old` (a missing object: {})."""
    added: set[Path] = set()
    modified: set[Path] = set()
    removed: set[Path] = set()

    def walk(a: Any, b: Any, path: Path, names: tuple[str, ...]) -> None:
        if a is not _MISSING and b is not _MISSING and type(a) is type(b) and a == b:
            return  # most of an object is as it was: no need to walk it
        ca = None if a is _MISSING else _children(a, names, types)
        cb = None if b is _MISSING else _children(b, names, types)
        leaf = (a is not _MISSING and ca is None) or (b is not _MISSING and cb is None)
        if path:
            if a is _MISSING:
                added.add(path)
            elif b is _MISSING:
                removed.add(path)
            elif leaf and a != b:
                modified.add(path)
        if leaf:  # a leaf on either side is compared as a whole
            return
        ca, cb = ca or {}, cb or {}
        for element in {**ca, **cb}:
            walk(ca.get(element, _MISSING), cb.get(element, _MISSING), (*path, element),
                 (*names, element[2:] if element.startswith("f:") else "[]"))

    walk(old, new, (), ())
    return Comparison(frozenset(added) - _ROOT_STRUCTS, frozenset(modified),
                      frozenset(removed) - _ROOT_STRUCTS)


# --- merging and removing ------------------------------------------------------------


def merge(live: JSON, config: JSON, types: TypeTable, path: Path = ()) -> JSON:
    """The applied configuration merged into the live object: maps key by key, keyed
    lists and sets item by item, everything else replaced; a null removes."""
    if isinstance(config, dict):
        if types.map_is_atomic(names_of(path)):
            return merge({}, config, TypeTable(), path)
        out = dict(live) if isinstance(live, dict) else {}
        for k, v in config.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = merge(out.get(k, _MISSING), v, types, (*path, field_element(k)))
        return out
    if isinstance(config, list) and isinstance(live, list):
        list_type = types.list_type(names_of(path))
        if list_type.kind != "atomic":
            return _merge_items(live, config, list_type, types, path)
    return copy.deepcopy(config)


def _merge_items(live: list[Any], config: list[Any], list_type: ListType, types: TypeTable,
                 path: Path) -> list[Any]:
    wanted = _items(config, list_type)
    if wanted is None:
        raise ApplyError(f"{path_string(path)}: the items of this list need their keys "
                         f"({', '.join(list_type.keys) or 'unique values'}) and must be "
                         "unique")
    have = _items(live, list_type)
    if have is None:
        return copy.deepcopy(config)
    out = list(live)
    index = {element: i for i, element in enumerate(have)}
    for element, item in wanted.items():
        if element in index:
            i = index[element]
            out[i] = merge(out[i], item, types, (*path, element))
        else:
            out.append(merge({}, item, types, (*path, element))
                       if isinstance(item, dict) else copy.deepcopy(item))
    return out


def remove_fields(obj: JSON, paths: Iterable[Path], keep: FieldSet, types: TypeTable) -> JSON:
    """`obj` without `paths`, except those under which a field of `keep` lies; a map or
    list emptied by the removal goes as well, unless `keep` holds it."""
    kept_prefixes = {p[:i] for p in keep for i in range(1, len(p))}
    out = copy.deepcopy(obj)
    # Shallowest first: an item removed whole takes its fields along, and its keys are
    # never removed from under an item that stays.
    for path in sorted(paths, key=len):
        if path in kept_prefixes or path in keep or _is_key_of_item(path):
            continue
        _remove(out, (), path, types)
    return out


def _is_key_of_item(path: Path) -> bool:
    return len(path) >= 2 and path[-2].startswith("k:") and \
        path[-1][2:] in json.loads(path[-2][2:])


def _remove(obj: Any, at: Path, rest: Path, types: TypeTable) -> bool:
    """Remove `rest` below `obj` (found at `at`); True when that left `obj` empty."""
    element, below = rest[0], rest[1:]
    if isinstance(obj, dict) and element.startswith("f:"):
        name = element[2:]
        if name not in obj:
            return False
        if not below or _remove(obj[name], (*at, element), below, types):
            del obj[name]
        return not obj
    if isinstance(obj, list):
        list_type = types.list_type(names_of(at))
        for i, item in enumerate(obj):
            if _element_of(item, list_type, element):
                if not below or _remove(item, (*at, element), below, types):
                    obj.pop(i)
                break
        return not obj
    return False


def _element_of(item: Any, list_type: ListType, element: str) -> bool:
    if element.startswith("v:"):
        return not isinstance(item, dict | list) and value_element(item) == element
    return isinstance(item, dict) and key_element(item, list_type) == element


# --- the operations ------------------------------------------------------------------


def _without(fields: FieldSet, ignored: FieldSet) -> FieldSet:
    if not ignored:
        return fields
    return frozenset(p for p in fields if not any(p[:len(i)] == i for i in ignored))


def update(live: JSON, new: JSON, managed: Managed, manager: Manager, api_version: str,
           now: str, types: TypeTable, ignored: FieldSet = EMPTY) -> Managed:
    """The managers after a non-apply write of `new` over `live` (kube's Updater.Update):
    the writer owns what it added or changed, and nobody owns what it removed or took."""
    cmp = compare(live, new, types)
    changed = _without(cmp.changed, ignored)
    removed = _without(cmp.removed, ignored)
    out: Managed = {}
    for other, owned in managed.items():
        if other == manager:
            continue
        rest = owned.fields - changed - removed
        if rest:
            out[other] = owned if rest == owned.fields else replace(owned, fields=rest)
    previous = managed.get(manager)
    mine = (previous.fields - removed if previous else EMPTY) | changed
    if mine:
        if previous is not None and mine == previous.fields:
            out[manager] = previous
        else:
            out[manager] = Owned(mine, api_version, now if changed or previous is None
                                 else previous.time)
    return out


@dataclass(frozen=True, slots=True)
class Applied:
    obj: JSON
    managed: Managed


def apply(live: JSON, config: JSON, managed: Managed, manager: Manager, api_version: str,
          now: str, types: TypeTable, *, force: bool = False, ignored: FieldSet = EMPTY,
          allowed_conflicts: FieldSet = EMPTY) -> Applied:
    """Apply `config` to `live` for `manager` (kube's Updater.Apply): merge it, remove what
    the manager applied before, no longer applies and nobody else owns, and refuse
    (Conflicts) to change what other managers own, unless `force` hands it over.
    `allowed_conflicts` are conflicts taken over as if forced (kubectl's client-side
    apply fields, that its server-side apply adopts)."""
    merged = merge(live, config, types)
    applied = _without(applied_fields(config, types), ignored)
    previous = managed.get(manager)
    others = {m: o for m, o in managed.items() if m != manager}
    owned_by_others = frozenset().union(*(o.fields for o in others.values()))
    if previous is not None:
        keep = applied | owned_by_others
        merged = remove_fields(merged, previous.fields - keep, keep, types)
    cmp = compare(live, merged, types)
    changed, removed = _without(cmp.changed, ignored), _without(cmp.removed, ignored)
    taken: dict[Manager, FieldSet] = {}
    for other, owned in others.items():
        clash = owned.fields & changed
        if clash:
            taken[other] = clash
    refused = [Conflict(m, p) for m, paths in taken.items() for p in paths
               if p not in allowed_conflicts]
    if refused and not force:
        raise Conflicts(refused)
    out: Managed = {}
    for other, owned in others.items():
        rest = owned.fields - taken.get(other, EMPTY) - removed
        if rest:
            out[other] = owned if rest == owned.fields else replace(owned, fields=rest)
    unchanged = previous is not None and previous.fields == applied and \
        previous.api_version == api_version and merged == live and out == others
    if applied:
        out[manager] = previous if unchanged and previous is not None else \
            Owned(applied, api_version, now)
    return Applied(merged, out)


MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"


def cap_update_managers(managed: Managed, limit: int = MAX_UPDATE_MANAGERS) -> Managed:
    """At most `limit` Update entries: the oldest merge, per apiVersion, into one
    "ancient-changes" entry (kube's capManagersManager), so an object that many writers
    touched does not grow without end."""
    updaters = sorted((m for m in managed if m.operation == UPDATE),
                      key=lambda m: (managed[m].time, m))
    count = len(updaters)
    if count <= limit:
        return managed
    out = dict(managed)
    first_of_version: dict[str, Manager] = {}
    for manager in updaters:
        if count <= limit:
            break
        owned = out[manager]
        version = owned.api_version
        if version not in first_of_version:
            first_of_version[version] = manager
            continue
        bucket = Manager(ANCIENT_CHANGES, UPDATE, "", version)
        if bucket not in out:
            out[bucket] = out.pop(first_of_version[version])
        out[bucket] = Owned(owned.fields | out[bucket].fields, version, owned.time)
        del out[manager]
        count -= 1
    return out


def fields_of(obj: Mapping[str, Any], types: TypeTable) -> FieldSet:
    """Every field an object has, as a writer that made it from nothing would own them."""
    return compare({}, obj, types).added
