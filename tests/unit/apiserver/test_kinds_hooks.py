"""The rest of every kind's strategy, per kind: graceful deletion, finalizing, field selectors,
kubectl's columns, the scale subresource's selector, the protobuf schema, create-on-update,
expiry and the name rule; and what every registered kind must have."""

import copy
from typing import Any

import pytest

from minikube_py.api import resources as r
from minikube_py.api.resources import Resource
from minikube_py.api.validation import (
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    path_segment_errors,
)
from minikube_py.apiserver.kinds.apiservices import apiservice_name_errors
from minikube_py.apiserver.kinds.certificatesigningrequests import any_name
from minikube_py.apiserver.kinds.csi import driver_name_errors
from minikube_py.apiserver.protobuf_schema import MESSAGES
from minikube_py.apiserver.tables import table
from tests.csrs import KUBELET_CLIENT_SIGNER
from tests.unit.apiserver.kind_objects import (
    MINIMAL,
    Obj,
    created,
    csr,
    namespace,
    pod,
    replicated,
    replicationcontroller,
    strategy,
)
from tests.unit.apiserver.kinds import KINDS

NOW = 1_700_000_000.0
ALL = list(MINIMAL)


def minimal(resource: Resource) -> Obj:
    obj = created(resource, MINIMAL[resource]())
    obj["metadata"]["creationTimestamp"] = "2023-11-14T22:00:00Z"
    return obj


# --- deletion ---------------------------------------------------------------------------


def on_node(phase: str = "Running", **spec: Any) -> Obj:
    obj = created(r.PODS, pod(nodeName="n1", **spec))
    obj["status"]["phase"] = phase
    return obj


@pytest.mark.parametrize(("obj", "requested", "seconds"), [
    pytest.param(created(r.PODS, pod()), None, 0, id="unscheduled pod goes at once"),
    pytest.param(created(r.PODS, pod()), 30, 0, id="unscheduled pod ignores a request"),
    pytest.param(on_node(), None, 30, id="scheduled pod waits its default period"),
    pytest.param(on_node(terminationGracePeriodSeconds=5), None, 5,
                 id="scheduled pod waits its own period"),
    pytest.param(on_node(), 10, 10, id="a requested period wins"),
    pytest.param(on_node(), 0, 0, id="a zero request deletes at once"),
    pytest.param(on_node(), -1, 1, id="a negative request becomes one second"),
    pytest.param(on_node(terminationGracePeriodSeconds=-5), None, 1,
                 id="a negative own period becomes one second"),
    pytest.param(on_node("Succeeded"), 30, 0, id="a succeeded pod goes at once"),
    pytest.param(on_node("Failed"), None, 0, id="a failed pod goes at once"),
])
def test_pod_grace_period(obj: Obj, requested: int | None, seconds: int) -> None:
    assert strategy(r.PODS).grace_period(obj, requested) == seconds


@pytest.mark.parametrize("resource", [res for res in ALL if res is not r.PODS], ids=str)
def test_other_kinds_are_deleted_at_once(resource: Resource) -> None:
    assert strategy(resource).grace_period(minimal(resource), 30) == 0


@pytest.mark.parametrize(("finalizers", "held"), [
    (["kubernetes"], True), (["example.com/cleanup"], True), ([], False), (None, False)])
def test_namespace_is_held_while_its_spec_has_finalizers(finalizers: list[str] | None,
                                                          held: bool) -> None:
    obj = minimal(r.NAMESPACES)
    obj["spec"] = {} if finalizers is None else {"finalizers": finalizers}
    assert strategy(r.NAMESPACES).finalizing(obj) is held


@pytest.mark.parametrize("resource", [res for res in ALL if res not in (
    r.NAMESPACES, r.CUSTOMRESOURCEDEFINITIONS)], ids=str)
def test_other_kinds_are_held_by_metadata_finalizers_alone(resource: Resource) -> None:
    obj = minimal(resource)
    obj["spec"] = {**(obj.get("spec") or {}), "finalizers": ["kubernetes"]}
    assert strategy(resource).finalizing(obj) is False


