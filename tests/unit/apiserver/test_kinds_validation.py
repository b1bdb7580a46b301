"""validate() and validate_update() per kind: one row per rule, each with kube's reason, field
path and message (values print as JSON here where kube prints Go syntax), through the
create and update paths' validation stage."""

import copy
import json
from typing import Any

import pytest

from minikube_py.api import resources as r
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.api.validation import DNS1035_MSG, LABEL_MSG
from minikube_py.apiserver.kinds.pods import POD_UPDATE_MESSAGE
from tests.unit.apiserver.kind_objects import (
    MINIMAL,
    Cause,
    Obj,
    configmap,
    created,
    cronjob,
    job,
    meta,
    namespace,
    pod,
    replicated,
    replicationcontroller,
    secret,
    service,
    template,
    update_causes,
)
from tests.unit.apiserver.kind_objects import causes as create_causes
from tests.unit.apiserver.kinds import validate_create, validate_update

PORT_RANGE = "must be between 1 and 65535, inclusive"
NON_NEGATIVE = "must be greater than or equal to 0"
IMMUTABLE = "field is immutable"
WHEN_IMMUTABLE = "Forbidden: field is immutable when `immutable` is set"


def required(field: str) -> Cause:
    return ("FieldValueRequired", field, "Required value")


def invalid(field: str, value: str, detail: str) -> Cause:
    return ("FieldValueInvalid", field, f"Invalid value: {value}: {detail}")


def not_supported(field: str, value: str, supported: str) -> Cause:
    return ("FieldValueNotSupported", field,
            f"Unsupported value: {value}: supported values: {supported}")


def forbidden(field: str, detail: str) -> Cause:
    return ("FieldValueForbidden", field, f"Forbidden: {detail}")


def duplicate(field: str, value: str) -> Cause:
    return ("FieldValueDuplicate", field, f"Duplicate value: {value}")


def c(**fields: Any) -> Obj:
    return {"name": "c", "image": "busybox", **fields}


def params(rows: list[tuple[Any, ...]]) -> Any:
    """Rows of (id, resource, object(s)..., causes) as pytest params named by their id."""
    return [pytest.param(*row[1:], id=row[0]) for row in rows]


@pytest.mark.parametrize("resource", list(MINIMAL), ids=str)
def test_the_minimal_object_of_every_kind_is_valid(resource: Resource) -> None:
    validate_create(resource, created(resource, MINIMAL[resource]()))


@pytest.mark.parametrize("resource", list(MINIMAL), ids=str)
def test_an_unchanged_object_of_every_kind_is_a_valid_update(resource: Resource) -> None:
    obj = created(resource, MINIMAL[resource]())
    validate_update(resource, obj, copy.deepcopy(obj))


