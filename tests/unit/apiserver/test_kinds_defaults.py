"""Strategy defaults per kind, as kube's SetDefaults_* for the kind's v1 type (and, for Pods,
what the ServiceAccount and Priority admission plugins fill in): a minimal object of every
kind, then one row per defaulting rule."""

from typing import Any

import pytest

from minikube_py.api import resources as r
from minikube_py.api.resources import Resource
from tests.unit.apiserver.kind_objects import (
    MINIMAL,
    Obj,
    cronjob,
    defaulted,
    endpoints,
    endpointslice,
    job,
    meta,
    namespace,
    pod,
    pod_spec,
    replicated,
    replicationcontroller,
    secret,
    service,
    template,
)

CONTAINER = {"name": "c", "image": "busybox", "imagePullPolicy": "Always", "resources": {},
             "terminationMessagePath": "/dev/termination-log",
             "terminationMessagePolicy": "File"}


def template_spec(restart_policy: str = "Always", **extra: Any) -> Obj:
    """SetDefaults_PodSpec and SetDefaults_Container: what every pod template gets."""
    return {"containers": [CONTAINER], "restartPolicy": restart_policy,
            "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
            "schedulerName": "default-scheduler", "securityContext": {}, **extra}


# SetDefaults_Pod (enableServiceLinks) and the ServiceAccount plugin a Pod alone goes
# through (priority comes later, from the Priority admission plugin).
POD_ONLY = {"enableServiceLinks": True, "serviceAccountName": "default",
            "serviceAccount": "default"}


def defaulted_template(labels: Obj | None = None, restart_policy: str = "Always") -> Obj:
    return {"metadata": {"labels": {"app": "web"} if labels is None else labels},
            "spec": template_spec(restart_policy)}


WEB = {"matchLabels": {"app": "web"}}