def test_a_crd_is_held_until_marked_then_by_its_cleanup_finalizer() -> None:
    obj = minimal(r.CUSTOMRESOURCEDEFINITIONS)
    crds = strategy(r.CUSTOMRESOURCEDEFINITIONS)
    assert crds.finalizing(obj) is True
    obj["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    crds.prepare_for_delete(obj)
    assert obj["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    terminating = obj["status"]["conditions"][-1]
    assert (terminating["type"], terminating["status"], terminating["reason"]) == (
        "Terminating", "True", "InstanceDeletionPending")
    assert crds.finalizing(obj) is False


def test_deleting_a_namespace_marks_it_terminating() -> None:
    obj = minimal(r.NAMESPACES)
    strategy(r.NAMESPACES).prepare_for_delete(obj)
    assert obj["status"] == {"phase": "Terminating"}


@pytest.mark.parametrize("resource", [res for res in ALL if res not in (
    r.NAMESPACES, r.CUSTOMRESOURCEDEFINITIONS)], ids=str)
def test_deleting_other_kinds_marks_nothing(resource: Resource) -> None:
    obj = minimal(resource)
    before = copy.deepcopy(obj)
    strategy(resource).prepare_for_delete(obj)
    assert obj == before


def test_only_pods_answer_a_delete_with_the_object() -> None:
    assert [res for res in ALL if strategy(res).return_deleted_object] == [r.PODS]


# --- field selectors ------------------------------------------------------------------


def with_status(obj: Obj, status: Obj) -> Obj:
    return {**obj, "status": status}


FIELD_LABELS = [
    (r.CERTIFICATESIGNINGREQUESTS, csr(), {"spec.signerName": KUBELET_CLIENT_SIGNER}),
    (r.PODS, with_status(on_node(hostNetwork=True, serviceAccountName="robot"),
                         {"phase": "Running", "podIP": "10.244.0.5",
                          "nominatedNodeName": "n2"}),
     {"spec.nodeName": "n1", "spec.restartPolicy": "Always",
      "spec.schedulerName": "default-scheduler", "spec.serviceAccountName": "robot",
      "spec.hostNetwork": "true", "status.phase": "Running", "status.podIP": "10.244.0.5",
      "status.nominatedNodeName": "n2"}),
    (r.PODS, created(r.PODS, pod()),
     {"spec.nodeName": "", "spec.restartPolicy": "Always",
      "spec.schedulerName": "default-scheduler", "spec.serviceAccountName": "default",
      "spec.hostNetwork": "false", "status.phase": "Pending", "status.podIP": "",
      "status.nominatedNodeName": ""}),
    (r.NODES, {"metadata": {"name": "n1"}, "spec": {"unschedulable": True}},
     {"spec.unschedulable": "true"}),
    (r.NODES, {"metadata": {"name": "n1"}, "spec": {}}, {"spec.unschedulable": "false"}),
    (r.NAMESPACES, created(r.NAMESPACES, namespace()), {"status.phase": "Active"}),
    (r.SECRETS, {"metadata": {"name": "s"}, "type": "kubernetes.io/tls"},
     {"type": "kubernetes.io/tls"}),
    (r.REPLICASETS, with_status(replicated(), {"replicas": 3}), {"status.replicas": "3"}),
    (r.REPLICASETS, replicated(), {"status.replicas": "0"}),
    (r.REPLICATIONCONTROLLERS, with_status(replicationcontroller(), {"replicas": 2}),
     {"status.replicas": "2"}),
    (r.JOBS, {"metadata": {"name": "j"}, "status": {"succeeded": 4}},
     {"status.successful": "4"}),
    (r.JOBS, {"metadata": {"name": "j"}}, {"status.successful": "0"}),
    (r.EVENTS, {"metadata": {"name": "e"}, "reason": "Started", "type": "Normal",
                "reportingComponent": "kubelet", "source": {"component": "kubelet"},
                "involvedObject": {"kind": "Pod", "namespace": "default", "name": "p",
                                   "uid": "u", "apiVersion": "v1", "resourceVersion": "7",
                                   "fieldPath": "spec.containers{c}"}},
     {"involvedObject.kind": "Pod", "involvedObject.namespace": "default",
      "involvedObject.name": "p", "involvedObject.uid": "u", "involvedObject.apiVersion": "v1",
      "involvedObject.resourceVersion": "7", "involvedObject.fieldPath": "spec.containers{c}",
      "reason": "Started", "reportingComponent": "kubelet", "source": "kubelet",
      "type": "Normal"}),
    (r.EVENTS_V1, {"metadata": {"name": "e"}, "reason": "Started", "type": "Normal",
                   "reportingController": "kubelet",
                   "regarding": {"kind": "Pod", "name": "p"}},
     {"regarding.kind": "Pod", "regarding.namespace": "", "regarding.name": "p",
      "regarding.uid": "", "regarding.apiVersion": "", "regarding.resourceVersion": "",
      "regarding.fieldPath": "", "reason": "Started", "reportingController": "kubelet",
      "type": "Normal"}),
]


@pytest.mark.parametrize(("resource", "obj", "fields"), FIELD_LABELS,
                         ids=lambda v: str(v) if isinstance(v, Resource) else "")
def test_field_labels(resource: Resource, obj: Obj, fields: dict[str, str]) -> None:
    labels = strategy(resource).field_labels
    assert labels is not None
    assert labels(obj) == fields


def test_the_other_kinds_select_on_metadata_only() -> None:
    with_fields = {res for res, _, _ in FIELD_LABELS}
    assert {res for res in ALL if strategy(res).field_labels is not None} == with_fields


# --- kubectl's columns ------------------------------------------------------------------


WIDE = ["Containers", "Images", "Selector"]
EVENT_COLUMNS = ["Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message",
                 "First Seen", "Count", "Name"]
COLUMNS = {
    r.NAMESPACES: ["Name", "Status", "Age"],
    r.NODES: ["Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP",
              "OS-Image", "Kernel-Version", "Container-Runtime"],
    r.PODS: ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node",
             "Readiness Gates"],
    r.EVENTS: EVENT_COLUMNS,
    r.SERVICES: ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"],
    r.ENDPOINTS: ["Name", "Endpoints", "Age"],
    r.CONFIGMAPS: ["Name", "Data", "Age"],
    r.SECRETS: ["Name", "Type", "Data", "Age"],
    r.SERVICEACCOUNTS: ["Name", "Secrets", "Age"],
    r.REPLICATIONCONTROLLERS: ["Name", "Desired", "Current", "Ready", "Age", *WIDE],
    r.LEASES: ["Name", "Holder", "Age"],
    r.DEPLOYMENTS: ["Name", "Ready", "Up-to-date", "Available", "Age", *WIDE],
    r.REPLICASETS: ["Name", "Desired", "Current", "Ready", "Age", *WIDE],
    r.DAEMONSETS: ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available",
                   "Node Selector", "Age", *WIDE],
    r.STATEFULSETS: ["Name", "Ready", "Age", "Containers", "Images"],
    r.CONTROLLERREVISIONS: ["Name", "Controller", "Revision", "Age"],
    r.JOBS: ["Name", "Status", "Completions", "Duration", "Age", *WIDE],
    r.CRONJOBS: ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age",
                 *WIDE],
    r.ENDPOINTSLICES: ["Name", "AddressType", "Ports", "Endpoints", "Age"],
    r.EVENTS_V1: EVENT_COLUMNS,
    r.CLUSTERROLES: ["Name", "Created At"],
    r.ROLES: ["Name", "Created At"],
    r.CLUSTERROLEBINDINGS: ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
    r.ROLEBINDINGS: ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"],
    r.CERTIFICATESIGNINGREQUESTS: ["Name", "Age", "SignerName", "Requestor",
                                   "RequestedDuration", "Condition"],
    r.INGRESSES: ["Name", "Class", "Hosts", "Address", "Ports", "Age"],
    r.INGRESSCLASSES: ["Name", "Controller", "Parameters", "Age"],
    r.NETWORKPOLICIES: ["Name", "Pod-Selector", "Age"],
    r.PRIORITYCLASSES: ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"],
    r.RUNTIMECLASSES: ["Name", "Handler", "Age"],
    r.PERSISTENTVOLUMES: ["Name", "Capacity", "Access Modes", "Reclaim Policy", "Status",
                          "Claim", "StorageClass", "VolumeAttributesClass", "Reason", "Age",
                          "VolumeMode"],
    r.PERSISTENTVOLUMECLAIMS: ["Name", "Status", "Volume", "Capacity", "Access Modes",
                               "StorageClass", "VolumeAttributesClass", "Age", "VolumeMode"],
    r.STORAGECLASSES: ["Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode",
                       "AllowVolumeExpansion", "Age"],
    r.CSIDRIVERS: ["Name", "AttachRequired", "PodInfoOnMount", "StorageCapacity",
                   "TokenRequests", "RequiresRepublish", "Modes", "Age"],
    r.CSINODES: ["Name", "Drivers", "Age"],
    r.VOLUMEATTACHMENTS: ["Name", "Attacher", "PV", "Node", "Attached", "Age"],
    r.CSISTORAGECAPACITIES: ["Name", "StorageClassName", "Capacity", "Age"],
    r.PODDISRUPTIONBUDGETS: ["Name", "Min Available", "Max Unavailable",
                             "Allowed Disruptions", "Age"],
    r.RESOURCEQUOTAS: ["Name", "Age", "Request", "Limit"],
    r.LIMITRANGES: ["Name", "Created At"],
    r.APISERVICES: ["Name", "Service", "Available", "Age"],
    r.HORIZONTALPODAUTOSCALERS: ["Name", "Reference", "Targets", "MinPods", "MaxPods",
                                 "Replicas", "Age"],
    r.HORIZONTALPODAUTOSCALERS_V1: ["Name", "Reference", "Targets", "MinPods", "MaxPods",
                                    "Replicas", "Age"],
    r.CUSTOMRESOURCEDEFINITIONS: ["Name", "Created At"],
}


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_printer_columns_are_kubectls(resource: Resource) -> None:
    assert [c["name"] for c in strategy(resource).printer.columns] == COLUMNS[resource]


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_a_minimal_object_prints_one_cell_per_column(resource: Resource) -> None:
    printer = strategy(resource).printer
    assert len(printer.row(minimal(resource), NOW)) == len(printer.columns)


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_an_object_with_only_metadata_prints_one_cell_per_column(resource: Resource) -> None:
    printer = strategy(resource).printer
    assert len(printer.row({"metadata": {"name": "x"}}, NOW)) == len(printer.columns)


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_the_name_column_shows_the_name(resource: Resource) -> None:
    printer = strategy(resource).printer
    names = [c["name"] for c in printer.columns]
    assert printer.row(minimal(resource), NOW)[names.index("Name")] == \
        MINIMAL[resource]()["metadata"]["name"]


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_column_definitions_have_kubectls_shape(resource: Resource) -> None:
    for col in strategy(resource).printer.columns:
        assert set(col) == {"name", "type", "format", "description", "priority"}
        assert col["type"] in ("string", "integer", "boolean", "number", "date")


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_the_name_column_is_formatted_as_a_name(resource: Resource) -> None:
    cols = {c["name"]: c for c in strategy(resource).printer.columns}
    assert cols["Name"]["format"] == "name"


