"""A custom resource's printer columns: kube's JSONPaths, cells, Name first and Age alone
when the version has no columns."""

from typing import Any

import pytest

from minikube_py.apiserver.customresources.printer import (
    JsonPathError,
    custom_printer,
    evaluate,
    parse_path,
)

OBJ: dict[str, Any] = {
    "metadata": {"name": "w", "creationTimestamp": "2023-11-14T22:13:20Z"},
    "spec": {"size": "S", "ports": [80, 443], "nested": {"a": {"b": 1}}},
    "status": {"conditions": [{"type": "Ready", "status": "True"},
                              {"type": "Synced", "status": "False"}]}}


@pytest.mark.parametrize("path, values", [
    (".spec.size", ["S"]),
    ("{.spec.size}", ["S"]),
    (".spec.nested.a.b", [1]),
    (".spec.ports[1]", [443]),
    (".spec.ports[*]", [80, 443]),
    ('.status.conditions[?(@.type=="Ready")].status', ["True"]),
    (".status.conditions[?(@.type=='Synced')].status", ["False"]),
    (".spec.missing", []),
    (".spec.ports[7]", []),
])
def test_evaluate(path: str, values: list[Any]) -> None:
    assert evaluate(parse_path(path), OBJ) == values


@pytest.mark.parametrize("path", [".spec..x", "spec.size", ".spec[?(@.a>1)]"])
def test_unsupported_paths_are_errors(path: str) -> None:
    with pytest.raises(JsonPathError):
        parse_path(path)


def test_rows_and_columns() -> None:
    printer = custom_printer([
        {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
        {"name": "Ports", "type": "string", "jsonPath": ".spec.ports[*]", "priority": 1},
        {"name": "Nested", "type": "string", "jsonPath": ".spec.nested"},
        {"name": "Gone", "type": "string", "jsonPath": ".spec.gone"},
        {"name": "Created", "type": "date", "jsonPath": ".metadata.creationTimestamp"}])
    assert [(c["name"], c["priority"]) for c in printer.columns] == [
        ("Name", 0), ("Size", 0), ("Ports", 1), ("Nested", 0), ("Gone", 0), ("Created", 0)]
    assert printer.row(OBJ, 1_700_000_000.0 + 600) == [
        "w", "S", "80,443", '{"a":{"b":1}}', None, "10m"]


def test_no_columns_is_name_and_age() -> None:
    printer = custom_printer([])
    assert [c["name"] for c in printer.columns] == ["Name", "Age"]
    assert printer.row(OBJ, 1_700_000_000.0 + 5) == ["w", "5s"]
