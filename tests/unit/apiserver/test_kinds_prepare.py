"""prepare_for_create, prepare_for_update and prepare_for_subresource_update per kind: what
the server owns (status, generation, a Job's selector, a Namespace's finalizer and phase, a
Pod's phase and QoS class) and what an update may not change."""

import copy

import pytest

from minikube_py.api import resources as r
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from tests.unit.apiserver.kind_objects import (
    MINIMAL,
    UID,
    Obj,
    configmap,
    created,
    job,
    namespace,
    node,
    pod,
    service,
    strategy,
    template,
    updated,
)

WORKLOADS = [r.DEPLOYMENTS, r.REPLICASETS, r.DAEMONSETS, r.STATEFULSETS,
             r.REPLICATIONCONTROLLERS, r.JOBS, r.CRONJOBS]
WITH_STATUS = [res for res in MINIMAL if "status" in res.subresources]
FRESH: dict[Resource, Obj] = {
    **{res: {} for res in WORKLOADS},
    r.REPLICASETS: {"replicas": 0}, r.REPLICATIONCONTROLLERS: {"replicas": 0},
    r.STATEFULSETS: {"replicas": 0},
    r.DAEMONSETS: {"currentNumberScheduled": 0, "numberMisscheduled": 0,
                   "desiredNumberScheduled": 0, "numberReady": 0},
}
# Ingresses, IngressClasses and NetworkPolicies count spec changes too, as kube's do.
WITH_GENERATION = [*WORKLOADS, r.INGRESSES, r.INGRESSCLASSES, r.NETWORKPOLICIES,
                   r.PODDISRUPTIONBUDGETS, r.HORIZONTALPODAUTOSCALERS, r.HORIZONTALPODAUTOSCALERS_V1,
                   r.CUSTOMRESOURCEDEFINITIONS]
WITHOUT_GENERATION = [res for res in MINIMAL if res not in WITH_GENERATION]


def with_status(obj: Obj, status: Obj) -> Obj:
    return {**obj, "status": status}


def test_the_kinds_with_a_status_subresource_are_these() -> None:
    assert set(WITH_STATUS) == {r.NAMESPACES, r.NODES, r.PODS, r.SERVICES, *WORKLOADS,
                                r.CERTIFICATESIGNINGREQUESTS, r.INGRESSES, r.PERSISTENTVOLUMES,
                                r.PERSISTENTVOLUMECLAIMS, r.VOLUMEATTACHMENTS,
                                r.PODDISRUPTIONBUDGETS, r.RESOURCEQUOTAS, r.APISERVICES,
                                r.HORIZONTALPODAUTOSCALERS, r.HORIZONTALPODAUTOSCALERS_V1,
                                r.CUSTOMRESOURCEDEFINITIONS}


# --- prepare_for_create ---------------------------------------------------------------


@pytest.mark.parametrize(("resource", "sent", "stored"), [
    (r.PODS, {"phase": "Running", "podIP": "10.244.0.9"},
     {"phase": "Pending", "qosClass": "BestEffort"}),
    (r.SERVICES, {"loadBalancer": {"ingress": [{"ip": "10.200.0.9"}]}}, {"loadBalancer": {}}),
    (r.NAMESPACES, {"phase": "Terminating"}, {"phase": "Active"}),
    # kube's strategies clear a volume's and a claim's status; defaulting makes it Pending.
    (r.PERSISTENTVOLUMES, {"phase": "Bound"}, {"phase": "Pending"}),
    (r.PERSISTENTVOLUMECLAIMS, {"phase": "Bound", "capacity": {"storage": "1Gi"}},
     {"phase": "Pending"}),
    (r.VOLUMEATTACHMENTS, {"attached": True}, {"attached": False}),
    (r.RESOURCEQUOTAS, {"used": {"pods": "5"}}, {}),  # admission and the controller own it
    # A CRD starts with no conditions, no accepted names and its storage version stored.
    (r.CUSTOMRESOURCEDEFINITIONS, {"acceptedNames": {"plural": "x", "kind": "X"}},
     {"conditions": [], "acceptedNames": {"plural": "", "kind": ""}, "storedVersions": ["v1"]}),
    # The status kube starts each workload with: its always-encoded counters at zero.
    *[(res, {"replicas": 3, "observedGeneration": 7}, FRESH[res]) for res in WORKLOADS],
], ids=lambda v: str(v) if isinstance(v, Resource) else "")
def test_create_resets_the_status_a_client_sent(resource: Resource, sent: Obj,
                                                stored: Obj) -> None:
    obj = with_status(MINIMAL[resource](), sent)
    assert created(resource, obj)["status"] == stored