def test_a_table_has_one_row_per_object_with_the_object_metadata() -> None:
    objs = [minimal(r.CONFIGMAPS), {**minimal(r.CONFIGMAPS), "data": {"a": "1"}}]
    out = table(strategy(r.CONFIGMAPS), objs, NOW)
    assert [row["cells"][:2] for row in out["rows"]] == [["cfg", 0], ["cfg", 1]]
    assert out["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


# --- scale --------------------------------------------------------------------------------


SCALED = [r.DEPLOYMENTS, r.REPLICASETS, r.STATEFULSETS, r.REPLICATIONCONTROLLERS]


def test_the_kinds_with_a_scale_subresource_have_a_scale_view() -> None:
    assert {res for res in ALL if "scale" in res.subresources} == set(SCALED)
    assert {res for res in ALL if strategy(res).scale is not None} == set(SCALED)


@pytest.mark.parametrize(("selector", "text"), [
    ({"matchLabels": {"app": "web"}}, "app=web"),
    ({"matchLabels": {"tier": "front", "app": "web"}}, "app=web,tier=front"),
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]},
     "app in (api,web)"),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]},
     "tier notin (db)"),
    ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, "env"),
    ({"matchExpressions": [{"key": "debug", "operator": "DoesNotExist"}]}, "!debug"),
    ({"matchLabels": {"z": "1"}, "matchExpressions": [{"key": "a", "operator": "Exists"}]},
     "a,z=1"),
    ({}, ""),
])
@pytest.mark.parametrize("resource", [r.DEPLOYMENTS, r.REPLICASETS, r.STATEFULSETS], ids=str)
def test_scale_selector_is_the_label_selector_as_text(resource: Resource, selector: Obj,
                                                      text: str) -> None:
    scale = strategy(resource).scale
    assert scale is not None
    assert scale.selector(replicated(selector=selector)) == text


