"""Minimal objects of every built-in kind, and the strategy hooks as the request path calls
them, for the table-driven strategy tests."""

import copy
from collections.abc import Callable
from typing import Any

import pytest

from minikube_py.api import resources as r
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import Resource
from minikube_py.apiserver.kinds.base import Strategy
from tests.csrs import KUBELET_CLIENT_SIGNER, NODE_CLIENT_USAGES, request_b64
from tests.unit.apiserver.kinds import KINDS, validate_create, validate_update

Obj = dict[str, Any]
Cause = tuple[str, str, str]  # (reason, field, message)
UID = "6f1d7c2e-0a1b-4c2d-8e3f-9a4b5c6d7e8f"


def strategy(resource: Resource) -> Strategy:
    return KINDS.strategy(resource)


def meta(name: str = "x", **extra: Any) -> Obj:
    return {"name": name, "namespace": "default", **extra}


def pod_spec(**extra: Any) -> Obj:
    return {"containers": [{"name": "c", "image": "busybox"}], **extra}


def template(labels: Obj | None = None, **spec: Any) -> Obj:
    return {"metadata": {"labels": {"app": "web"} if labels is None else labels},
            "spec": pod_spec(**spec)}


def namespace(**spec: Any) -> Obj:
    return {"metadata": {"name": "team"}, "spec": spec}


def node(**spec: Any) -> Obj:
    return {"metadata": {"name": "n1"}, "spec": spec}


def pod(**spec: Any) -> Obj:
    return {"metadata": meta("p"), "spec": pod_spec(**spec)}


def service(**spec: Any) -> Obj:
    return {"metadata": meta("web"), "spec": {"ports": [{"port": 80}], **spec}}


def endpoints(**subset: Any) -> Obj:
    return {"metadata": meta("web"),
            "subsets": [{"addresses": [{"ip": "10.244.0.5"}], **subset}]}


def endpointslice(**top: Any) -> Obj:
    return {"metadata": meta("web-abc"), "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.0.5"]}], **top}


def event(**top: Any) -> Obj:
    return {"metadata": meta("p.1"), "involvedObject": {"kind": "Pod", "name": "p"},
            "reason": "Started", **top}


def event_v1(**top: Any) -> Obj:
    return {"metadata": meta("p.1"), "regarding": {"kind": "Pod", "name": "p"},
            "reason": "Started", "eventTime": "2023-11-14T22:13:20.000000Z", **top}


def configmap(**top: Any) -> Obj:
    return {"metadata": meta("cfg"), **top}


def secret(**top: Any) -> Obj:
    return {"metadata": meta("creds"), **top}


def serviceaccount(**top: Any) -> Obj:
    return {"metadata": meta("robot"), **top}


def lease(**spec: Any) -> Obj:
    return {"metadata": meta("n1"), "spec": spec}


def controllerrevision(**top: Any) -> Obj:
    return {"metadata": meta("web-7d4b9c"), "revision": 1, "data": {}, **top}


def replicated(**spec: Any) -> Obj:
    """A Deployment, ReplicaSet, DaemonSet or StatefulSet spec: selector and template."""
    return {"metadata": meta("web"),
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(),
                     **spec}}


def replicationcontroller(**spec: Any) -> Obj:
    return {"metadata": meta("web"), "spec": {"template": template(), **spec}}


def job(**spec: Any) -> Obj:
    return {"metadata": meta("pi", uid=UID),
            "spec": {"template": template({}, restartPolicy="Never"), **spec}}


def cronjob(**spec: Any) -> Obj:
    return {"metadata": meta("nightly"),
            "spec": {"schedule": "0 3 * * *",
                     "jobTemplate": {"spec": {"template": template({}, restartPolicy="OnFailure")}},
                     **spec}}


POD_READER_RULES = [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
RBAC = "rbac.authorization.k8s.io"


def cluster_role() -> Obj:
    return {"metadata": {"name": "pod-reader"}, "rules": POD_READER_RULES}


def role() -> Obj:
    return {"metadata": meta("pod-reader"), "rules": POD_READER_RULES}


def cluster_role_binding() -> Obj:
    return {"metadata": {"name": "read-pods"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "pod-reader"},
            "subjects": [{"kind": "User", "apiGroup": RBAC, "name": "jane"}]}


def role_binding() -> Obj:
    return {"metadata": meta("read-pods"),
            "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "default"}]}


_NODE_REQUEST = request_b64("system:node:n1", ("system:nodes",))


def csr(**spec: Any) -> Obj:
    return {"metadata": {"name": "node-csr"},
            "spec": {"request": _NODE_REQUEST, "signerName": KUBELET_CLIENT_SIGNER,
                     "usages": list(NODE_CLIENT_USAGES), **spec}}


def ingress(**spec: Any) -> Obj:
    return {"metadata": meta("web"), "spec": spec or {
        "defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}


def ingressclass(**spec: Any) -> Obj:
    return {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx",
                                                     **spec}}


def networkpolicy(**spec: Any) -> Obj:
    return {"metadata": meta("deny"), "spec": {"podSelector": {}, **spec}}


def priorityclass(value: int = 1000, **fields: Any) -> Obj:
    return {"metadata": {"name": "high"}, "value": value, **fields}


def runtimeclass() -> Obj:
    return {"metadata": {"name": "runc"}, "handler": "runc"}


def persistentvolume(**spec: Any) -> Obj:
    return {"metadata": {"name": "pv0"}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
        "hostPath": {"path": "/data/pv0"}, **spec}}


def persistentvolumeclaim(**spec: Any) -> Obj:
    return {"metadata": meta("data"), "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
        **spec}}


def storageclass(**fields: Any) -> Obj:
    return {"metadata": {"name": "fast"}, "provisioner": "example.com/fast", **fields}


def csidriver(**spec: Any) -> Obj:
    return {"metadata": {"name": "csi.example.com"}, "spec": spec}


def csinode(**spec: Any) -> Obj:
    return {"metadata": {"name": "n1"}, "spec": {"drivers": [
        {"name": "csi.example.com", "nodeID": "n1"}], **spec}}


def volumeattachment(**spec: Any) -> Obj:
    return {"metadata": {"name": "va0"}, "spec": {
        "attacher": "csi.example.com", "nodeName": "n1",
        "source": {"persistentVolumeName": "pv0"}, **spec}}


def csistoragecapacity(**fields: Any) -> Obj:
    return {"metadata": meta("cap0"), "storageClassName": "fast", "capacity": "10Gi",
            **fields}


def apiservice(**spec: Any) -> Obj:
    return {"metadata": {"name": "v1beta1.metrics.example.com"},
            "spec": {"group": "metrics.example.com", "version": "v1beta1",
                     "groupPriorityMinimum": 100, "versionPriority": 100, **spec}}


def horizontalpodautoscaler(**spec: Any) -> Obj:
    return {"metadata": meta("web"), "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 5, **spec}}


def poddisruptionbudget(**spec: Any) -> Obj:
    return {"metadata": meta("web"),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}, **spec}}


