"""The resource types the cluster serves: identity (group, version, plural, kind) and scope."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Resource:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _r(group: str, version: str, plural: str, kind: str, namespaced: bool, **kw: object) -> Resource:
    return Resource(group, version, plural, kind, namespaced, **kw)  # type: ignore[arg-type]


NAMESPACES = _r("", "v1", "namespaces", "Namespace", False, short_names=("ns",),
                subresources=("status", "finalize"))
NODES = _r("", "v1", "nodes", "Node", False, short_names=("no",), subresources=("status",))
PODS = _r("", "v1", "pods", "Pod", True, short_names=("po",), categories=("all",),
          subresources=("status", "binding", "log", "eviction", "ephemeralcontainers"))
EVENTS = _r("", "v1", "events", "Event", True, short_names=("ev",))
SERVICES = _r("", "v1", "services", "Service", True, short_names=("svc",), categories=("all",),
              subresources=("status",))
ENDPOINTS = _r("", "v1", "endpoints", "Endpoints", True, short_names=("ep",))
CONFIGMAPS = _r("", "v1", "configmaps", "ConfigMap", True, short_names=("cm",))
SECRETS = _r("", "v1", "secrets", "Secret", True)
SERVICEACCOUNTS = _r("", "v1", "serviceaccounts", "ServiceAccount", True, short_names=("sa",),
                     subresources=("token",))
REPLICATIONCONTROLLERS = _r("", "v1", "replicationcontrollers", "ReplicationController", True,
                            short_names=("rc",), categories=("all",),
                            subresources=("status", "scale"))
LEASES = _r("coordination.k8s.io", "v1", "leases", "Lease", True)
DEPLOYMENTS = _r("apps", "v1", "deployments", "Deployment", True, short_names=("deploy",),
                 categories=("all",), subresources=("status", "scale"))
REPLICASETS = _r("apps", "v1", "replicasets", "ReplicaSet", True, short_names=("rs",),
                 categories=("all",), subresources=("status", "scale"))
DAEMONSETS = _r("apps", "v1", "daemonsets", "DaemonSet", True, short_names=("ds",),
                categories=("all",), subresources=("status",))
STATEFULSETS = _r("apps", "v1", "statefulsets", "StatefulSet", True, short_names=("sts",),
                  categories=("all",), subresources=("status", "scale"))
CONTROLLERREVISIONS = _r("apps", "v1", "controllerrevisions", "ControllerRevision", True)
JOBS = _r("batch", "v1", "jobs", "Job", True, categories=("all",), subresources=("status",))
CRONJOBS = _r("batch", "v1", "cronjobs", "CronJob", True, short_names=("cj",),
              categories=("all",), subresources=("status",))
ENDPOINTSLICES = _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True)
EVENTS_V1 = _r("events.k8s.io", "v1", "events", "Event", True, short_names=("ev",))
ROLES = _r("rbac.authorization.k8s.io", "v1", "roles", "Role", True)
CLUSTERROLES = _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False)
ROLEBINDINGS = _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True)
CLUSTERROLEBINDINGS = _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                         "ClusterRoleBinding", False)
CERTIFICATESIGNINGREQUESTS = _r("certificates.k8s.io", "v1", "certificatesigningrequests",
                                "CertificateSigningRequest", False, short_names=("csr",),
                                subresources=("approval", "status"))
INGRESSES = _r("networking.k8s.io", "v1", "ingresses", "Ingress", True, short_names=("ing",),
               subresources=("status",))
INGRESSCLASSES = _r("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False)
NETWORKPOLICIES = _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True,
                     short_names=("netpol",))
RUNTIMECLASSES = _r("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False)
PRIORITYCLASSES = _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False,
                     short_names=("pc",))
# Stored and served (autoscaling/v2, and v1 below); the HPA controller acts on them.
HORIZONTALPODAUTOSCALERS = _r("autoscaling", "v2", "horizontalpodautoscalers",
                              "HorizontalPodAutoscaler", True, short_names=("hpa",),
                              categories=("all",), subresources=("status",))
# autoscaling/v1: the same objects (stored as v2) served in kube's older shape. Not in
# BUILTIN: it is a view of HORIZONTALPODAUTOSCALERS' storage, not a kind of its own.
HORIZONTALPODAUTOSCALERS_V1 = _r("autoscaling", "v1", "horizontalpodautoscalers",
                                 "HorizontalPodAutoscaler", True, short_names=("hpa",),
                                 categories=("all",), subresources=("status",))
RESOURCEQUOTAS = _r("", "v1", "resourcequotas", "ResourceQuota", True, short_names=("quota",),
                    subresources=("status",))
LIMITRANGES = _r("", "v1", "limitranges", "LimitRange", True, short_names=("limits",))
# Stored and served; the API server keeps one Local APIService per group-version it serves
# (kube's autoregistration). Aggregated API servers are not proxied.
APISERVICES = _r("apiregistration.k8s.io", "v1", "apiservices", "APIService", False,
                 categories=("api-extensions",), subresources=("status",))
CUSTOMRESOURCEDEFINITIONS = _r("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                               "CustomResourceDefinition", False, short_names=("crd", "crds"),
                               categories=("api-extensions",), subresources=("status",))
# Storage: claims, volumes and classes (kinds/persistentvolumes.py and the storage
# controllers), and the CSI kinds, served empty (no CSI driver runs here).
PERSISTENTVOLUMES = _r("", "v1", "persistentvolumes", "PersistentVolume", False,
                       short_names=("pv",), subresources=("status",))
PERSISTENTVOLUMECLAIMS = _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True,
                            short_names=("pvc",), subresources=("status",))
STORAGECLASSES = _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False,
                    short_names=("sc",))
CSIDRIVERS = _r("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False)
CSINODES = _r("storage.k8s.io", "v1", "csinodes", "CSINode", False)
VOLUMEATTACHMENTS = _r("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False,
                       subresources=("status",))
CSISTORAGECAPACITIES = _r("storage.k8s.io", "v1", "csistoragecapacities",
                          "CSIStorageCapacity", True)
PODDISRUPTIONBUDGETS = _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True,
                          short_names=("pdb",), subresources=("status",))
# Answered, never stored (the API server's authorizers decide); kubelets ask it who may
# call them.
SUBJECTACCESSREVIEWS = _r("authorization.k8s.io", "v1", "subjectaccessreviews",
                          "SubjectAccessReview", False)
# Answered by the API server's token authenticators; kubelets ask it who sent a token.
TOKENREVIEWS = _r("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False)

# The resource metrics API (metrics.k8s.io/v1beta1): read from the kubelets when asked,
# never stored, so not in BUILTIN; `kubectl top` and the HPA controller read them.
NODEMETRICS = _r("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False)
PODMETRICS = _r("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True)

# Every stored kind (the review APIs of authorization.k8s.io are answered, never stored).
BUILTIN: tuple[Resource, ...] = (
    NAMESPACES, NODES, PODS, EVENTS, SERVICES, ENDPOINTS, CONFIGMAPS, SECRETS, SERVICEACCOUNTS,
    REPLICATIONCONTROLLERS, LEASES, DEPLOYMENTS, REPLICASETS, DAEMONSETS, STATEFULSETS,
    CONTROLLERREVISIONS, JOBS, CRONJOBS, ENDPOINTSLICES, EVENTS_V1, CLUSTERROLES,
    CLUSTERROLEBINDINGS, ROLES, ROLEBINDINGS, CERTIFICATESIGNINGREQUESTS, INGRESSES,
    INGRESSCLASSES, NETWORKPOLICIES, PRIORITYCLASSES, RUNTIMECLASSES, PERSISTENTVOLUMES,
    PERSISTENTVOLUMECLAIMS, STORAGECLASSES, CSIDRIVERS, CSINODES, VOLUMEATTACHMENTS,
    CSISTORAGECAPACITIES, PODDISRUPTIONBUDGETS,
    RESOURCEQUOTAS, LIMITRANGES, APISERVICES, HORIZONTALPODAUTOSCALERS,
    CUSTOMRESOURCEDEFINITIONS,
)


def find_resource(group: str, version: str, plural: str) -> Resource | None:
    for r in BUILTIN:
        if r.group == group and r.version == version and r.plural == plural:
            return r
    return None


def resource_for_kind(api_version: str, kind: str) -> Resource | None:
    for r in BUILTIN:
        if r.api_version == api_version and r.kind == kind:
            return r
    return None