@pytest.mark.parametrize(("selector", "text"), [
    ({"app": "web"}, "app=web"),
    ({"tier": "front", "app": "web"}, "app=web,tier=front"),
    ({}, ""),
])
def test_replication_controller_scale_selector_is_its_label_map(selector: Obj,
                                                                text: str) -> None:
    scale = strategy(r.REPLICATIONCONTROLLERS).scale
    assert scale is not None
    assert scale.selector(replicationcontroller(selector=selector)) == text


# --- schemas, create-on-update, expiry, names ---------------------------------------------


SCHEMAS = {
    r.NAMESPACES: "core.Namespace", r.NODES: "core.Node", r.PODS: "core.Pod",
    r.EVENTS: "core.Event", r.SERVICES: "core.Service", r.ENDPOINTS: "core.Endpoints",
    r.CONFIGMAPS: "core.ConfigMap", r.SECRETS: "core.Secret",
    r.SERVICEACCOUNTS: "core.ServiceAccount",
    r.REPLICATIONCONTROLLERS: "core.ReplicationController", r.LEASES: "coordination.Lease",
    r.DEPLOYMENTS: "apps.Deployment", r.REPLICASETS: "apps.ReplicaSet",
    r.DAEMONSETS: "apps.DaemonSet", r.STATEFULSETS: "apps.StatefulSet",
    r.CONTROLLERREVISIONS: "apps.ControllerRevision", r.JOBS: "batch.Job",
    r.CRONJOBS: "batch.CronJob", r.ENDPOINTSLICES: "discovery.EndpointSlice",
    r.EVENTS_V1: "events.Event",
    r.CLUSTERROLES: "rbac.ClusterRole", r.ROLES: "rbac.Role",
    r.CLUSTERROLEBINDINGS: "rbac.ClusterRoleBinding", r.ROLEBINDINGS: "rbac.RoleBinding",
    r.CERTIFICATESIGNINGREQUESTS: "certificates.CertificateSigningRequest",
    r.INGRESSES: "networking.Ingress", r.INGRESSCLASSES: "networking.IngressClass",
    r.NETWORKPOLICIES: "networking.NetworkPolicy", r.PRIORITYCLASSES: "scheduling.PriorityClass",
    r.RUNTIMECLASSES: "node.RuntimeClass", r.PERSISTENTVOLUMES: "core.PersistentVolume",
    r.PERSISTENTVOLUMECLAIMS: "core.PersistentVolumeClaim",
    r.STORAGECLASSES: "storage.StorageClass", r.CSIDRIVERS: "storage.CSIDriver",
    r.CSINODES: "storage.CSINode", r.VOLUMEATTACHMENTS: "storage.VolumeAttachment",
    r.CSISTORAGECAPACITIES: "storage.CSIStorageCapacity",
    r.PODDISRUPTIONBUDGETS: "policy.PodDisruptionBudget",
    r.RESOURCEQUOTAS: "core.ResourceQuota", r.LIMITRANGES: "core.LimitRange",
    r.APISERVICES: "apiregistration.APIService",
    r.HORIZONTALPODAUTOSCALERS: "autoscalingv2.HorizontalPodAutoscaler",
    r.HORIZONTALPODAUTOSCALERS_V1: "autoscaling.HorizontalPodAutoscaler",
    r.CUSTOMRESOURCEDEFINITIONS: "apiextensions.CustomResourceDefinition",
}


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_schema_is_the_kinds_message(resource: Resource) -> None:
    assert strategy(resource).schema == SCHEMAS[resource]


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_schema_is_in_the_schema_tables(resource: Resource) -> None:
    schema = strategy(resource).schema
    assert schema in MESSAGES
    assert KINDS.message_for(resource.api_version, resource.kind) == schema


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_subresource_bodies_have_schemas_in_the_tables(resource: Resource) -> None:
    for name, body in KINDS.subresource_kinds(strategy(resource)).items():
        assert name in resource.subresources
        assert body.schema in MESSAGES
        assert KINDS.message_for(body.api_version, body.kind) == body.schema


