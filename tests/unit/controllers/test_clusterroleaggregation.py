"""What an aggregated ClusterRole gathers from the ClusterRoles its selectors match."""

from typing import Any

import pytest

from minikube_py.controllers.clusterroleaggregation import aggregated_rules

Obj = dict[str, Any]
TO_VIEW = "rbac.authorization.k8s.io/aggregate-to-view"


def role(name: str, labels: dict[str, str], *resources: str) -> Obj:
    return {"metadata": {"name": name, "labels": labels},
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": [r]}
                      for r in resources]}


def aggregated(*selectors: Obj) -> Obj:
    return {"metadata": {"name": "view"},
            "aggregationRule": {"clusterRoleSelectors": list(selectors)}}


VIEW = aggregated({"matchLabels": {TO_VIEW: "true"}})


@pytest.mark.parametrize(("role_", "others", "resources"), [
    (VIEW, [role("b", {TO_VIEW: "true"}, "pods"), role("a", {TO_VIEW: "true"}, "services")],
     ["services", "pods"]),  # by role name
    (VIEW, [role("a", {TO_VIEW: "false"}, "pods")], []),
    (VIEW, [role("a", {}, "pods")], []),
    (VIEW, [role("a", {TO_VIEW: "true"}, "pods"), role("b", {TO_VIEW: "true"}, "pods")],
     ["pods"]),  # each rule once
    (aggregated({"matchLabels": {"x": "1"}}, {"matchLabels": {"y": "1"}}),
     [role("a", {"x": "1"}, "pods"), role("b", {"y": "1"}, "secrets")], ["pods", "secrets"]),
    (aggregated({"matchExpressions": [{"key": "x", "operator": "Exists"}]}),
     [role("a", {"x": "anything"}, "pods")], ["pods"]),
])
def test_aggregated_rules(role_: Obj, others: list[Obj], resources: list[str]) -> None:
    rules = aggregated_rules(role_, [role_, *others])
    assert rules is not None
    assert [r["resources"][0] for r in rules] == resources


def test_an_aggregated_role_never_gathers_itself() -> None:
    self_matching = {**VIEW, "metadata": {"name": "view", "labels": {TO_VIEW: "true"}},
                     "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]}
    assert aggregated_rules(self_matching, [self_matching]) == []


def test_a_role_without_an_aggregation_rule_is_not_aggregated() -> None:
    assert aggregated_rules(role("a", {}, "pods"), []) is None
