"""The table of built-in kinds: each once, and each found by its path and by its kind."""

from __future__ import annotations

from minikube_py.api.resources import BUILTIN, find_resource, resource_for_kind


def test_every_builtin_kind_is_listed_once() -> None:
    assert len(set(BUILTIN)) == len(BUILTIN)


def test_every_builtin_kind_is_found_by_path_and_kind() -> None:
    for r in BUILTIN:
        assert find_resource(r.group, r.version, r.plural) is r
        assert resource_for_kind(r.api_version, r.kind) is r