MINIMAL_DEFAULTED: dict[Resource, Obj] = {
    r.NAMESPACES: {"metadata": {"name": "team",
                                "labels": {"kubernetes.io/metadata.name": "team"}},
                   "spec": {}},
    r.NODES: MINIMAL[r.NODES](),
    r.PODS: {"metadata": meta("p"), "spec": {**template_spec(), **POD_ONLY}},
    r.EVENTS: MINIMAL[r.EVENTS](),
    r.SERVICES: {"metadata": meta("web"), "spec": {
        "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"],
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}},
    r.ENDPOINTS: MINIMAL[r.ENDPOINTS](),
    r.CONFIGMAPS: MINIMAL[r.CONFIGMAPS](),
    r.SECRETS: {**MINIMAL[r.SECRETS](), "type": "Opaque"},
    r.SERVICEACCOUNTS: MINIMAL[r.SERVICEACCOUNTS](),
    r.REPLICATIONCONTROLLERS: {
        "metadata": meta("web", labels={"app": "web"}),
        "spec": {"replicas": 1, "selector": {"app": "web"}, "template": defaulted_template()}},
    r.LEASES: MINIMAL[r.LEASES](),
    r.DEPLOYMENTS: {"metadata": meta("web"), "spec": {
        "replicas": 1, "selector": WEB, "template": defaulted_template(),
        "strategy": {"type": "RollingUpdate",
                     "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
        "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}},
    r.REPLICASETS: {"metadata": meta("web"), "spec": {
        "replicas": 1, "selector": WEB, "template": defaulted_template()}},
    r.DAEMONSETS: {"metadata": meta("web"), "spec": {
        "selector": WEB, "template": defaulted_template(),
        "updateStrategy": {"type": "RollingUpdate",
                           "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
        "revisionHistoryLimit": 10}},
    r.STATEFULSETS: {"metadata": meta("web"), "spec": {
        "replicas": 1, "selector": WEB, "template": defaulted_template(),
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "revisionHistoryLimit": 10,
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain",
                                                 "whenScaled": "Retain"}}},
    r.CONTROLLERREVISIONS: MINIMAL[r.CONTROLLERREVISIONS](),
    r.JOBS: {"metadata": MINIMAL[r.JOBS]()["metadata"], "spec": {
        "template": defaulted_template({}, "Never"), "completions": 1, "parallelism": 1,
        "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed"}},
    # SetDefaults_Job is the Job's, not the JobSpec's: a jobTemplate gets pod defaults only.
    r.CRONJOBS: {"metadata": meta("nightly"), "spec": {
        "schedule": "0 3 * * *", "concurrencyPolicy": "Allow", "suspend": False,
        "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
        "jobTemplate": {"metadata": {},
                        "spec": {"template": defaulted_template({}, "OnFailure")}}}},
    r.ENDPOINTSLICES: MINIMAL[r.ENDPOINTSLICES](),
    r.EVENTS_V1: MINIMAL[r.EVENTS_V1](),
    r.CLUSTERROLES: MINIMAL[r.CLUSTERROLES](),
    r.ROLES: MINIMAL[r.ROLES](),
    r.CLUSTERROLEBINDINGS: MINIMAL[r.CLUSTERROLEBINDINGS](),
    r.ROLEBINDINGS: MINIMAL[r.ROLEBINDINGS](),
    r.CERTIFICATESIGNINGREQUESTS: MINIMAL[r.CERTIFICATESIGNINGREQUESTS](),
    r.INGRESSES: MINIMAL[r.INGRESSES](),
    r.INGRESSCLASSES: MINIMAL[r.INGRESSCLASSES](),
    # SetDefaults_NetworkPolicy: Ingress is the policy type when there are no egress rules.
    r.NETWORKPOLICIES: {"metadata": meta("deny"),
                        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}},
    r.PRIORITYCLASSES: {"metadata": {"name": "high"}, "value": 1000,
                        "preemptionPolicy": "PreemptLowerPriority"},
    r.RUNTIMECLASSES: MINIMAL[r.RUNTIMECLASSES](),
    # SetDefaults_PersistentVolume: Retain, Filesystem, Pending (the PV controller moves it
    # on); a hostPath's type is "" (no check).
    r.PERSISTENTVOLUMES: {"metadata": {"name": "pv0"}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
        "hostPath": {"path": "/data/pv0", "type": ""},
        "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"}},
    r.PERSISTENTVOLUMECLAIMS: {"metadata": meta("data"), "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
        "volumeMode": "Filesystem"}, "status": {"phase": "Pending"}},
    r.STORAGECLASSES: {"metadata": {"name": "fast"}, "provisioner": "example.com/fast",
                       "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"},
    r.CSIDRIVERS: {"metadata": {"name": "csi.example.com"}, "spec": {
        "attachRequired": True, "podInfoOnMount": False, "storageCapacity": False,
        "requiresRepublish": False, "seLinuxMount": False,
        "fsGroupPolicy": "ReadWriteOnceWithFSType", "volumeLifecycleModes": ["Persistent"]}},
    r.CSINODES: MINIMAL[r.CSINODES](),
    r.VOLUMEATTACHMENTS: MINIMAL[r.VOLUMEATTACHMENTS](),
    r.CSISTORAGECAPACITIES: MINIMAL[r.CSISTORAGECAPACITIES](),
    r.APISERVICES: MINIMAL[r.APISERVICES](),
    # SetDefaults_HorizontalPodAutoscaler (v2): one replica at least, CPU at 80%.
    r.HORIZONTALPODAUTOSCALERS: {"metadata": meta("web"), "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 5, "minReplicas": 1, "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}},
    # v1 converted to the v2 it is stored as, then v2's defaults.
    r.HORIZONTALPODAUTOSCALERS_V1: {"apiVersion": "autoscaling/v2", "metadata": meta("web"),
                                    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 5, "minReplicas": 1, "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}},
    r.PODDISRUPTIONBUDGETS: MINIMAL[r.PODDISRUPTIONBUDGETS](),
    r.RESOURCEQUOTAS: MINIMAL[r.RESOURCEQUOTAS](),
    # SetDefaults_LimitRangeItem: a Container's default limit is its max, and its default
    # request that limit.
    r.LIMITRANGES: {"metadata": meta("limits"), "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "1"}, "default": {"cpu": "1"},
         "defaultRequest": {"cpu": "1"}}]}},
    # The CRD's singular and listKind from its kind; conversion None.
    r.CUSTOMRESOURCEDEFINITIONS: {"metadata": {"name": "widgets.example.com"}, "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget", "singular": "widget",
                  "listKind": "WidgetList"},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object"}}}],
        "conversion": {"strategy": "None"}}},
}