def test_a_node_is_created_with_the_status_its_kubelet_sent() -> None:
    status = {"capacity": {"cpu": "2"}, "conditions": [{"type": "Ready", "status": "True"}]}
    assert created(r.NODES, with_status(node(), status))["status"] == status


@pytest.mark.parametrize("resource", WITH_GENERATION, ids=str)
def test_workloads_are_created_at_generation_1(resource: Resource) -> None:
    obj = MINIMAL[resource]()
    obj["metadata"]["generation"] = 5
    assert created(resource, obj)["metadata"]["generation"] == 1


@pytest.mark.parametrize("resource", WITHOUT_GENERATION, ids=str)
def test_other_kinds_get_no_generation(resource: Resource) -> None:
    assert "generation" not in created(resource, MINIMAL[resource]())["metadata"]


def resources(requests: Obj | None = None, limits: Obj | None = None) -> Obj:
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v is not None}


BOTH = {"cpu": "500m", "memory": "64Mi"}


@pytest.mark.parametrize(("containers", "qos"), [
    ([{}], "BestEffort"),
    ([resources(requests={"cpu": "100m"})], "Burstable"),
    ([resources(limits={"memory": "64Mi"})], "Burstable"),
    ([resources(limits=BOTH)], "Guaranteed"),
    ([resources(requests=BOTH, limits=BOTH)], "Guaranteed"),
    ([resources(requests={"cpu": "100m", "memory": "64Mi"}, limits=BOTH)], "Burstable"),
    ([resources(limits=BOTH), {}], "Burstable"),
    ([resources(requests={"cpu": "0"})], "BestEffort"),
    # Only cpu and memory count.
    ([resources(requests={"ephemeral-storage": "1Gi"})], "BestEffort"),
    ([resources(limits={**BOTH, "ephemeral-storage": "1Gi"})], "Guaranteed"),
])
def test_pod_qos_class(containers: list[Obj], qos: str) -> None:
    obj = pod(containers=[{"name": f"c{i}", "image": "i", "resources": res}
                          for i, res in enumerate(containers)])
    assert created(r.PODS, obj)["status"]["qosClass"] == qos


def test_init_containers_count_towards_the_qos_class() -> None:
    obj = pod(initContainers=[{"name": "init", "image": "i",
                               "resources": resources(requests={"cpu": "1"})}])
    assert created(r.PODS, obj)["status"]["qosClass"] == "Burstable"


GENERATED_LABELS = {"batch.kubernetes.io/controller-uid": UID,
                    "batch.kubernetes.io/job-name": "pi",
                    "controller-uid": UID, "job-name": "pi"}


def test_job_selector_is_generated_from_its_uid() -> None:
    spec = created(r.JOBS, job())["spec"]
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": UID}}


def test_job_template_is_labelled_for_its_generated_selector() -> None:
    obj = job(template=template({"app": "pi"}, restartPolicy="Never"))
    labels = created(r.JOBS, obj)["spec"]["template"]["metadata"]["labels"]
    assert labels == {"app": "pi", **GENERATED_LABELS}


def test_job_without_labels_carries_the_generated_ones() -> None:
    assert created(r.JOBS, job())["metadata"]["labels"] == GENERATED_LABELS


def test_job_with_a_manual_selector_keeps_selector_and_labels() -> None:
    selector = {"matchLabels": {"app": "pi"}}
    obj = job(manualSelector=True, selector=selector,
              template=template({"app": "pi"}, restartPolicy="Never"))
    spec = created(r.JOBS, obj)["spec"]
    assert (spec["selector"], spec["template"]["metadata"]["labels"]) == \
        (selector, {"app": "pi"})


@pytest.mark.parametrize(("given", "stored"), [
    (None, ["kubernetes"]),
    (["example.com/cleanup"], ["example.com/cleanup", "kubernetes"]),
    (["kubernetes", "example.com/cleanup"], ["kubernetes", "example.com/cleanup"]),
])
def test_namespace_is_created_with_the_kubernetes_finalizer(given: list[str] | None,
                                                            stored: list[str]) -> None:
    obj = namespace() if given is None else namespace(finalizers=given)
    assert created(r.NAMESPACES, obj)["spec"]["finalizers"] == stored