def resourcequota() -> Obj:
    return {"metadata": meta("compute"), "spec": {"hard": {"pods": "10", "requests.cpu": "1"}}}


def limitrange() -> Obj:
    return {"metadata": meta("limits"), "spec": {"limits": [
        {"type": "Container", "max": {"cpu": "1"}}]}}


def crd(**spec: Any) -> Obj:
    return {"metadata": {"name": "widgets.example.com"}, "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object"}}}], **spec}}


MINIMAL: dict[Resource, Callable[[], Obj]] = {
    r.NAMESPACES: namespace, r.NODES: node, r.PODS: pod, r.EVENTS: event,
    r.SERVICES: service, r.ENDPOINTS: endpoints, r.CONFIGMAPS: configmap, r.SECRETS: secret,
    r.SERVICEACCOUNTS: serviceaccount, r.REPLICATIONCONTROLLERS: replicationcontroller,
    r.LEASES: lease, r.DEPLOYMENTS: replicated, r.REPLICASETS: replicated,
    r.DAEMONSETS: replicated, r.STATEFULSETS: replicated,
    r.CONTROLLERREVISIONS: controllerrevision, r.JOBS: job, r.CRONJOBS: cronjob,
    r.ENDPOINTSLICES: endpointslice, r.EVENTS_V1: event_v1,
    r.CLUSTERROLES: cluster_role, r.ROLES: role,
    r.CLUSTERROLEBINDINGS: cluster_role_binding, r.ROLEBINDINGS: role_binding,
    r.CERTIFICATESIGNINGREQUESTS: csr, r.INGRESSES: ingress, r.INGRESSCLASSES: ingressclass,
    r.NETWORKPOLICIES: networkpolicy, r.PRIORITYCLASSES: priorityclass,
    r.RUNTIMECLASSES: runtimeclass, r.PERSISTENTVOLUMES: persistentvolume,
    r.PERSISTENTVOLUMECLAIMS: persistentvolumeclaim, r.STORAGECLASSES: storageclass,
    r.CSIDRIVERS: csidriver, r.CSINODES: csinode, r.VOLUMEATTACHMENTS: volumeattachment,
    r.CSISTORAGECAPACITIES: csistoragecapacity,
    r.PODDISRUPTIONBUDGETS: poddisruptionbudget,
    r.RESOURCEQUOTAS: resourcequota, r.LIMITRANGES: limitrange,
    r.APISERVICES: apiservice, r.HORIZONTALPODAUTOSCALERS: horizontalpodautoscaler,
    r.HORIZONTALPODAUTOSCALERS_V1: horizontalpodautoscaler,
    r.CUSTOMRESOURCEDEFINITIONS: crd,
}


def defaulted(resource: Resource, obj: Obj) -> Obj:
    """The object after the kind's defaults, as the create and update paths apply them."""
    out = copy.deepcopy(obj)
    strategy(resource).default(out)
    return out


def created(resource: Resource, obj: Obj) -> Obj:
    """The object as the create path prepares it: defaults, then prepare_for_create."""
    out = defaulted(resource, obj)
    out["metadata"].setdefault("uid", UID)
    strategy(resource).prepare_for_create(out)
    return out


def updated(resource: Resource, old: Obj, new: Obj) -> Obj:
    """A main-resource update of `old` with `new`: the stored generation kept (as the update
    path keeps system fields), defaults, then prepare_for_update."""
    out = defaulted(resource, new)
    if "generation" in old["metadata"]:
        out["metadata"]["generation"] = old["metadata"]["generation"]
    strategy(resource).prepare_for_update(out, copy.deepcopy(old))
    return out


def causes(resource: Resource, obj: Obj) -> list[Cause]:
    """The causes of the 422 the create path's validation answers for `obj`."""
    with pytest.raises(ApiError) as e:
        validate_create(resource, obj)
    assert (e.value.code, e.value.reason) == (422, "Invalid")
    return [(c.reason, c.field, c.message) for c in e.value.causes]


def update_causes(resource: Resource, old: Obj, new: Obj) -> list[Cause]:
    """The causes of the 422 the update path's validation answers for `old` -> `new`."""
    with pytest.raises(ApiError) as e:
        validate_update(resource, old, new)
    assert (e.value.code, e.value.reason) == (422, "Invalid")
    return [(c.reason, c.field, c.message) for c in e.value.causes]