def test_every_registered_kind_has_a_minimal_object_here() -> None:
    from tests.unit.apiserver.kinds import KINDS
    assert set(MINIMAL) == set(KINDS.resources()) == set(MINIMAL_DEFAULTED)


@pytest.mark.parametrize("resource", list(MINIMAL_DEFAULTED), ids=str)
def test_minimal_object_gets_kubes_defaults(resource: Resource) -> None:
    assert defaulted(resource, MINIMAL[resource]()) == MINIMAL_DEFAULTED[resource]


@pytest.mark.parametrize("resource", list(MINIMAL_DEFAULTED), ids=str)
def test_defaults_change_nothing_the_second_time(resource: Resource) -> None:
    """default() runs on every update too, over an object that was defaulted on create."""
    once = MINIMAL_DEFAULTED[resource]
    assert defaulted(resource, once) == once


def container(obj: Obj) -> Obj:
    spec = obj["spec"]
    if "template" in spec:
        spec = spec["template"]["spec"]
    return dict(spec["containers"][0])


@pytest.mark.parametrize(("image", "policy"), [
    ("busybox", "Always"),
    ("busybox:latest", "Always"),
    ("busybox:1.36", "IfNotPresent"),
    ("registry.local:5000/busybox", "Always"),
    ("registry.local:5000/busybox:1.36", "IfNotPresent"),
    ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
    ("busybox:1.36@sha256:" + "a" * 64, "IfNotPresent"),
])
def test_image_pull_policy_is_always_only_for_latest_or_untagged_images(image: str,
                                                                       policy: str) -> None:
    obj = pod(containers=[{"name": "c", "image": image}])
    assert container(defaulted(r.PODS, obj))["imagePullPolicy"] == policy


def test_an_image_pull_policy_given_is_kept() -> None:
    obj = pod(containers=[{"name": "c", "image": "busybox", "imagePullPolicy": "Never"}])
    assert container(defaulted(r.PODS, obj))["imagePullPolicy"] == "Never"


def test_container_ports_default_to_tcp() -> None:
    obj = pod(containers=[{"name": "c", "image": "i", "ports": [
        {"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]}])
    assert [p["protocol"] for p in container(defaulted(r.PODS, obj))["ports"]] == ["TCP", "UDP"]


@pytest.mark.parametrize(("resources", "requests"), [
    ({"limits": {"cpu": "1", "memory": "64Mi"}}, {"cpu": "1", "memory": "64Mi"}),
    ({"limits": {"cpu": "2"}, "requests": {"cpu": "1"}}, {"cpu": "1"}),
    ({"limits": {"cpu": "2"}, "requests": {"memory": "1Mi"}}, {"cpu": "2", "memory": "1Mi"}),
])
def test_pod_requests_default_to_limits(resources: Obj, requests: Obj) -> None:
    obj = pod(containers=[{"name": "c", "image": "i", "resources": resources}])
    assert container(defaulted(r.PODS, obj))["resources"]["requests"] == requests


def test_init_container_requests_default_to_limits_too() -> None:
    obj = pod(initContainers=[{"name": "init", "image": "i",
                               "resources": {"limits": {"cpu": "1"}}}])
    spec = defaulted(r.PODS, obj)["spec"]
    assert spec["initContainers"][0]["resources"]["requests"] == {"cpu": "1"}


def test_template_requests_are_not_defaulted_to_limits() -> None:
    """SetDefaults_Pod, not SetDefaults_PodSpec: a template keeps only what it was given."""
    obj = replicated(template={"metadata": {"labels": {"app": "web"}}, "spec": {
        "containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1"}}}]}})
    assert container(defaulted(r.DEPLOYMENTS, obj))["resources"] == {"limits": {"cpu": "1"}}


@pytest.mark.parametrize("resource", [r.DEPLOYMENTS, r.REPLICASETS, r.DAEMONSETS,
                                      r.STATEFULSETS, r.REPLICATIONCONTROLLERS, r.JOBS],
                         ids=str)
def test_templates_get_no_pod_only_defaults(resource: Resource) -> None:
    spec = defaulted(resource, MINIMAL[resource]())["spec"]["template"]["spec"]
    assert not set(POD_ONLY) & set(spec)


def test_probe_defaults() -> None:
    probe = {"httpGet": {"port": 8080}}
    obj = pod(containers=[{"name": "c", "image": "i", "livenessProbe": probe,
                           "readinessProbe": {"exec": {"command": ["true"]}}}])
    c = container(defaulted(r.PODS, obj))
    assert c["livenessProbe"] == {"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"},
                                  "timeoutSeconds": 1, "periodSeconds": 10,
                                  "successThreshold": 1, "failureThreshold": 3}
    assert c["readinessProbe"]["periodSeconds"] == 10