# --- prepare_for_update ---------------------------------------------------------------


STORED_STATUS = {"observedGeneration": 1, "phase": "Stored",
                 "conditions": [{"type": "Ready", "status": "True"}]}
# A CRD's update also records a new storage version in status.storedVersions (below).
KEEPS_STATUS = [res for res in WITH_STATUS if res not in (r.NODES, r.CUSTOMRESOURCEDEFINITIONS)]


def test_a_crd_update_adds_its_new_storage_version_to_stored_versions() -> None:
    old = created(r.CUSTOMRESOURCEDEFINITIONS, MINIMAL[r.CUSTOMRESOURCEDEFINITIONS]())
    new = copy.deepcopy(old)
    new["spec"]["versions"] = [{**new["spec"]["versions"][0], "storage": False},
                               {"name": "v2", "served": True, "storage": True,
                                "schema": {"openAPIV3Schema": {"type": "object"}}}]
    new["status"] = {"storedVersions": []}
    out = updated(r.CUSTOMRESOURCEDEFINITIONS, old, new)
    assert out["status"]["storedVersions"] == ["v1", "v2"]
    assert out["metadata"]["generation"] == 2


def stored(resource: Resource, status: Obj | None = STORED_STATUS) -> Obj:
    obj = created(resource, MINIMAL[resource]())
    if status is None:
        obj.pop("status", None)
    else:
        obj["status"] = copy.deepcopy(status)
    return obj


@pytest.mark.parametrize("resource", KEEPS_STATUS, ids=str)
def test_update_keeps_the_stored_status(resource: Resource) -> None:
    old = stored(resource)
    new = with_status(copy.deepcopy(old), {"phase": "Forged"})
    assert updated(resource, old, new)["status"] == STORED_STATUS


@pytest.mark.parametrize("resource", KEEPS_STATUS, ids=str)
def test_update_of_an_object_stored_without_status_drops_the_one_sent(
        resource: Resource) -> None:
    old = stored(resource, None)
    new = with_status(copy.deepcopy(old), {"phase": "Forged"})
    assert "status" not in updated(resource, old, new)


def test_node_update_takes_the_status_sent() -> None:
    """Deliberately unlike kube: the kubelet heartbeats through the main resource."""
    old = stored(r.NODES)
    new = with_status(copy.deepcopy(old), {"conditions": [{"type": "Ready",
                                                           "status": "False"}]})
    assert updated(r.NODES, old, new)["status"] == new["status"]


def test_namespace_update_keeps_the_stored_finalizers() -> None:
    old = stored(r.NAMESPACES)
    new = copy.deepcopy(old)
    new["spec"] = {"finalizers": []}
    assert updated(r.NAMESPACES, old, new)["spec"] == {"finalizers": ["kubernetes"]}


def change_spec(resource: Resource, obj: Obj) -> None:
    spec = obj["spec"]
    if resource is r.CRONJOBS:
        spec["schedule"] = "0 4 * * *"
    elif resource is r.JOBS:
        spec["suspend"] = True
    elif resource is r.DAEMONSETS:
        spec["minReadySeconds"] = 5
    else:
        spec["replicas"] = 3


@pytest.mark.parametrize("resource", WORKLOADS, ids=str)
def test_a_spec_change_bumps_the_generation(resource: Resource) -> None:
    old = stored(resource)
    old["metadata"]["generation"] = 3
    new = copy.deepcopy(old)
    change_spec(resource, new)
    assert updated(resource, old, new)["metadata"]["generation"] == 4


@pytest.mark.parametrize("change", ["labels", "status"])
@pytest.mark.parametrize("resource", WORKLOADS, ids=str)
def test_a_change_beside_the_spec_keeps_the_generation(resource: Resource,
                                                       change: str) -> None:
    old = stored(resource)
    old["metadata"]["generation"] = 3
    new = copy.deepcopy(old)
    if change == "labels":
        new["metadata"]["labels"] = {"team": "a"}
    else:
        new["status"] = {"replicas": 9}
    assert updated(resource, old, new)["metadata"]["generation"] == 3


def test_a_spec_change_of_another_kind_sets_no_generation() -> None:
    old = stored(r.SERVICES)
    new = copy.deepcopy(old)
    new["spec"]["ports"] = [{"port": 81}]
    assert "generation" not in updated(r.SERVICES, old, new)["metadata"]