CREATE_RULES = [
    # Pods
    ("pod needs containers", r.PODS, pod(containers=[]), [required("spec.containers")]),
    ("container needs an image", r.PODS, pod(containers=[{"name": "c"}]),
     [required("spec.containers[0].image")]),
    ("container needs a name", r.PODS, pod(containers=[{"image": "i"}]),
     [required("spec.containers[0].name")]),
    ("container name is a DNS label", r.PODS, pod(containers=[c(name="C_1")]),
     [invalid("spec.containers[0].name", '"C_1"', LABEL_MSG)]),
    ("container names are unique across init containers", r.PODS,
     pod(initContainers=[c()]), [duplicate("spec.initContainers[0].name", '"c"')]),
    ("restart policy", r.PODS, pod(restartPolicy="Sometimes"),
     [not_supported("spec.restartPolicy", '"Sometimes"', '"Always", "OnFailure", "Never"')]),
    ("dns policy", r.PODS, pod(dnsPolicy="Google"),
     [not_supported("spec.dnsPolicy", '"Google"',
                    '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"')]),
    ("image pull policy", r.PODS, pod(containers=[c(imagePullPolicy="Sometimes")]),
     [not_supported("spec.containers[0].imagePullPolicy", '"Sometimes"',
                    '"Always", "IfNotPresent", "Never"')]),
    ("container port range", r.PODS, pod(containers=[c(ports=[{"containerPort": 70000}])]),
     [invalid("spec.containers[0].ports[0].containerPort", "70000", PORT_RANGE)]),
    ("container port 0 is missing", r.PODS, pod(containers=[c(ports=[{"containerPort": 0}])]),
     [required("spec.containers[0].ports[0].containerPort")]),
    ("container port is required", r.PODS, pod(containers=[c(ports=[{"name": "http"}])]),
     [required("spec.containers[0].ports[0].containerPort")]),
    ("host port range", r.PODS,
     pod(containers=[c(ports=[{"containerPort": 80, "hostPort": 70000}])]),
     [invalid("spec.containers[0].ports[0].hostPort", "70000", PORT_RANGE)]),
    ("port protocol", r.PODS,
     pod(containers=[c(ports=[{"containerPort": 80, "protocol": "HTTP"}])]),
     [not_supported("spec.containers[0].ports[0].protocol", '"HTTP"',
                    '"SCTP", "TCP", "UDP"')]),
    ("port names are unique", r.PODS, pod(containers=[c(ports=[
        {"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}])]),
     [duplicate("spec.containers[0].ports[1].name", '"http"')]),
    ("env var needs a name", r.PODS, pod(containers=[c(env=[{"value": "1"}])]),
     [required("spec.containers[0].env[0].name")]),
    ("resource quantities", r.PODS,
     pod(containers=[c(resources={"requests": {"cpu": "lots"}})]),
     [invalid("spec.containers[0].resources.requests[cpu]", '"lots"',
              "must be a valid quantity")]),
    ("volume mount needs name and path", r.PODS, pod(containers=[c(volumeMounts=[{}])]),
     [required("spec.containers[0].volumeMounts[0].name"),
      required("spec.containers[0].volumeMounts[0].mountPath")]),
    ("volume mount names a volume of the pod", r.PODS,
     pod(containers=[c(volumeMounts=[{"name": "data", "mountPath": "/data"}])]),
     [("FieldValueNotFound", "spec.containers[0].volumeMounts[0].name",
       'Not found: "data"')]),
    ("statefulset containers may mount a claim template", r.STATEFULSETS, replicated(
        volumeClaimTemplates=[{"metadata": {"name": "data"}}],
        template=template(containers=[c(volumeMounts=[{"name": "data",
                                                       "mountPath": "/data"}])])), []),
    ("deployment containers mount volumes of the template", r.DEPLOYMENTS,
     replicated(template=template(containers=[c(volumeMounts=[{"name": "data",
                                                              "mountPath": "/data"}])])),
     [("FieldValueNotFound", "spec.template.spec.containers[0].volumeMounts[0].name",
       'Not found: "data"')]),
    ("volume needs a name", r.PODS, pod(volumes=[{"emptyDir": {}}]),
     [required("spec.volumes[0].name")]),
    ("volume names are unique", r.PODS,
     pod(volumes=[{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]),
     [duplicate("spec.volumes[1].name", '"v"')]),
    ("active deadline range", r.PODS, pod(activeDeadlineSeconds=0),
     [invalid("spec.activeDeadlineSeconds", "0", "must be between 1 and 2147483647, inclusive")]),
    ("node selector values are label values", r.PODS, pod(nodeSelector={"disk": "s s"}),
     [invalid("spec.nodeSelector", '"s s"',
              "a valid label must be an empty string or consist of alphanumeric characters, "
              "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
              "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
              "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")]),
    # Services
    ("service needs ports", r.SERVICES, service(ports=[]), [required("spec.ports")]),
    ("external name service needs its name", r.SERVICES,
     {"metadata": meta("web"), "spec": {"type": "ExternalName"}},
     [required("spec.externalName")]),
    # The target port defaults to the port, and is checked too.
    ("service port range", r.SERVICES, service(ports=[{"port": 0}]),
     [invalid("spec.ports[0].port", "0", PORT_RANGE),
      invalid("spec.ports[0].targetPort", "0", PORT_RANGE)]),
    ("service ports are named when there are several", r.SERVICES,
     service(ports=[{"port": 80, "name": "http"}, {"port": 81}]),
     [required("spec.ports[1].name")]),
    ("service port names are unique", r.SERVICES,
     service(ports=[{"port": 80, "name": "http"}, {"port": 81, "name": "http"}]),
     [duplicate("spec.ports[1].name", '"http"')]),
    ("service port name is a DNS label", r.SERVICES,
     service(ports=[{"port": 80, "name": "HTTP"}]),
     [invalid("spec.ports[0].name", '"HTTP"', LABEL_MSG)]),
    ("service port protocol", r.SERVICES, service(ports=[{"port": 80, "protocol": "HTTP"}]),
     [not_supported("spec.ports[0].protocol", '"HTTP"', '"SCTP", "TCP", "UDP"')]),
    ("service type", r.SERVICES, service(type="Magic"),
     [not_supported("spec.type", '"Magic"',
                    '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"')]),
    ("target port range", r.SERVICES, service(ports=[{"port": 80, "targetPort": 70000}]),
     [invalid("spec.ports[0].targetPort", "70000", PORT_RANGE)]),
    ("target port name", r.SERVICES, service(ports=[{"port": 80, "targetPort": "Bad_Name"}]),
     [invalid("spec.ports[0].targetPort", '"Bad_Name"',
              "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")]),
    ("external IPs are IPv4 addresses, not loopback", r.SERVICES,
     service(externalIPs=["10.9.9", "127.0.0.1"]),
     [invalid("spec.externalIPs[0]", '"10.9.9"',
              "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
      invalid("spec.externalIPs[1]", '"127.0.0.1"',
              "may not be in the loopback range (127.0.0.0/8, ::1/128)")]),
    ("source ranges are ranges of a load balancer", r.SERVICES,
     service(loadBalancerSourceRanges=["10.0.0.0/8"]),
     [forbidden("spec.loadBalancerSourceRanges",
                "may only be used when `type` is 'LoadBalancer'")]),
    ("a load balancer class is a load balancer's", r.SERVICES,
     service(loadBalancerClass="example.com/lb"),
     [forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'")]),
    ("externalTrafficPolicy Local is not served", r.SERVICES,
     service(type="LoadBalancer", externalTrafficPolicy="Local"),
     [not_supported("spec.externalTrafficPolicy", '"Local"', '"Cluster"')]),
    ("service name is a DNS-1035 label", r.SERVICES,
     {**service(), "metadata": meta("1web")},
     [invalid("metadata.name", '"1web"', DNS1035_MSG)]),
    # ConfigMaps and Secrets
    ("config key syntax", r.CONFIGMAPS, configmap(data={"a b": "v"}),
     [invalid("data[a b]", '"a b"',
              "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
              "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
              "is '[-._a-zA-Z0-9]+')")]),
    ("config key is not ..", r.CONFIGMAPS, configmap(data={"..": "v"}),
     [invalid("data[..]", '".."', "must not be '..'")]),
    ("config key does not start with ..", r.CONFIGMAPS, configmap(data={"..a": "v"}),
     [invalid("data[..a]", '"..a"', "must not start with '..'")]),
    ("config keys are not in data and binaryData both", r.CONFIGMAPS,
     configmap(data={"k": "v"}, binaryData={"k": "AA=="}),
     [invalid("data[k]", '"k"', "duplicate of key present in binaryData")]),
    ("binary data is base64", r.CONFIGMAPS, configmap(binaryData={"k": "%%"}),
     [invalid("binaryData[k]", '"<binary>"', "must be base64-encoded")]),
    ("secret data is base64", r.SECRETS, secret(data={"k": "%%"}),
     [invalid("data[k]", '"<binary>"', "must be base64-encoded")]),
    ("secret string data keys are config keys", r.SECRETS, secret(stringData={"a b": "v"}),
     [invalid("data[a b]", '"a b"',
              "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
              "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation "
              "is '[-._a-zA-Z0-9]+')")]),
    # Workloads
    ("replicas are not negative", r.DEPLOYMENTS, replicated(replicas=-1),
     [invalid("spec.replicas", "-1", NON_NEGATIVE)]),
    ("deployment needs a selector", r.DEPLOYMENTS,
     {"metadata": meta("web"), "spec": {"template": template()}},
     [required("spec.selector")]),
    ("deployment selector is not empty", r.DEPLOYMENTS, replicated(selector={}),
     [invalid("spec.selector", "{}", "empty selector is invalid for deployment")]),
    ("replicaset selector is not empty", r.REPLICASETS, replicated(selector={}),
     [invalid("spec.selector", "{}", "empty selector is invalid for deployment")]),
    ("daemonset selector is not empty", r.DAEMONSETS, replicated(selector={}),
     [invalid("spec.selector", "{}", "empty selector is invalid for daemonset")]),
    ("statefulset selector is not empty", r.STATEFULSETS, replicated(selector={}),
     [invalid("spec.selector", "{}", "empty selector is invalid for statefulset")]),
    ("selector matches the template", r.DEPLOYMENTS, replicated(template=template({"app": "x"})),
     [invalid("spec.template.metadata.labels", '{"app":"x"}',
              "`selector` does not match template `labels`")]),
    ("daemonset selector matches the template", r.DAEMONSETS,
     replicated(template=template({"app": "x"})),
     [invalid("spec.template.metadata.labels", '{"app":"x"}',
              "`selector` does not match template `labels`")]),
    ("selector expressions match the template", r.STATEFULSETS, replicated(selector={
        "matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}), []),
    ("workload template restarts always", r.DEPLOYMENTS,
     replicated(template=template(restartPolicy="Never")),
     [not_supported("spec.template.spec.restartPolicy", '"Never"', '"Always"')]),
    ("workload template is validated as a pod spec", r.REPLICASETS,
     replicated(template=template(containers=[{"name": "c"}])),
     [required("spec.template.spec.containers[0].image")]),
    ("replication controller needs a template", r.REPLICATIONCONTROLLERS,
     {"metadata": meta("web"), "spec": {"selector": {"app": "web"}}},
     [required("spec.template")]),
    # Jobs and CronJobs
    ("job template never restarts always", r.JOBS,
     job(template=template({}, restartPolicy="Always")),
     [not_supported("spec.template.spec.restartPolicy", '"Always"', '"OnFailure", "Never"')]),
    ("job parallelism is not negative", r.JOBS, job(parallelism=-1),
     [invalid("spec.parallelism", "-1", NON_NEGATIVE)]),
    ("job completions are not negative", r.JOBS, job(completions=-1),
     [invalid("spec.completions", "-1", NON_NEGATIVE)]),
    ("job backoff limit is not negative", r.JOBS, job(backoffLimit=-1),
     [invalid("spec.backoffLimit", "-1", NON_NEGATIVE)]),
    ("job completion mode", r.JOBS, job(completionMode="Sometimes"),
     [not_supported("spec.completionMode", '"Sometimes"', '"NonIndexed", "Indexed"')]),
    ("cronjob needs a schedule", r.CRONJOBS, cronjob(schedule=""),
     [required("spec.schedule")]),
    ("cronjob concurrency policy", r.CRONJOBS, cronjob(concurrencyPolicy="Sometimes"),
     [not_supported("spec.concurrencyPolicy", '"Sometimes"', '"Allow", "Forbid", "Replace"')]),
    ("cronjob history limits are not negative", r.CRONJOBS,
     cronjob(successfulJobsHistoryLimit=-1, failedJobsHistoryLimit=-1),
     [invalid("spec.successfulJobsHistoryLimit", "-1", NON_NEGATIVE),
      invalid("spec.failedJobsHistoryLimit", "-1", NON_NEGATIVE)]),
    ("cronjob starting deadline is not negative", r.CRONJOBS,
     cronjob(startingDeadlineSeconds=-1),
     [invalid("spec.startingDeadlineSeconds", "-1", NON_NEGATIVE)]),
    ("cronjob job template restarts never always", r.CRONJOBS,
     cronjob(jobTemplate={"spec": {"template": template({}, restartPolicy="Always")}}),
     [not_supported("spec.jobTemplate.spec.template.spec.restartPolicy", '"Always"',
                    '"OnFailure", "Never"')]),
    ("cronjob job template selector is generated", r.CRONJOBS,
     cronjob(jobTemplate={"spec": {"selector": {"matchLabels": {"a": "b"}},
                                   "template": template({}, restartPolicy="Never")}}),
     [invalid("spec.jobTemplate.spec.selector", '{"matchLabels":{"a":"b"}}',
              "`selector` will be auto-generated")]),
    ("cronjob job template has no manual selector", r.CRONJOBS,
     cronjob(jobTemplate={"spec": {"manualSelector": True,
                                   "template": template({}, restartPolicy="Never")}}),
     [not_supported("spec.jobTemplate.spec.manualSelector", "true", '"nil", "false"')]),
    ("cronjob name leaves room for the job suffix", r.CRONJOBS,
     {**cronjob(), "metadata": meta("n" * 53)},
     [invalid("metadata.name", '"' + "n" * 53 + '"', "must be no more than 52 characters")]),
    # Names
    ("namespace name is a DNS label", r.NAMESPACES, {"metadata": {"name": "a.b"}, "spec": {}},
     [invalid("metadata.name", '"a.b"', LABEL_MSG)]),
    ("node is cluster scoped", r.NODES, {"metadata": {"name": "n1", "namespace": "default"}},
     [forbidden("metadata.namespace", "not allowed on this type")]),
    ("core event name is a path segment", r.EVENTS, {**MINIMAL[r.EVENTS](),
                                                     "metadata": meta("a/b")},
     [invalid("metadata.name", '"a/b"', "may not contain '/'")]),
]


@pytest.mark.parametrize(("resource", "obj", "expected"), params(CREATE_RULES))
def test_create_rule(resource: Resource, obj: Obj, expected: list[Cause]) -> None:
    obj = created(resource, obj)
    if not expected:
        validate_create(resource, obj)
        return
    assert create_causes(resource, obj) == expected


def test_invalid_status_names_the_kind_the_object_and_every_cause() -> None:
    obj = created(r.PODS, pod(containers=[{"name": "C_1"}]))
    with pytest.raises(ApiError) as e:
        validate_create(r.PODS, obj)
    name_message = f'Invalid value: "C_1": {LABEL_MSG}'
    status = e.value.to_status()
    assert (status["code"], status["reason"]) == (422, "Invalid")
    assert status["message"] == (f'Pod "p" is invalid: [spec.containers[0].name: '
                                 f"{name_message}, spec.containers[0].image: Required value]")
    assert status["details"] == {"name": "p", "kind": "Pod", "causes": [
        {"reason": "FieldValueInvalid", "message": name_message,
         "field": "spec.containers[0].name"},
        {"reason": "FieldValueRequired", "message": "Required value",
         "field": "spec.containers[0].image"}]}


def test_invalid_status_of_a_grouped_kind_names_its_group() -> None:
    with pytest.raises(ApiError) as e:
        validate_create(r.DEPLOYMENTS, created(r.DEPLOYMENTS, replicated(replicas=-1)))
    status = e.value.to_status()
    assert status["message"] == ('Deployment.apps "web" is invalid: spec.replicas: '
                                 f"Invalid value: -1: {NON_NEGATIVE}")
    assert {k: status["details"][k] for k in ("name", "kind", "group")} == {
        "name": "web", "kind": "Deployment", "group": "apps"}


# --- updates ----------------------------------------------------------------------------


def stored(resource: Resource, obj: Obj) -> Obj:
    out = created(resource, obj)
    out["metadata"]["uid"] = "u1"
    return out


def changed(obj: Obj, path: str, value: Any) -> Obj:
    """A copy of `obj` with the dotted `path` set to `value` (None: removed)."""
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    cur = out
    for p in parents:
        cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
    if value is None:
        cur.pop(last, None)
    elif isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return out


POD = stored(r.PODS, pod())
TOLERATION = {"key": "dedicated", "operator": "Equal", "value": "a", "effect": "NoExecute"}
TOLERATING = stored(r.PODS, pod(tolerations=[TOLERATION]))
DEADLINED = stored(r.PODS, pod(activeDeadlineSeconds=60))
GATED = stored(r.PODS, pod(schedulingGates=[{"name": "a"}, {"name": "b"}]))
SERVICE = stored(r.SERVICES, service(clusterIP="10.96.0.42", clusterIPs=["10.96.0.42"]))
DEPLOYMENT = stored(r.DEPLOYMENTS, replicated())
STATEFULSET = stored(r.STATEFULSETS, replicated())
RC = stored(r.REPLICATIONCONTROLLERS, replicationcontroller())
JOB = stored(r.JOBS, job())
SUSPENDED_JOB = stored(r.JOBS, job(suspend=True))
INDEXED_JOB = stored(r.JOBS, job(completionMode="Indexed", completions=3, parallelism=3))
IMMUTABLE_CM = stored(r.CONFIGMAPS, configmap(data={"a": "1"}, binaryData={"b": "AA=="},
                                              immutable=True))
IMMUTABLE_SECRET = stored(r.SECRETS, secret(data={"a": "AA=="}, immutable=True))
STS_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                 "'template', 'updateStrategy', 'revisionHistoryLimit', "
                 "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")


def new_selector(obj: Obj, labels: Obj) -> Obj:
    out = changed(obj, "spec.selector", {"matchLabels": labels})
    out["spec"]["template"]["metadata"]["labels"] = labels
    return out


UPDATE_RULES = [
    # Pods
    ("pod image may change", r.PODS, POD,
     changed(POD, "spec.containers.0.image", "busybox:2"), []),
    ("pod restart policy may not change", r.PODS, POD,
     changed(POD, "spec.restartPolicy", "Never"), [forbidden("spec", POD_UPDATE_MESSAGE)]),
    ("pod may not be moved to another node", r.PODS, POD,
     changed(POD, "spec.nodeName", "n2"), [forbidden("spec", POD_UPDATE_MESSAGE)]),
    ("pod may gain tolerations", r.PODS, TOLERATING,
     changed(TOLERATING, "spec.tolerations", [TOLERATION, {"key": "b", "operator": "Exists"}]),
     []),
    ("pod toleration seconds may change", r.PODS, TOLERATING,
     changed(TOLERATING, "spec.tolerations", [{**TOLERATION, "tolerationSeconds": 5}]), []),
    ("pod may not lose a toleration", r.PODS, TOLERATING,
     changed(TOLERATING, "spec.tolerations", None),
     [forbidden("spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds")]),
    ("pod may not change a toleration", r.PODS, TOLERATING,
     changed(TOLERATING, "spec.tolerations", [{**TOLERATION, "value": "b"}]),
     [forbidden("spec.tolerations",
                "existing toleration can not be modified except its tolerationSeconds")]),
    ("pod may get an active deadline", r.PODS, POD,
     changed(POD, "spec.activeDeadlineSeconds", 30), []),
    ("pod active deadline may shrink", r.PODS, DEADLINED,
     changed(DEADLINED, "spec.activeDeadlineSeconds", 30), []),
    ("pod active deadline may not grow", r.PODS, DEADLINED,
     changed(DEADLINED, "spec.activeDeadlineSeconds", 90),
     [invalid("spec.activeDeadlineSeconds", "90", "must be less than or equal to previous value")]),
    ("pod active deadline may not be removed", r.PODS, DEADLINED,
     changed(DEADLINED, "spec.activeDeadlineSeconds", None),
     [invalid("spec.activeDeadlineSeconds", '"null"',
              "must not update from a positive integer to nil value")]),
    ("pod scheduling gates may be removed", r.PODS, GATED,
     changed(GATED, "spec.schedulingGates", [{"name": "b"}]), []),
    ("pod scheduling gates may not be added", r.PODS, GATED,
     changed(GATED, "spec.schedulingGates", [{"name": "a"}, {"name": "c"}]),
     [forbidden("spec.schedulingGates[1].name",
                "only deletion is allowed, but found new scheduling gate 'c'")]),
    ("pod grace period may go from negative to 1", r.PODS,
     stored(r.PODS, pod(terminationGracePeriodSeconds=-1)),
     stored(r.PODS, pod(terminationGracePeriodSeconds=1)), []),
    ("pod grace period may not change otherwise", r.PODS, POD,
     changed(POD, "spec.terminationGracePeriodSeconds", 5),
     [forbidden("spec", POD_UPDATE_MESSAGE)]),
    ("pod name may not change", r.PODS, POD, changed(POD, "metadata.name", "q"),
     [invalid("metadata.name", '"q"', IMMUTABLE)]),
    # Services
    ("service cluster IP may not change", r.SERVICES, SERVICE,
     changed(SERVICE, "spec.clusterIP", "10.96.0.43"),
     [invalid("spec.clusterIPs[0]", '["10.96.0.43"]', "may not change once set")]),
    ("service cluster IPs may not change", r.SERVICES, SERVICE,
     changed(changed(SERVICE, "spec.clusterIP", "10.96.0.43"), "spec.clusterIPs",
             ["10.96.0.43"]),
     [invalid("spec.clusterIPs[0]", '["10.96.0.43"]', "may not change once set")]),
    ("service may become an external name", r.SERVICES, SERVICE,
     changed(changed(changed(SERVICE, "spec.type", "ExternalName"), "spec.externalName",
                     "example.com"), "spec.clusterIP", ""), []),
    ("service ports may change", r.SERVICES, SERVICE,
     changed(SERVICE, "spec.ports", [{"port": 81, "protocol": "TCP", "targetPort": 81}]), []),
    # Workloads
    ("deployment selector is immutable", r.DEPLOYMENTS, DEPLOYMENT,
     new_selector(DEPLOYMENT, {"app": "new"}),
     [invalid("spec.selector", '{"matchLabels":{"app":"new"}}', IMMUTABLE)]),
    ("replicaset selector is immutable", r.REPLICASETS, stored(r.REPLICASETS, replicated()),
     new_selector(stored(r.REPLICASETS, replicated()), {"app": "new"}),
     [invalid("spec.selector", '{"matchLabels":{"app":"new"}}', IMMUTABLE)]),
    ("daemonset selector is immutable", r.DAEMONSETS, stored(r.DAEMONSETS, replicated()),
     new_selector(stored(r.DAEMONSETS, replicated()), {"app": "new"}),
     [invalid("spec.selector", '{"matchLabels":{"app":"new"}}', IMMUTABLE)]),
    ("replication controller selector may change", r.REPLICATIONCONTROLLERS, RC,
     changed(changed(RC, "spec.selector", {"app": "new"}),
             "spec.template.metadata.labels", {"app": "new"}), []),
    ("deployment template and replicas may change", r.DEPLOYMENTS, DEPLOYMENT,
     changed(changed(DEPLOYMENT, "spec.replicas", 5), "spec.template.spec.containers.0.image",
             "busybox:2"), []),
    ("statefulset replicas, template and strategy may change", r.STATEFULSETS, STATEFULSET,
     changed(changed(changed(STATEFULSET, "spec.replicas", 5),
                     "spec.template.spec.containers.0.image", "busybox:2"),
             "spec.updateStrategy", {"type": "OnDelete"}), []),
    ("statefulset service name may not change", r.STATEFULSETS, STATEFULSET,
     changed(STATEFULSET, "spec.serviceName", "other"), [forbidden("spec", STS_FORBIDDEN)]),
    ("statefulset selector may not change", r.STATEFULSETS, STATEFULSET,
     new_selector(STATEFULSET, {"app": "new"}), [forbidden("spec", STS_FORBIDDEN)]),
    ("statefulset pod management policy may not change", r.STATEFULSETS, STATEFULSET,
     changed(STATEFULSET, "spec.podManagementPolicy", "Parallel"),
     [forbidden("spec", STS_FORBIDDEN)]),
    # Jobs
    ("job may be suspended and scaled", r.JOBS, JOB,
     changed(changed(JOB, "spec.suspend", True), "spec.parallelism", 4), []),
    ("job selector is immutable", r.JOBS, JOB,
     changed(JOB, "spec.selector", {"matchLabels": {"job-name": "pi"}}),
     [invalid("spec.selector", '{"matchLabels":{"job-name":"pi"}}', IMMUTABLE)]),
    ("job completions are immutable", r.JOBS, JOB, changed(JOB, "spec.completions", 3),
     [invalid("spec.completions", "3", IMMUTABLE)]),
    ("job completion mode is immutable", r.JOBS, JOB,
     changed(changed(JOB, "spec.completionMode", "Indexed"), "spec.completions", 1),
     [invalid("spec.completionMode", '"Indexed"', IMMUTABLE)]),
    ("indexed job completions change with parallelism", r.JOBS, INDEXED_JOB,
     changed(changed(INDEXED_JOB, "spec.completions", 5), "spec.parallelism", 5), []),
    ("indexed job completions change only with parallelism", r.JOBS, INDEXED_JOB,
     changed(INDEXED_JOB, "spec.completions", 5),
     [invalid("spec.completions", "5", "can only be modified in tandem with spec.parallelism")]),
    ("suspended job that never ran may change its scheduling directives", r.JOBS,
     SUSPENDED_JOB,
     changed(changed(SUSPENDED_JOB, "spec.template.spec.nodeSelector", {"disk": "ssd"}),
             "spec.template.metadata.annotations", {"a": "b"}), []),
]


def template_immutable(new: Obj) -> Cause:
    value = json.dumps(new["spec"]["template"], separators=(",", ":"))
    return invalid("spec.template", value, IMMUTABLE)


JOB_IMAGE = changed(JOB, "spec.template.spec.containers.0.image", "busybox:2")
STARTED_JOB = {**SUSPENDED_JOB, "status": {"startTime": "2024-01-01T00:00:00Z"}}
STARTED_JOB_MOVED = changed(STARTED_JOB, "spec.template.spec.nodeSelector", {"disk": "ssd"})
SUSPENDED_JOB_IMAGE = changed(SUSPENDED_JOB, "spec.template.spec.containers.0.image", "b:2")
UPDATE_RULES += [
    ("job template is immutable", r.JOBS, JOB, JOB_IMAGE, [template_immutable(JOB_IMAGE)]),
    ("a started job may not change its scheduling directives", r.JOBS, STARTED_JOB,
     STARTED_JOB_MOVED, [template_immutable(STARTED_JOB_MOVED)]),
    ("a suspended job may not change its image", r.JOBS, SUSPENDED_JOB, SUSPENDED_JOB_IMAGE,
     [template_immutable(SUSPENDED_JOB_IMAGE)]),
    # ConfigMaps and Secrets
    ("mutable config map data may change", r.CONFIGMAPS,
     stored(r.CONFIGMAPS, configmap(data={"a": "1"})),
     stored(r.CONFIGMAPS, configmap(data={"a": "2"})), []),
    ("immutable config map data may not change", r.CONFIGMAPS, IMMUTABLE_CM,
     changed(IMMUTABLE_CM, "data.a", "2"), [("FieldValueForbidden", "data", WHEN_IMMUTABLE)]),
    ("immutable config map binary data may not change", r.CONFIGMAPS, IMMUTABLE_CM,
     changed(IMMUTABLE_CM, "binaryData", None),
     [("FieldValueForbidden", "binaryData", WHEN_IMMUTABLE)]),
    ("immutable config map stays immutable", r.CONFIGMAPS, IMMUTABLE_CM,
     changed(IMMUTABLE_CM, "immutable", False),
     [("FieldValueForbidden", "immutable", WHEN_IMMUTABLE)]),
    ("immutable config map may change its labels", r.CONFIGMAPS, IMMUTABLE_CM,
     changed(IMMUTABLE_CM, "metadata.labels", {"a": "b"}), []),
    ("immutable secret data may not change", r.SECRETS, IMMUTABLE_SECRET,
     changed(IMMUTABLE_SECRET, "data.a", "AQ=="),
     [("FieldValueForbidden", "data", WHEN_IMMUTABLE)]),
    ("immutable secret stays immutable", r.SECRETS, IMMUTABLE_SECRET,
     changed(IMMUTABLE_SECRET, "immutable", None),
     [("FieldValueForbidden", "immutable", WHEN_IMMUTABLE)]),
    ("secret type is immutable", r.SECRETS, stored(r.SECRETS, secret()),
     changed(stored(r.SECRETS, secret()), "type", "example.com/other"),
     [invalid("type", '"example.com/other"', IMMUTABLE)]),
    # Namespaces and names
    ("namespace name may not change", r.NAMESPACES, stored(r.NAMESPACES, namespace()),
     changed(stored(r.NAMESPACES, namespace()), "metadata.name", "other"),
     [invalid("metadata.name", '"other"', IMMUTABLE)]),
    ("a long cronjob name may stay on update", r.CRONJOBS,
     {**stored(r.CRONJOBS, cronjob()), "metadata": meta("n" * 53, uid="u1")},
     {**stored(r.CRONJOBS, cronjob()), "metadata": meta("n" * 53, uid="u1")}, []),
]


@pytest.mark.parametrize(("resource", "old", "new", "expected"), params(UPDATE_RULES))
def test_update_rule(resource: Resource, old: Obj, new: Obj, expected: list[Cause]) -> None:
    if not expected:
        validate_update(resource, old, new)
        return
    assert update_causes(resource, old, new) == expected


def test_a_controller_revision_without_data_is_refused() -> None:
    obj = MINIMAL[r.CONTROLLERREVISIONS]()
    del obj["data"]
    assert create_causes(r.CONTROLLERREVISIONS, obj) == [
        ("FieldValueRequired", "data", "Required value: data is mandatory")]
