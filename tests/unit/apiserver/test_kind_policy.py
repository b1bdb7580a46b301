"""policy/v1 PodDisruptionBudget: kube's validation, fresh status, generation and printer
columns, through the API service and the real kubectl."""

from pathlib import Path
from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PODDISRUPTIONBUDGETS
from minikube_py.apiserver.kinds.poddisruptionbudgets import pdb_row, pdb_spec_errors
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

NS = "default"


def pdb(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}}


def reasons(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in pdb_spec_errors(spec)]


# --- validation ------------------------------------------------------------------------


def test_min_available_and_max_unavailable_are_exclusive() -> None:
    [(field, message)] = reasons({"minAvailable": 1, "maxUnavailable": 1})
    assert field == "spec"
    assert message.endswith("minAvailable and maxUnavailable cannot be both set")


@pytest.mark.parametrize(("value", "why"), [
    (-1, "must be greater than or equal to 0"),
    ("5", "a valid percent string must be a numeric string followed by an ending '%'"),
    ("101%", "must not be greater than 100%"),
    (1.5, "must be an integer or percentage (e.g '5%')"),
])
def test_a_budget_is_a_non_negative_int_or_a_percentage(value: Any, why: str) -> None:
    for key in ("minAvailable", "maxUnavailable"):
        [(field, message)] = reasons({key: value})
        assert field == f"spec.{key}"
        assert why in message


@pytest.mark.parametrize("value", [0, 3, "0%", "50%", "100%"])
def test_valid_budgets(value: Any) -> None:
    assert reasons({"minAvailable": value, "selector": {}}) == []
    assert reasons({"maxUnavailable": value}) == []


def test_the_selector_is_validated() -> None:
    [(field, _)] = reasons({"selector": {"matchExpressions": [
        {"key": "app", "operator": "Is", "values": ["web"]}]}})
    assert field == "spec.selector.matchExpressions[0].operator"
    [(field, _)] = reasons({"selector": {"matchLabels": {"app": "not a value"}}})
    assert field == "spec.selector.matchLabels"


def test_only_kubes_unhealthy_pod_eviction_policies() -> None:
    assert reasons({"unhealthyPodEvictionPolicy": "AlwaysAllow"}) == []
    assert reasons({"unhealthyPodEvictionPolicy": "IfHealthyBudget"}) == []
    [(field, message)] = reasons({"unhealthyPodEvictionPolicy": "Never"})
    assert field == "spec.unhealthyPodEvictionPolicy"
    assert message == ('Unsupported value: "Never": supported values: "AlwaysAllow", '
                       '"IfHealthyBudget"')


async def test_an_invalid_budget_is_refused_with_kubes_status(svc: ApiService) -> None:
    with pytest.raises(ApiError) as e:
        await svc.create(PODDISRUPTIONBUDGETS, pdb(minAvailable="5"), namespace=NS)
    assert (e.value.code, e.value.reason) == (422, "Invalid")
    assert e.value.message.startswith(
        'PodDisruptionBudget.policy "web" is invalid: spec.minAvailable: Invalid value: "5"')


# --- stored object ---------------------------------------------------------------------


async def test_a_new_budget_has_zero_counts_and_generation_one(svc: ApiService) -> None:
    out = await svc.create(PODDISRUPTIONBUDGETS, {**pdb(minAvailable=1), "status": {
        "disruptionsAllowed": 5}}, namespace=NS)
    assert out["metadata"]["generation"] == 1
    assert out["status"] == {"disruptionsAllowed": 0, "currentHealthy": 0,
                             "desiredHealthy": 0, "expectedPods": 0}


async def test_generation_bumps_on_spec_change_and_status_writes_keep_the_spec(
        svc: ApiService) -> None:
    await svc.create(PODDISRUPTIONBUDGETS, pdb(minAvailable=1), namespace=NS)
    out = await svc.patch(PODDISRUPTIONBUDGETS, "web", {"metadata": {"labels": {"a": "b"}}},
                          namespace=NS)
    assert out["metadata"]["generation"] == 1
    out = await svc.patch(PODDISRUPTIONBUDGETS, "web", {"spec": {"minAvailable": 2}},
                          namespace=NS)
    assert out["metadata"]["generation"] == 2
    out["spec"]["minAvailable"] = 7
    out["status"] = {**out["status"], "observedGeneration": 2, "disruptionsAllowed": 1}
    out = await svc.update(PODDISRUPTIONBUDGETS, out, namespace=NS, subresource="status")
    assert (out["spec"]["minAvailable"], out["status"]["disruptionsAllowed"]) == (2, 1)
    out["status"]["currentHealthy"] = -1
    with pytest.raises(ApiError) as e:
        await svc.update(PODDISRUPTIONBUDGETS, out, namespace=NS, subresource="status")
    assert [c.field for c in e.value.causes] == ["status.currentHealthy"]


def test_row_shows_n_a_for_the_unset_bound() -> None:
    row = pdb_row({"metadata": {"name": "web"}, "spec": {"maxUnavailable": "25%"},
                   "status": {"disruptionsAllowed": 2}}, 0.0)
    assert row[:4] == ["web", "N/A", "25%", 2]


@needs_kubectl
async def test_kubectl_create_pdb_get_and_describe(kubeconfig: Path, svc: ApiService) -> None:
    rc, out, err = await kubectl(kubeconfig, "create", "pdb", "web", "--selector", "app=web",
                                 "--min-available", "2")
    assert rc == 0, err
    assert "poddisruptionbudget.policy/web created" in out
    await svc.create(PODDISRUPTIONBUDGETS, pdb("half", maxUnavailable="50%"), namespace=NS)
    rc, out, err = await kubectl(kubeconfig, "get", "pdb")
    assert rc == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED",
                              "DISRUPTIONS", "AGE"]
    assert [r.split()[:4] for r in rows] == [["half", "N/A", "50%", "0"],
                                             ["web", "2", "N/A", "0"]]
    rc, out, err = await kubectl(kubeconfig, "describe", "pdb", "web")
    assert rc == 0, err
    assert "Min available:  2" in out and "Selector:       app=web" in out
