"""Quota usage as kube's core evaluators count it: pods (terminal and deleted ones, init
containers, sidecars), services, claims, object counts; and quantity text as Go prints it."""

from fractions import Fraction
from typing import Any

import pytest

from minikube_py.api import quota as q
from minikube_py.api.quantity import format_quantity, parse_quantity
from minikube_py.api.resources import (
    CONFIGMAPS,
    DEPLOYMENTS,
    PERSISTENTVOLUMECLAIMS,
    PODS,
    SERVICES,
)

NOW = 1_700_000_000.0


def container(name: str, requests: dict[str, str] | None = None,
              limits: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    res = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    return {"name": name, "image": "busybox", "resources": res, **extra}


def pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = (),
        **meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", **meta},
            "spec": {"containers": list(containers), "initContainers": list(init)}}


@pytest.mark.parametrize(("text", "binary", "printed"), [
    ("100m", False, "100m"), ("1000", False, "1k"), ("1500", False, "1500"),
    ("0.5", False, "500m"), ("128Mi", True, "128Mi"), ("1G", True, "1G"), ("0", True, "0"),
    ("1536Mi", True, "1536Mi"), ("2048Mi", True, "2Gi"),
])
def test_quantities_print_as_go_does(text: str, binary: bool, printed: str) -> None:
    assert format_quantity(parse_quantity(text), binary) == printed


def test_a_pod_uses_its_requests_and_limits_under_every_name() -> None:
    used = q.usage(PODS, pod(container("a", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "1"}),
                             container("b", {"cpu": "200m"})), NOW)
    assert q.format_list(used) == {
        "count/pods": "1", "cpu": "300m", "limits.cpu": "1", "memory": "64Mi", "pods": "1",
        "requests.cpu": "300m", "requests.memory": "64Mi"}


def test_init_containers_count_at_their_peak_and_sidecars_throughout() -> None:
    big_init = container("init", {"cpu": "2"})
    sidecar = container("side", {"cpu": "100m"}, restartPolicy="Always")
    used = q.usage(PODS, pod(container("a", {"cpu": "500m"}), init=(big_init,)), NOW)
    assert used["requests.cpu"] == 2
    used = q.usage(PODS, pod(container("a", {"cpu": "500m"}), init=(sidecar,)), NOW)
    assert used["requests.cpu"] == Fraction(6, 10)


def test_terminal_and_expired_deleting_pods_use_only_their_count() -> None:
    done = pod(container("a", {"cpu": "1"}))
    done["status"] = {"phase": "Succeeded"}
    assert q.usage(PODS, done, NOW) == {"count/pods": 1}
    deleting = pod(container("a"), deletionTimestamp="2023-11-14T22:13:10Z",
                   deletionGracePeriodSeconds=30)
    assert "pods" in q.usage(PODS, deleting, 1_699_999_990.0 + 30)  # within its grace
    assert "pods" not in q.usage(PODS, deleting, NOW + 60)


def test_services_count_nodeports_and_load_balancers() -> None:
    ports = [{"port": 80}, {"port": 443}]
    assert q.usage(SERVICES, {"spec": {"type": "NodePort", "ports": ports}}, NOW) == {
        "count/services": 1, "services": 1, "services.nodeports": 2,
        "services.loadbalancers": 0}
    lb = q.usage(SERVICES, {"spec": {"type": "LoadBalancer", "ports": ports,
                                     "allocateLoadBalancerNodePorts": False}}, NOW)
    assert (lb["services.loadbalancers"], lb["services.nodeports"]) == (1, 0)


def test_claims_count_storage_per_class() -> None:
    pvc = {"spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "1Gi"}}}}
    assert q.format_list(q.usage(PERSISTENTVOLUMECLAIMS, pvc, NOW)) == {
        "count/persistentvolumeclaims": "1", "fast.storageclass.storage.k8s.io/"
        "persistentvolumeclaims": "1", "fast.storageclass.storage.k8s.io/requests.storage":
        "1Gi", "persistentvolumeclaims": "1", "requests.storage": "1Gi"}


def test_other_kinds_count_objects() -> None:
    assert q.usage(CONFIGMAPS, {}, NOW) == {"count/configmaps": 1, "configmaps": 1}
    assert q.usage(DEPLOYMENTS, {}, NOW) == {"count/deployments.apps": 1}
    assert q.matches(DEPLOYMENTS, "count/deployments.apps")
    assert not q.matches(DEPLOYMENTS, "pods")
    assert q.matches(PODS, "requests.nvidia.com/gpu") and not q.matches(PODS, "requests.storage")


def test_missing_requests_names_containers_per_name() -> None:
    p = pod(container("a", {"cpu": "1"}), container("b"))
    assert q.missing_requests(p, ["requests.cpu", "limits.memory", "pods"]) == (
        "must specify limits.memory for: a,b; requests.cpu for: b")
    assert q.missing_requests(p, ["pods", "count/pods"]) is None


def test_recount_sums_every_counted_kind_and_fills_zeros() -> None:
    hard = ["pods", "requests.cpu", "configmaps", "services"]
    assert q.counted_resources(hard, (PODS, CONFIGMAPS, DEPLOYMENTS)) == [PODS, CONFIGMAPS]
    objects = {PODS: [pod(container("a", {"cpu": "250m"}))] * 2, CONFIGMAPS: [{}]}
    quota = {"spec": {"hard": dict.fromkeys(hard, "9")}}
    assert q.format_list(q.recount(quota, objects, NOW)) == {
        "configmaps": "1", "pods": "2", "requests.cpu": "500m", "services": "0"}


def test_scopes_select_pods_by_deadline_qos_and_priority_class() -> None:
    finite = pod(container("a"))
    finite["spec"]["activeDeadlineSeconds"] = 60
    sized = pod(container("a", {"cpu": "100m"}))
    sized["spec"]["priorityClassName"] = "high"
    terminating = q.scope_selectors({"spec": {"scopes": ["Terminating"]}})
    assert q.in_scope(PODS, finite, terminating) and not q.in_scope(PODS, sized, terminating)
    best_effort = q.scope_selectors({"spec": {"scopes": ["BestEffort"]}})
    assert q.in_scope(PODS, finite, best_effort) and not q.in_scope(PODS, sized, best_effort)
    not_high = q.scope_selectors({"spec": {"scopeSelector": {"matchExpressions": [
        {"scopeName": "PriorityClass", "operator": "NotIn", "values": ["high"]}]}}})
    assert q.in_scope(PODS, finite, not_high) and not q.in_scope(PODS, sized, not_high)
    assert not q.in_scope(CONFIGMAPS, {}, best_effort)  # only pods are ever in a scope
    quota = {"spec": {"hard": {"pods": "5"}, "scopes": ["NotBestEffort"]}}
    assert q.recount(quota, {PODS: [finite, sized]}, NOW) == {"pods": 1}