@pytest.mark.parametrize(("volume", "expected"), [
    ({"name": "v"}, {"name": "v", "emptyDir": {}}),
    ({"name": "v", "configMap": {"name": "cfg"}},
     {"name": "v", "configMap": {"name": "cfg", "defaultMode": 420}}),
    ({"name": "v", "secret": {"secretName": "s"}},
     {"name": "v", "secret": {"secretName": "s", "defaultMode": 420}}),
    ({"name": "v", "secret": {"secretName": "s", "defaultMode": 256}},
     {"name": "v", "secret": {"secretName": "s", "defaultMode": 256}}),
    ({"name": "v", "hostPath": {"path": "/data"}},
     {"name": "v", "hostPath": {"path": "/data", "type": ""}}),
])
def test_volume_defaults(volume: Obj, expected: Obj) -> None:
    assert defaulted(r.PODS, pod(volumes=[volume]))["spec"]["volumes"] == [expected]


def test_env_field_ref_defaults_to_api_version_v1() -> None:
    env = [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
    obj = pod(containers=[{"name": "c", "image": "i", "env": env}])
    ref = container(defaulted(r.PODS, obj))["env"][0]["valueFrom"]["fieldRef"]
    assert ref == {"fieldPath": "spec.nodeName", "apiVersion": "v1"}


@pytest.mark.parametrize(("given", "account"), [
    ({}, "default"),
    ({"serviceAccountName": "robot"}, "robot"),
    ({"serviceAccount": "robot"}, "robot"),
    ({"serviceAccountName": "robot", "serviceAccount": "other"}, "robot"),
])
def test_pod_service_account_name_and_its_deprecated_twin_agree(given: Obj,
                                                                account: str) -> None:
    spec = defaulted(r.PODS, pod(**given))["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == (account, account)


def test_template_service_account_name_sets_its_deprecated_twin() -> None:
    obj = replicated(template={"metadata": {"labels": {"app": "web"}},
                               "spec": pod_spec(serviceAccountName="robot")})
    spec = defaulted(r.DEPLOYMENTS, obj)["spec"]["template"]["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("robot", "robot")


def test_pod_spec_values_given_are_kept() -> None:
    given = {"restartPolicy": "Never", "dnsPolicy": "Default",
             "terminationGracePeriodSeconds": 0, "schedulerName": "mine",
             "enableServiceLinks": False, "priority": 7}
    spec = defaulted(r.PODS, pod(**given))["spec"]
    assert {k: spec[k] for k in given} == given


def test_namespace_is_labelled_with_its_own_name_overriding_a_wrong_value() -> None:
    obj = namespace()
    obj["metadata"]["labels"] = {"kubernetes.io/metadata.name": "other", "team": "a"}
    assert defaulted(r.NAMESPACES, obj)["metadata"]["labels"] == {
        "kubernetes.io/metadata.name": "team", "team": "a"}


def test_namespace_with_only_a_generate_name_gets_no_name_label() -> None:
    obj = {"metadata": {"generateName": "team-"}, "spec": {}}
    assert "labels" not in defaulted(r.NAMESPACES, obj)["metadata"]


def spec_of(resource: Resource, obj: Obj) -> Obj:
    return dict(defaulted(resource, obj)["spec"])


@pytest.mark.parametrize(("given", "expected"), [
    ({"type": "NodePort"}, {"externalTrafficPolicy": "Cluster",
                            "internalTrafficPolicy": "Cluster"}),
    ({"type": "LoadBalancer"}, {"externalTrafficPolicy": "Cluster",
                                "internalTrafficPolicy": "Cluster",
                                "allocateLoadBalancerNodePorts": True}),
    ({"externalIPs": ["10.200.0.9"]}, {"externalTrafficPolicy": "Cluster"}),
    ({"sessionAffinity": "ClientIP"},
     {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}}}),
    ({"sessionAffinity": "ClientIP",
      "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}},
     {"sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}),
    ({"ports": [{"port": 80, "targetPort": "http"}]},
     {"ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"}]}),
    ({"ports": [{"port": 53, "protocol": "UDP", "targetPort": 0}]},
     {"ports": [{"port": 53, "protocol": "UDP", "targetPort": 53}]}),
])
def test_service_defaults(given: Obj, expected: Obj) -> None:
    spec = spec_of(r.SERVICES, service(**given))
    assert {k: spec.get(k) for k in expected} == expected


def test_service_without_client_ip_affinity_drops_its_affinity_config() -> None:
    spec = spec_of(r.SERVICES, service(
        sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}}))
    assert "sessionAffinityConfig" not in spec


