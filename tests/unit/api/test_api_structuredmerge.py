"""The structured-merge core: field sets, FieldsV1, merge, compare, Update and Apply."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.api.fieldpath import (
    ATOMIC,
    BUILTIN_TYPES,
    SET,
    FieldsError,
    Path,
    TypeTable,
    from_fields_v1,
    keyed,
    path_string,
    to_fields_v1,
    type_table_from_schema,
)
from minikube_py.api.structuredmerge import (
    APPLY,
    UPDATE,
    ApplyError,
    Conflicts,
    Manager,
    Owned,
    applied_fields,
    apply,
    cap_update_managers,
    compare,
    fields_of,
    merge,
    update,
)

T = BUILTIN_TYPES
A = Manager("a", APPLY)
B = Manager("b", APPLY)
CSA = Manager("kubectl-client-side-apply", UPDATE, update_version="apps/v1")
NOW = "2026-12-04T00:00:00Z"


def p(*elements: str) -> Path:
    return tuple(elements)


def deployment(replicas: int = 1, image: str = "web:1", **spec: Any) -> dict[str, Any]:
    return {"spec": {"replicas": replicas, **spec, "template": {"spec": {"containers": [
        {"name": "web", "image": image}]}}}}


WEB = 'k:{"name":"web"}'
CONTAINER = p("f:spec", "f:template", "f:spec", "f:containers", WEB)


@pytest.mark.parametrize(("names", "expected"), [
    (("spec", "template", "spec", "containers"), keyed("name")),
    (("spec", "containers", "[]", "ports"), keyed("containerPort", "protocol", protocol="TCP")),
    (("spec", "ports"), keyed("port", "protocol", protocol="TCP")),
    (("spec", "template", "spec", "containers", "[]", "env"), keyed("name")),
    (("metadata", "finalizers"), SET),
    (("status", "conditions"), keyed("type")),
    (("spec", "tolerations"), ATOMIC),
    (("spec", "template", "spec", "containers", "[]", "args"), ATOMIC),
    (("data", "unknown"), ATOMIC),
])
def test_builtin_list_types_by_path_suffix(names: tuple[str, ...], expected: Any) -> None:
    assert T.list_type(names) == expected


def test_service_and_label_selectors_are_atomic_maps_labels_are_not() -> None:
    assert T.map_is_atomic(("spec", "selector"))
    assert not T.map_is_atomic(("metadata", "labels"))


def test_schema_table_is_anchored_at_the_root() -> None:
    table = type_table_from_schema({"type": "object", "properties": {"spec": {
        "type": "object", "properties": {
            "items": {"type": "array", "x-kubernetes-list-type": "map",
                      "x-kubernetes-list-map-keys": ["id"],
                      "items": {"type": "object", "properties": {"tags": {
                          "type": "array", "x-kubernetes-list-type": "set"}}}},
            "sel": {"type": "object", "x-kubernetes-map-type": "atomic"}}}}})
    assert table.list_type(("spec", "items")) == keyed("id")
    assert table.list_type(("spec", "items", "[]", "tags")) == SET
    assert table.list_type(("x", "spec", "items")) == ATOMIC
    assert table.list_type(("spec", "containers")) == ATOMIC  # no built-in patterns
    assert table.map_is_atomic(("spec", "sel"))


@pytest.mark.parametrize(("path", "text"), [
    (p("f:spec", "f:replicas"), ".spec.replicas"),
    ((*CONTAINER, "f:image"), '.spec.template.spec.containers[name="web"].image'),
    (p("f:ports", 'k:{"containerPort":80,"protocol":"TCP"}'),
     '.ports[containerPort=80,protocol="TCP"]'),
    (p("f:metadata", "f:finalizers", 'v:"x"'), '.metadata.finalizers[="x"]'),
    (p("f:args", "i:0"), ".args[0]"),
])
def test_paths_print_as_structured_merge_diff_prints_them(path: Path, text: str) -> None:
    assert path_string(path) == text


def test_fields_v1_marks_members_with_children_by_a_dot_and_round_trips() -> None:
    fields = frozenset({p("f:metadata", "f:labels"), p("f:metadata", "f:labels", "f:app"),
                        CONTAINER, (*CONTAINER, "f:image"), p("f:spec", "f:replicas")})
    tree = to_fields_v1(fields)
    assert tree == {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
            WEB: {".": {}, "f:image": {}}}}}}}
    assert list(tree["f:metadata"]["f:labels"]) == [".", "f:app"]
    assert from_fields_v1(tree) == fields


@pytest.mark.parametrize("tree", [[], {"f:a": 1}, {"x:a": {}}, {"k:{bad": {}}])
def test_malformed_fields_v1_is_refused(tree: Any) -> None:
    with pytest.raises(FieldsError):
        from_fields_v1(tree)


def test_applied_fields_are_leaves_and_list_items_not_maps() -> None:
    config = deployment(3) | {"metadata": {"labels": {"app": "web"}, "annotations": {}}}
    assert applied_fields(config, T) == {
        p("f:metadata", "f:labels", "f:app"), p("f:metadata", "f:annotations"),
        p("f:spec", "f:replicas"), CONTAINER, (*CONTAINER, "f:name"),
        (*CONTAINER, "f:image")}


def test_ports_without_protocol_are_keyed_by_its_default() -> None:
    config = {"spec": {"ports": [{"port": 80}]}}
    assert p("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}') in applied_fields(config, T)


def test_compare_sees_added_modified_and_removed_leaves() -> None:
    old = deployment(1) | {"metadata": {"labels": {"a": "1", "b": "2"}}}
    new = deployment(2, image="web:2") | {"metadata": {"labels": {"a": "1", "c": "3"}}}
    cmp = compare(old, new, T)
    assert cmp.added == {p("f:metadata", "f:labels", "f:c")}
    assert cmp.modified == {p("f:spec", "f:replicas"), (*CONTAINER, "f:image")}
    assert cmp.removed == {p("f:metadata", "f:labels", "f:b")}


def test_an_atomic_list_is_compared_whole() -> None:
    cmp = compare({"spec": {"tolerations": [{"key": "a"}]}},
                  {"spec": {"tolerations": [{"key": "b"}]}}, T)
    assert cmp.modified == {p("f:spec", "f:tolerations")} and not cmp.added


@pytest.mark.parametrize(("live", "config", "merged"), [
    ({"a": {"x": 1, "y": 2}}, {"a": {"y": 3}}, {"a": {"x": 1, "y": 3}}),
    ({"a": 1, "b": 2}, {"b": None}, {"a": 1}),
    ({"spec": {"selector": {"x": "1"}}}, {"spec": {"selector": {"y": "2"}}},
     {"spec": {"selector": {"y": "2"}}}),
    ({"metadata": {"finalizers": ["a"]}}, {"metadata": {"finalizers": ["b", "a"]}},
     {"metadata": {"finalizers": ["a", "b"]}}),
    ({"args": [1, 2]}, {"args": [3]}, {"args": [3]}),
    ({"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]},
     {"containers": [{"name": "b", "image": "3"}, {"name": "c"}]},
     {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "3"}, {"name": "c"}]}),
])
def test_merge(live: Any, config: Any, merged: Any) -> None:
    assert merge(live, config, T) == merged


def test_duplicate_keys_in_an_applied_list_are_refused() -> None:
    with pytest.raises(ApplyError):
        merge({"containers": []}, {"containers": [{"name": "a"}, {"name": "a"}]}, T)


def test_update_owns_what_it_changed_and_takes_it_from_others() -> None:
    live = deployment(1)
    managed = update({}, live, {}, CSA, "apps/v1", NOW, T)
    assert p("f:spec", "f:replicas") in managed[CSA].fields
    hpa = Manager("hpa", UPDATE, update_version="apps/v1")
    after = update(live, deployment(5), managed, hpa, "apps/v1", NOW, T)
    assert after[hpa].fields == {p("f:spec", "f:replicas")}
    assert p("f:spec", "f:replicas") not in after[CSA].fields


def test_an_update_that_changes_nothing_keeps_the_entry_and_its_time() -> None:
    live = deployment(1)
    managed = {CSA: Owned(fields_of(live, T), "apps/v1", "earlier")}
    assert update(live, live, managed, CSA, "apps/v1", NOW, T) == managed


def test_apply_conflicts_with_another_managers_differing_value() -> None:
    first = apply({}, deployment(2), {}, A, "apps/v1", NOW, T)
    with pytest.raises(Conflicts) as e:
        apply(first.obj, {"spec": {"replicas": 3}}, first.managed, B, "apps/v1", NOW, T)
    assert str(e.value) == 'Apply failed with 1 conflict: conflict with "a": .spec.replicas'


def test_apply_of_the_same_value_shares_ownership() -> None:
    first = apply({}, deployment(2), {}, A, "apps/v1", NOW, T)
    second = apply(first.obj, {"spec": {"replicas": 2}}, first.managed, B, "apps/v1", NOW, T)
    assert p("f:spec", "f:replicas") in second.managed[A].fields
    assert second.managed[B].fields == {p("f:spec", "f:replicas")}


def test_force_hands_the_field_over() -> None:
    first = apply({}, deployment(2), {}, A, "apps/v1", NOW, T)
    second = apply(first.obj, {"spec": {"replicas": 3}}, first.managed, B, "apps/v1", NOW, T,
                   force=True)
    assert second.obj["spec"]["replicas"] == 3
    assert p("f:spec", "f:replicas") not in second.managed[A].fields


def test_conflicts_name_update_managers_with_their_version_and_list_every_path() -> None:
    live = deployment(1)
    managed = update({}, live, {}, CSA, "apps/v1", NOW, T)
    with pytest.raises(Conflicts) as e:
        apply(live, deployment(2, image="web:2"), managed, A, "apps/v1", NOW, T)
    assert str(e.value) == (
        'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using '
        'apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name="web"].image')


def test_a_field_the_applier_drops_is_removed_unless_another_manager_owns_it() -> None:
    first = apply({}, {"metadata": {"labels": {"x": "1", "y": "2"}}}, {}, A, "v1", NOW, T)
    shared = apply(first.obj, {"metadata": {"labels": {"y": "2"}}}, first.managed, B, "v1",
                   NOW, T)
    dropped = apply(shared.obj, {}, shared.managed, A, "v1", NOW, T)
    assert dropped.obj == {"metadata": {"labels": {"y": "2"}}}
    assert A not in dropped.managed


def test_a_dropped_container_goes_with_its_fields() -> None:
    two = deployment(1)
    two["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "s"})
    first = apply({}, two, {}, A, "apps/v1", NOW, T)
    second = apply(first.obj, deployment(1), first.managed, A, "apps/v1", NOW, T)
    assert second.obj == deployment(1)


def test_a_field_nobody_applied_stays_when_the_applier_drops_its_own() -> None:
    first = apply({"spec": {"paused": False}}, deployment(1), {}, A, "apps/v1", NOW, T)
    second = apply(first.obj, {"spec": {}}, first.managed, A, "apps/v1", NOW, T)
    assert second.obj == {"spec": {"paused": False}}


def test_allowed_conflicts_are_taken_over_without_force() -> None:
    live = deployment(1)
    managed = update({}, live, {}, CSA, "apps/v1", NOW, T)
    out = apply(live, deployment(2), managed, A, "apps/v1", NOW, T,
                allowed_conflicts=fields_of(live, T))
    assert out.obj["spec"]["replicas"] == 2


def test_an_apply_that_changes_nothing_keeps_the_time() -> None:
    first = apply({}, deployment(2), {}, A, "apps/v1", "earlier", T)
    again = apply(first.obj, deployment(2), first.managed, A, "apps/v1", NOW, T)
    assert again.managed[A].time == "earlier"


def test_ignored_fields_are_neither_owned_nor_in_conflict() -> None:
    ignored = frozenset({p("f:status")})
    out = apply({}, {"spec": {"a": 1}, "status": {"b": 2}}, {}, A, "v1", NOW, T,
                ignored=ignored)
    assert out.managed[A].fields == {p("f:spec", "f:a")}


def test_the_empty_table_makes_every_list_atomic() -> None:
    assert TypeTable().list_type(("spec", "containers")) == ATOMIC


def test_the_oldest_update_managers_beyond_ten_merge_into_ancient_changes() -> None:
    managed = {Manager(f"u{i:02}", UPDATE, update_version="v1"):
               Owned(frozenset({p("f:data", f"f:k{i}")}), "v1", f"2026-01-01T00:00:{i:02}Z")
               for i in range(12)}
    managed[A] = Owned(frozenset({p("f:data", "f:a")}), "v1", "2020-01-01T00:00:00Z")
    capped = cap_update_managers(managed)
    ancient = Manager("ancient-changes", UPDATE, update_version="v1")
    assert sorted(m.name for m in capped) == ["a", "ancient-changes"] + [
        f"u{i:02}" for i in range(3, 12)]
    assert capped[ancient].fields == {p("f:data", f"f:k{i}") for i in range(3)}
    assert capped[ancient].time == "2026-01-01T00:00:02Z"
