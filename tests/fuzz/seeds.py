"""One small valid object of every served kind: what the generators start from and mutate."""

from __future__ import annotations

import copy
from typing import Any

from minikube_py.api.resources import Resource
from tests.csrs import request_b64

Obj = dict[str, Any]
# The port of a loopback socket the fuzzer holds bound but never listens on: the only
# kubelet address its nodes may name, so a pods/log request never leaves the machine.
NODE_PORT_PLACEHOLDER = 1

_CONTAINER: Obj = {"name": "c", "image": "busybox"}
_POD_SPEC: Obj = {"containers": [_CONTAINER]}
_LABELS: Obj = {"app": "fuzz"}
_TEMPLATE: Obj = {"metadata": {"labels": _LABELS}, "spec": _POD_SPEC}
_JOB_TEMPLATE: Obj = {"metadata": {"labels": _LABELS},
                      "spec": {**_POD_SPEC, "restartPolicy": "Never"}}

_SEEDS: dict[str, Obj] = {
    "Namespace": {"spec": {}},
    "Node": {"spec": {}, "status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": NODE_PORT_PLACEHOLDER}}}},
    "Pod": {"spec": _POD_SPEC},
    "Event": {"involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
              "reason": "Fuzzed", "message": "m", "type": "Normal"},
    "Service": {"spec": {"selector": _LABELS, "ports": [{"port": 80}]}},
    "Endpoints": {"subsets": [{"addresses": [{"ip": "10.244.0.5"}],
                               "ports": [{"port": 80}]}]},
    "ConfigMap": {"data": {"k": "v"}},
    "Secret": {"data": {"k": "dg=="}, "type": "Opaque"},
    "ServiceAccount": {},
    "ReplicationController": {"spec": {"replicas": 1, "selector": _LABELS,
                                       "template": _TEMPLATE}},
    "Lease": {"spec": {"holderIdentity": "h", "leaseDurationSeconds": 10}},
    "Deployment": {"spec": {"replicas": 1, "selector": {"matchLabels": _LABELS},
                            "template": _TEMPLATE}},
    "ReplicaSet": {"spec": {"replicas": 1, "selector": {"matchLabels": _LABELS},
                            "template": _TEMPLATE}},
    "DaemonSet": {"spec": {"selector": {"matchLabels": _LABELS}, "template": _TEMPLATE}},
    "StatefulSet": {"spec": {"replicas": 1, "serviceName": "s",
                             "selector": {"matchLabels": _LABELS}, "template": _TEMPLATE}},
    "ControllerRevision": {"data": {"spec": {"x": 1}}, "revision": 1},
    "Job": {"spec": {"template": _JOB_TEMPLATE}},
    "CronJob": {"spec": {"schedule": "*/5 * * * *",
                         "jobTemplate": {"spec": {"template": _JOB_TEMPLATE}}}},
    "EndpointSlice": {"addressType": "IPv4", "endpoints": [{"addresses": ["10.244.0.5"]}],
                      "ports": [{"port": 80, "protocol": "TCP"}]},
    "ClusterRole": {"rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
                              {"verbs": ["get"], "nonResourceURLs": ["/healthz*"]}]},
    "Role": {"rules": [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"],
                        "resourceNames": ["p"]}]},
    "ClusterRoleBinding": {
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "g"},
                     {"kind": "ServiceAccount", "name": "sa", "namespace": "default"}]},
    "RoleBinding": {
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
        "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "u"}]},
    "CertificateSigningRequest": {"spec": {
        "request": request_b64("system:node:n1", ("system:nodes",)),
        "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
        "usages": ["digital signature", "client auth"], "expirationSeconds": 3600}},
    "Ingress": {"spec": {"rules": [{"host": "fuzz.example", "http": {"paths": [
        {"path": "/", "pathType": "Prefix",
         "backend": {"service": {"name": "s", "port": {"number": 80}}}}]}}]}},
    "IngressClass": {"spec": {"controller": "example.com/fuzz"}},
    "NetworkPolicy": {"spec": {"podSelector": {"matchLabels": _LABELS},
                               "ingress": [{"ports": [{"port": 80}]}]}},
    "PriorityClass": {"value": 1000, "description": "fuzz"},
    "RuntimeClass": {"handler": "runc"},
    "PersistentVolume": {"spec": {"capacity": {"storage": "1Gi"},
                                  "accessModes": ["ReadWriteOnce"],
                                  "hostPath": {"path": "/tmp/fuzz-pv"},
                                  "storageClassName": "manual"}},
    "PersistentVolumeClaim": {"spec": {"accessModes": ["ReadWriteOnce"],
                                       "resources": {"requests": {"storage": "1Gi"}},
                                       "storageClassName": "manual"}},
    "StorageClass": {"provisioner": "example.com/fuzz", "parameters": {"type": "fuzz"}},
    "CSIDriver": {"spec": {"attachRequired": False, "volumeLifecycleModes": ["Persistent"]}},
    "CSINode": {"spec": {"drivers": [{"name": "csi.example.com", "nodeID": "n1",
                                      "topologyKeys": ["topology.example.com/zone"]}]}},
    "VolumeAttachment": {"spec": {"attacher": "csi.example.com", "nodeName": "n1",
                                  "source": {"persistentVolumeName": "pv0"}}},
    "CSIStorageCapacity": {"storageClassName": "standard", "capacity": "10Gi",
                           "nodeTopology": {"matchLabels": _LABELS}},
    # spec.group and spec.version follow the name (version.group): see seed().
    "APIService": {"spec": {"groupPriorityMinimum": 1000, "versionPriority": 15}},
    "HorizontalPodAutoscaler": {"spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1, "maxReplicas": 5, "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}},
    "PodDisruptionBudget": {"spec": {"minAvailable": 1, "selector": {"matchLabels": _LABELS},
                                     "unhealthyPodEvictionPolicy": "IfHealthyBudget"}},
    "ResourceQuota": {"spec": {"hard": {"pods": "10", "requests.cpu": "2",
                                        "count/deployments.apps": "5"}}},
    "LimitRange": {"spec": {"limits": [
        {"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "4Mi"},
         "defaultRequest": {"cpu": "100m"}, "maxLimitRequestRatio": {"cpu": "10"}},
        {"type": "Pod", "max": {"memory": "1Gi"}}]}},
    # spec.group and spec.names.plural come from the name (seed_name): they must make it.
    "CustomResourceDefinition": {"spec": {
        "scope": "Namespaced", "names": {"kind": "Fuzz", "shortNames": ["fz"]},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "subresources": {"status": {}},
                      "additionalPrinterColumns": [{"name": "Size", "type": "integer",
                                                    "jsonPath": ".spec.size"}],
                      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                          "spec": {"type": "object", "properties": {
                              "size": {"type": "integer", "minimum": 0, "default": 1}}},
                          "status": {"type": "object",
                                     "x-kubernetes-preserve-unknown-fields": True}}}}}]}},
}
# A CRD's name is <plural>.<group>.
_CRD_GROUP = "fuzz.example.com"
# The review kinds: answered, never stored; their metadata must be empty.
_ACCESS: Obj = {"resourceAttributes": {"verb": "get", "resource": "pods",
                                       "namespace": "default"}}