def test_external_name_service_gets_no_cluster_ip_defaults() -> None:
    spec = spec_of(r.SERVICES, {"metadata": meta("web"), "spec": {
        "type": "ExternalName", "externalName": "example.com"}})
    assert spec == {"type": "ExternalName", "externalName": "example.com",
                    "sessionAffinity": "None"}


def test_endpoints_ports_default_to_tcp() -> None:
    obj = defaulted(r.ENDPOINTS, endpoints(ports=[{"port": 80}]))
    assert obj["subsets"][0]["ports"] == [{"port": 80, "protocol": "TCP"}]


def test_endpointslice_ports_default_to_tcp_and_an_empty_name() -> None:
    obj = defaulted(r.ENDPOINTSLICES, endpointslice(ports=[{"port": 80}, {
        "name": "dns", "port": 53, "protocol": "UDP"}]))
    assert obj["ports"] == [{"port": 80, "name": "", "protocol": "TCP"},
                            {"name": "dns", "port": 53, "protocol": "UDP"}]


def test_secret_type_given_is_kept() -> None:
    assert defaulted(r.SECRETS, secret(type="kubernetes.io/tls"))["type"] == \
        "kubernetes.io/tls"


def test_secret_string_data_is_written_into_data_base64_encoded() -> None:
    obj = defaulted(r.SECRETS, secret(data={"a": "eA==", "b": "eA=="},
                                      stringData={"b": "hello", "c": "ü"}))
    assert obj["data"] == {"a": "eA==", "b": "aGVsbG8=", "c": "w7w="}
    assert "stringData" not in obj


def test_secret_string_data_of_the_wrong_shape_is_left_for_validation() -> None:
    obj = defaulted(r.SECRETS, secret(stringData={"b": 5}))
    assert obj["stringData"] == {"b": 5}


@pytest.mark.parametrize(("strategy", "expected"), [
    ({"type": "Recreate"}, {"type": "Recreate"}),
    ({"rollingUpdate": {"maxSurge": 1}},
     {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}),
])
def test_deployment_strategy_defaults(strategy: Obj, expected: Obj) -> None:
    assert spec_of(r.DEPLOYMENTS, replicated(strategy=strategy))["strategy"] == expected


