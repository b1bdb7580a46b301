"""Field paths and sets as structured-merge-diff writes them (FieldsV1), and the table of how
each list and map of an object merges (kube's +listType/+listMapKey/+mapType markers)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from json.encoder import encode_basestring
from typing import Any, Literal

# A path element in its FieldsV1 spelling: "f:<field>", 'k:{"name":"web"}' (an item of a
# list keyed by its map keys), "v:<json>" (an item of a set), "i:<n>" (an item by index).
Path = tuple[str, ...]
FieldSet = frozenset[Path]
EMPTY: FieldSet = frozenset()
MEMBER = "."  # FieldsV1: the node itself is in the set, besides its children


class FieldsError(ValueError):
    """A FieldsV1 document or an object that cannot be read as field paths."""


@dataclass(frozen=True, slots=True)
class ListType:
    """How a list merges: "atomic" (replaced whole), "set" (of scalars, merged as a set) or
    "map" (items identified by `keys`; `defaults` stand in for a key an item leaves out,
    as kube's schema defaults do for ports' protocol)."""

    kind: Literal["atomic", "set", "map"]
    keys: tuple[str, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()


ATOMIC = ListType("atomic")
SET = ListType("set")


def keyed(*keys: str, **defaults: Any) -> ListType:
    return ListType("map", keys, tuple(sorted(defaults.items())))


@dataclass(frozen=True)
class TypeTable:
    """List types and atomic maps by path pattern. A pattern names fields with dots and a
    list's items with "[]" ("containers[].ports"); it matches the end of an object's path,
    or the whole path when it starts with "." (".spec.items", for schemas that give full
    paths); "*" stands for any field name. The longest matching pattern wins. A list no
    pattern names is atomic; a map no pattern names merges key by key."""

    lists: Mapping[str, ListType] = field(default_factory=dict)
    atomic_maps: frozenset[str] = frozenset()

    def list_type(self, names: tuple[str, ...]) -> ListType:
        cache = self._list_cache
        if names not in cache:
            found = _lookup(self._list_patterns, names)
            cache[names] = found if found is not None else ATOMIC
        return cache[names]

    def map_is_atomic(self, names: tuple[str, ...]) -> bool:
        cache = self._map_cache
        if names not in cache:
            cache[names] = _lookup(self._map_patterns, names) is not None
        return cache[names]

    # Parsed patterns and answers by path, made once per table: every field of every write
    # asks (a frozen dataclass still takes cached_property's own __dict__ writes).
    @cached_property
    def _list_patterns(self) -> list[tuple[tuple[str, ...], bool, Any]]:
        return [_compiled(p, v) for p, v in self.lists.items()]

    @cached_property
    def _map_patterns(self) -> list[tuple[tuple[str, ...], bool, Any]]:
        return [_compiled(p, True) for p in self.atomic_maps]

    @cached_property
    def _list_cache(self) -> dict[tuple[str, ...], ListType]:
        return {}

    @cached_property
    def _map_cache(self) -> dict[tuple[str, ...], bool]:
        return {}


def _compiled(pattern: str, value: Any) -> tuple[tuple[str, ...], bool, Any]:
    return _pattern_parts(pattern.lstrip(".")), pattern.startswith("."), value


def _lookup(patterns: list[tuple[tuple[str, ...], bool, Any]], names: tuple[str, ...]) -> Any:
    best: Any = None
    best_len = -1
    for parts, anchored, value in patterns:
        n = len(parts)
        if n > len(names) or (anchored and n != len(names)) or n <= best_len:
            continue
        if all(_part_matches(p, name) for p, name in zip(parts, names[len(names) - n:],
                                                         strict=True)):
            best, best_len = value, n
    return best


def _part_matches(part: str, name: str) -> bool:
    return part == name or (part == "*" and name != "[]")


def _pattern_parts(pattern: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in pattern.split("."):
        name = part.rstrip("[]")
        if name:
            out.append(name)
        out.extend(["[]"] * ((len(part) - len(name)) // 2))
    return tuple(out)


# The built-in kinds' list and map types, from the markers on kube 1.32's Go types
# (staging/src/k8s.io/api/*/types.go). Lists not named here are atomic, as there.
_POD_SPEC_LISTS: dict[str, ListType] = {
    "containers": keyed("name"), "initContainers": keyed("name"),
    "ephemeralContainers": keyed("name"),
    "containers[].ports": keyed("containerPort", "protocol", protocol="TCP"),
    "initContainers[].ports": keyed("containerPort", "protocol", protocol="TCP"),
    "ephemeralContainers[].ports": keyed("containerPort", "protocol", protocol="TCP"),
    "env": keyed("name"), "volumeMounts": keyed("mountPath"),
    "volumeDevices": keyed("devicePath"), "resizePolicy": ATOMIC,
    "volumes": keyed("name"), "imagePullSecrets": keyed("name"), "hostAliases": keyed("ip"),
    "topologySpreadConstraints": keyed("topologyKey", "whenUnsatisfiable"),
    "resourceClaims": keyed("name"), "schedulingGates": keyed("name"),
    "tolerations": ATOMIC, "readinessGates": ATOMIC,
}
BUILTIN_TYPES = TypeTable(
    lists={
        **_POD_SPEC_LISTS,
        "metadata.finalizers": SET, "metadata.ownerReferences": keyed("uid"),
        "secrets": keyed("name"),  # ServiceAccount
        "conditions": keyed("type"),
        "status.podIPs": keyed("ip"), "status.hostIPs": keyed("ip"),
        "status.addresses": keyed("type"),  # Node
        "spec.ports": keyed("port", "protocol", protocol="TCP"),  # Service
        "spec.ipFamilies": ATOMIC, "spec.clusterIPs": ATOMIC,
        "spec.podCIDRs": SET,  # Node
        "spec.taints": ATOMIC,
        "spec.volumeClaimTemplates": ATOMIC,
        "spec.accessModes": ATOMIC,
        "subjects": ATOMIC, "rules": ATOMIC,
    },
    # Service's selector is mapType=atomic; a LabelSelector and an ObjectReference are
    # structType=atomic wherever they appear.
    atomic_maps=frozenset({
        "spec.selector", "labelSelector", "namespaceSelector", "podSelector",
        "spec.claimRef",
    }),
)


def type_table_from_schema(schema: Mapping[str, Any]) -> TypeTable:
    """The type table a structural OpenAPI v3 schema (a CRD version's) declares with
    x-kubernetes-list-type, x-kubernetes-list-map-keys and x-kubernetes-map-type. Its
    patterns are anchored: they name whole paths."""
    lists: dict[str, ListType] = {}
    atomic: set[str] = set()

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, Mapping):
            return
        list_type = node.get("x-kubernetes-list-type")
        if list_type == "map":
            lists["." + path] = keyed(*(node.get("x-kubernetes-list-map-keys") or []))
        elif list_type == "set":
            lists["." + path] = SET
        if node.get("x-kubernetes-map-type") == "atomic":
            atomic.add("." + path)
        for name, child in (node.get("properties") or {}).items():
            walk(child, f"{path}.{name}" if path else name)
        if isinstance(node.get("items"), Mapping):
            walk(node["items"], path + "[]")
        if isinstance(node.get("additionalProperties"), Mapping):
            walk(node["additionalProperties"], f"{path}.*" if path else "*")

    walk(schema, "")
    return TypeTable(lists=lists, atomic_maps=frozenset(atomic))


# --- path elements ---------------------------------------------------------------------


def field_element(name: str) -> str:
    return "f:" + name


def key_element(item: Mapping[str, Any], list_type: ListType) -> str | None:
    """The k: element of an item of a keyed list, or None when it lacks a key."""
    defaults = dict(list_type.defaults)
    key: dict[str, Any] = {}
    for k in list_type.keys:
        if k in item and item[k] is not None:
            key[k] = item[k]
        elif k in defaults:
            key[k] = defaults[k]
        else:
            return None
    return "k:" + _compact(key)


def value_element(value: Any) -> str:
    return "v:" + _compact(value)


def _compact(value: Any) -> str:
    """JSON as structured-merge-diff writes it in path elements: no spaces, keys sorted."""
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{encode_basestring(k)}:{_compact(v)}"
                              for k, v in sorted(value.items())) + "}"
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def path_string(path: Path) -> str:
    """A path as structured-merge-diff prints it: .spec.containers[name="web"].image."""
    out: list[str] = []
    for element in path:
        kind, rest = element[:2], element[2:]
        if kind == "f:":
            out.append("." + rest)
        elif kind == "k:":
            key = json.loads(rest)
            out.append("[" + ",".join(f"{k}={_compact(v)}" for k, v in sorted(key.items()))
                       + "]")
        elif kind == "v:":
            out.append(f"[={rest}]")
        else:
            out.append(f"[{rest}]")
    return "".join(out)


def names_of(path: Path) -> tuple[str, ...]:
    """The field names along a path, "[]" for each list item: what TypeTable patterns match."""
    return tuple(e[2:] if e.startswith("f:") else "[]" for e in path)


# --- FieldsV1 --------------------------------------------------------------------------

_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 tree of a set: nested objects, "." marking a node that is itself a
    member while it has children; a leaf's {} is a member by itself."""
    root: dict[str, Any] = {}
    members: set[Path] = set()
    for path in paths:
        node = root
        for element in path:
            node = node.setdefault(element, {})
        members.add(path)

    def finish(node: dict[str, Any], path: Path) -> dict[str, Any]:
        children = {k: finish(v, (*path, k)) for k, v in node.items()}
        ordered = dict(sorted(children.items(), key=lambda kv: (_ORDER[kv[0][0]], kv[0])))
        if children and path in members:
            return {MEMBER: {}, **ordered}
        return ordered

    return finish(root, ())


def from_fields_v1(tree: Any) -> FieldSet:
    """The set a FieldsV1 tree holds (FieldsError when it is not one)."""
    out: set[Path] = set()

    def walk(node: Any, path: Path) -> None:
        if not isinstance(node, dict):
            raise FieldsError(f"expected an object at {path_string(path) or 'the root'}")
        if not node and path:
            out.add(path)
        for key, child in node.items():
            if key == MEMBER:
                if path:
                    out.add(path)
                continue
            if len(key) < 2 or key[1] != ":" or key[0] not in _ORDER:
                raise FieldsError(f"unknown path element {key!r}")
            if key[0] in "kv":
                try:
                    json.loads(key[2:])
                except ValueError:
                    raise FieldsError(f"invalid path element {key!r}") from None
            walk(child, (*path, key))

    walk(tree, ())
    return frozenset(out)