_REVIEWS: dict[str, Obj] = {
    "SubjectAccessReview": {"spec": {**_ACCESS, "user": "u", "groups": ["g"]}},
    "LocalSubjectAccessReview": {"metadata": {"namespace": "default"},
                                 "spec": {**_ACCESS, "user": "u"}},
    "SelfSubjectAccessReview": {"spec": {"nonResourceAttributes": {"verb": "get",
                                                                   "path": "/healthz"}}},
    "SelfSubjectRulesReview": {"spec": {"namespace": "default"}},
    "SelfSubjectReview": {},
    "TokenReview": {"spec": {"token": "abcdef.0123456789abcdef"}},
}
# events.k8s.io/v1 Event has its own shape.
_EVENTS_V1: Obj = {"eventTime": "2024-01-01T00:00:00.000000Z", "reportingController": "fuzz",
                   "reportingInstance": "fuzz-1", "action": "Fuzz", "reason": "Fuzzed",
                   "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
                   "type": "Normal"}
_HPA_V1: Obj = {"spec": {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70}}


def seed(resource: Resource, name: str, namespace: str | None, kubelet_port: int) -> Obj:
    """A valid object of `resource` called `name` (its namespace in metadata when namespaced)."""
    body = (_EVENTS_V1 if resource.group == "events.k8s.io" else
            _HPA_V1 if resource.api_version == "autoscaling/v1" else _SEEDS[resource.kind])
    obj: Obj = {"apiVersion": resource.api_version, "kind": resource.kind,
                "metadata": {"name": name, "labels": dict(_LABELS),
                             "annotations": {"note": "fuzz"}}, **copy.deepcopy(body)}
    if resource.namespaced and namespace is not None:
        obj["metadata"]["namespace"] = namespace
    if resource.kind == "Node":
        obj["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] = kubelet_port
    if resource.kind == "APIService":  # valid only for a name of the form version.group
        version, _, group = name.partition(".")
        obj["spec"].update(version=version, group=group)
    if resource.kind == "CustomResourceDefinition":
        plural, _, group = name.partition(".")
        obj["spec"]["group"] = group or _CRD_GROUP
        obj["spec"]["names"]["plural"] = plural
    return obj


def seed_name(resource: Resource, name: str) -> str:
    """A name the seed of `resource` is valid under (a CRD's is <plural>.<group>, an
    APIService's version.group)."""
    if resource.kind == "CustomResourceDefinition":
        return f"{name}s.{_CRD_GROUP}"
    if resource.kind == "APIService":
        return f"{name}.fuzz"
    return name


def review_seed(resource: Resource) -> Obj:
    """A valid review of `resource`'s kind."""
    return {"apiVersion": resource.api_version, "kind": resource.kind,
            **copy.deepcopy(_REVIEWS[resource.kind])}


def has_seed(resource: Resource) -> bool:
    return resource.group == "events.k8s.io" or resource.kind in _SEEDS