ALLOCATED = {"clusterIP": "10.96.0.42", "clusterIPs": ["10.96.0.42"]}


@pytest.mark.parametrize("left_out", [["clusterIP"], ["clusterIPs"],
                                      ["clusterIP", "clusterIPs"]])
def test_service_update_keeps_the_allocated_cluster_ip(left_out: list[str]) -> None:
    old = created(r.SERVICES, service(**ALLOCATED))
    new = copy.deepcopy(old)
    for f in left_out:
        del new["spec"][f]
    spec = updated(r.SERVICES, old, new)["spec"]
    assert {k: spec[k] for k in ALLOCATED} == ALLOCATED


def test_service_update_passes_a_changed_cluster_ip_on_to_validation() -> None:
    old = created(r.SERVICES, service(**ALLOCATED))
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.43"
    assert updated(r.SERVICES, old, new)["spec"]["clusterIP"] == "10.96.0.43"


def test_a_kind_without_status_takes_the_whole_body() -> None:
    old = created(r.CONFIGMAPS, configmap(data={"a": "1"}))
    new = configmap(data={"a": "2"})
    assert updated(r.CONFIGMAPS, old, new) == new


# --- prepare_for_subresource_update ---------------------------------------------------


def subresource_update(resource: Resource, subresource: str, old: Obj, body: Obj) -> Obj:
    new = strategy(resource).prepare_for_subresource_update(subresource, body,
                                                            copy.deepcopy(old))
    strategy(resource).default(new)
    return new


def rewritten(obj: Obj) -> Obj:
    """A status body that also tries to change the metadata and the spec."""
    body = copy.deepcopy(obj)
    body["metadata"]["labels"] = {"forged": "yes"}
    body["metadata"]["annotations"] = {"forged": "yes"}
    body["spec"] = {"forged": True}
    body["status"] = {"phase": "Reported"}
    return body


@pytest.mark.parametrize("resource", WITH_STATUS, ids=str)
def test_status_update_takes_the_status_only(resource: Resource) -> None:
    """Stricter than kube, whose status strategies of some kinds (Deployment, Pod) let a
    status write change labels or annotations: here metadata is never a status write's."""
    old = stored(resource)
    new = subresource_update(resource, "status", old, rewritten(old))
    assert new == {**old, "status": {"phase": "Reported"}}


@pytest.mark.parametrize("resource", WITH_STATUS, ids=str)
def test_status_update_without_a_status_keeps_the_stored_one(resource: Resource) -> None:
    old = stored(resource)
    body = copy.deepcopy(old)
    del body["status"]
    assert subresource_update(resource, "status", old, body)["status"] == STORED_STATUS


def test_namespace_finalize_takes_the_finalizers_only() -> None:
    old = stored(r.NAMESPACES, {"phase": "Terminating"})
    body = rewritten(old)
    body["spec"] = {"finalizers": ["example.com/cleanup"]}
    new = subresource_update(r.NAMESPACES, "finalize", old, body)
    assert new == {**old, "spec": {"finalizers": ["example.com/cleanup"]}}


def test_namespace_finalize_without_finalizers_empties_them() -> None:
    old = stored(r.NAMESPACES, {"phase": "Terminating"})
    new = subresource_update(r.NAMESPACES, "finalize", old, {"metadata": old["metadata"]})
    assert new["spec"]["finalizers"] == []


def test_finalize_ends_the_namespace_hold_once_empty() -> None:
    old = stored(r.NAMESPACES, {"phase": "Terminating"})
    new = subresource_update(r.NAMESPACES, "finalize", old, {"spec": {"finalizers": []}})
    assert (strategy(r.NAMESPACES).finalizing(old),
            strategy(r.NAMESPACES).finalizing(new)) == (True, False)


@pytest.mark.parametrize(("resource", "subresource"), [
    (r.CONFIGMAPS, "status"), (r.PODS, "finalize"), (r.DEPLOYMENTS, "finalize"),
    (r.PODS, "forged"),
])
def test_an_unknown_subresource_is_not_found(resource: Resource, subresource: str) -> None:
    obj = created(resource, MINIMAL[resource]())
    with pytest.raises(ApiError) as e:
        strategy(resource).prepare_for_subresource_update(subresource, obj, obj)
    assert (e.value.code, e.value.reason) == (404, "NotFound")
    assert e.value.message.startswith(f"{resource.plural}/{subresource}")