@pytest.mark.parametrize(("update_strategy", "expected"), [
    ({"type": "OnDelete"}, {"type": "OnDelete"}),
    ({}, {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
    ({"rollingUpdate": {"maxUnavailable": "10%"}},
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%", "maxSurge": 0}}),
])
def test_daemonset_update_strategy_defaults(update_strategy: Obj, expected: Obj) -> None:
    spec = spec_of(r.DAEMONSETS, replicated(updateStrategy=update_strategy))
    assert spec["updateStrategy"] == expected


@pytest.mark.parametrize(("update_strategy", "expected"), [
    ({"type": "OnDelete"}, {"type": "OnDelete"}),
    # An explicit type without rollingUpdate gets no partition (SetDefaults_StatefulSet).
    ({"type": "RollingUpdate"}, {"type": "RollingUpdate"}),
    ({"type": "RollingUpdate", "rollingUpdate": {}},
     {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    ({}, {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
    ({"rollingUpdate": {"maxUnavailable": 2}},
     {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2, "partition": 0}}),
])
def test_statefulset_update_strategy_defaults(update_strategy: Obj, expected: Obj) -> None:
    spec = spec_of(r.STATEFULSETS, replicated(updateStrategy=update_strategy))
    assert spec["updateStrategy"] == expected


def test_statefulset_pvc_retention_policy_is_completed() -> None:
    spec = spec_of(r.STATEFULSETS, replicated(
        persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"}))
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Delete",
                                                            "whenScaled": "Retain"}


@pytest.mark.parametrize(("given", "expected"), [
    ({"parallelism": 3}, {"parallelism": 3, "completions": None}),
    ({"completions": 5}, {"parallelism": 1, "completions": 5}),
    ({"backoffLimit": 0}, {"backoffLimit": 0}),
    ({"backoffLimitPerIndex": 1, "completionMode": "Indexed"},
     {"backoffLimit": 2147483647}),
    ({"podFailurePolicy": {"rules": []}}, {"podReplacementPolicy": "Failed"}),
    ({"podReplacementPolicy": "Failed"}, {"podReplacementPolicy": "Failed"}),
])
def test_job_defaults(given: Obj, expected: Obj) -> None:
    spec = spec_of(r.JOBS, job(**given))
    assert {k: spec.get(k) for k in expected} == expected


@pytest.mark.parametrize(("job_labels", "labels"), [
    (None, {"app": "pi"}),
    ({"team": "a"}, {"team": "a"}),
])
def test_job_labels_default_to_its_template_labels(job_labels: Obj | None,
                                                   labels: Obj) -> None:
    obj = job(template=template({"app": "pi"}, restartPolicy="Never"))
    if job_labels is not None:
        obj["metadata"]["labels"] = job_labels
    assert defaulted(r.JOBS, obj)["metadata"]["labels"] == labels


def test_cronjob_values_given_are_kept() -> None:
    given = {"concurrencyPolicy": "Forbid", "suspend": True,
             "successfulJobsHistoryLimit": 0, "failedJobsHistoryLimit": 0}
    spec = spec_of(r.CRONJOBS, cronjob(**given))
    assert {k: spec[k] for k in given} == given


@pytest.mark.parametrize(("given", "expected"), [
    ({}, {"selector": {"app": "web"}, "labels": {"app": "web"}}),
    ({"selector": {"app": "web", "tier": "x"}},
     {"selector": {"app": "web", "tier": "x"}, "labels": {"app": "web"}}),
])
def test_replication_controller_selector_and_labels_default_to_template_labels(
        given: Obj, expected: Obj) -> None:
    obj = defaulted(r.REPLICATIONCONTROLLERS, replicationcontroller(**given))
    assert {"selector": obj["spec"]["selector"], "labels": obj["metadata"]["labels"]} == \
        expected


def test_replication_controller_keeps_its_own_labels() -> None:
    obj = replicationcontroller()
    obj["metadata"]["labels"] = {"team": "a"}
    assert defaulted(r.REPLICATIONCONTROLLERS, obj)["metadata"]["labels"] == {"team": "a"}