def test_pods_take_bindings_and_evictions() -> None:
    s = strategy(r.PODS)
    assert set(s.post_subresources) == set(s.subresource_kinds) == {"binding", "eviction"}
    assert {k: (b.api_version, b.kind) for k, b in s.subresource_kinds.items()} == {
        "binding": ("v1", "Binding"), "eviction": ("policy/v1", "Eviction")}


def test_a_put_creates_only_endpoints_events_and_leases() -> None:
    assert [res for res in ALL if strategy(res).allow_create_on_update] == [
        r.EVENTS, r.ENDPOINTS, r.LEASES, r.EVENTS_V1]


def test_only_events_expire_an_hour_after_they_are_written() -> None:
    assert {res: strategy(res).ttl_seconds for res in ALL
            if strategy(res).ttl_seconds} == {r.EVENTS: 3600, r.EVENTS_V1: 3600}


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_has_status_follows_the_status_subresource(resource: Resource) -> None:
    assert strategy(resource).has_status is ("status" in resource.subresources)


NAME_RULES = {
    r.NAMESPACES: dns1123_label_errors,
    r.APISERVICES: apiservice_name_errors,  # version.group (core's v1.)
    r.SERVICES: dns1035_label_errors,
    r.EVENTS: path_segment_errors,
    # RBAC objects' names are path segments (kube's ValidateRBACName), e.g. system:node.
    r.CLUSTERROLES: path_segment_errors,
    r.ROLES: path_segment_errors,
    r.CLUSTERROLEBINDINGS: path_segment_errors,
    r.ROLEBINDINGS: path_segment_errors,
    r.CERTIFICATESIGNINGREQUESTS: any_name,
    r.CSIDRIVERS: driver_name_errors,
}


@pytest.mark.parametrize("resource", ALL, ids=str)
def test_name_rule(resource: Resource) -> None:
    rule = NAME_RULES.get(resource, dns1123_subdomain_errors)
    assert strategy(resource).name_errors is rule


@pytest.mark.parametrize(("resource", "valid", "invalid"), [
    (r.NAMESPACES, "team-a", "team.a"),
    (r.SERVICES, "web-1", "1-web"),
    (r.EVENTS, "p.17a2b3c4d5e6f7a8", "a/b"),
    (r.EVENTS_V1, "p.17a2b3c4d5e6f7a8", "P_1"),
    (r.PODS, "web-0.a", "Web"),
    (r.NODES, "n1.example.com", "n1_"),
])
def test_name_rule_accepts_and_refuses(resource: Resource, valid: str, invalid: str) -> None:
    rule = strategy(resource).name_errors
    assert (rule(valid), bool(rule(invalid))) == ([], True)
