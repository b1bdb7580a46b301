"""kube's bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy, 1.32): the
ClusterRoles and ClusterRoleBindings every cluster starts with, as data, plus what
minikube-py's own components need that kube's roles do not name.

Every object carries kube's labels and the `rbac.authorization.kubernetes.io/autoupdate:
"true"` annotation: the API server reconciles them at each start (reconcile.py), unless an
administrator set that annotation to "false".
"""

from __future__ import annotations

from typing import Any

from minikube_py.api.clusternetwork import CONFIG_MAP as CLUSTER_CONFIG_MAP
from minikube_py.apiserver.rbac.rules import PolicyRule
from minikube_py.pki.jointoken import SERVER_TOKEN_GROUP

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
AUTO_UPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"

READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
READ_WRITE = READ + WRITE
READ_UPDATE = ("get", "list", "watch", "update", "patch")

CORE, APPS, BATCH, AUTOSCALING, POLICY = "", "apps", "batch", "autoscaling", "policy"
AUTHN, AUTHZ = "authentication.k8s.io", "authorization.k8s.io"
COORDINATION, DISCOVERY, EVENTS = "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io"
CERTIFICATES, STORAGE, NETWORKING, EXTENSIONS = ("certificates.k8s.io", "storage.k8s.io",
                                                 "networking.k8s.io", "extensions")
NODE_API = "node.k8s.io"
METRICS = "metrics.k8s.io"


def rule(verbs: tuple[str, ...] | str, groups: tuple[str, ...] | str,
         resources: tuple[str, ...] | str, names: tuple[str, ...] = ()) -> PolicyRule:
    def t(v: tuple[str, ...] | str) -> tuple[str, ...]:
        return (v,) if isinstance(v, str) else v
    return PolicyRule(t(verbs), t(groups), t(resources), names)


def url_rule(verbs: tuple[str, ...] | str, *urls: str) -> PolicyRule:
    return PolicyRule((verbs,) if isinstance(verbs, str) else verbs, non_resource_urls=urls)


def events_rule() -> PolicyRule:
    return rule(("create", "update", "patch"), (CORE, EVENTS), "events")


# What a kubelet may do beyond what the Node authorizer decides object by object (kube's
# NodeRules; also the system:node ClusterRole, which is bound to nobody).
NODE_RULES: tuple[PolicyRule, ...] = (
    rule("create", AUTHN, "tokenreviews"),
    rule("create", AUTHZ, ("subjectaccessreviews", "localsubjectaccessreviews")),
    rule(READ, CORE, "services"),
    rule(("create", "get", "list", "watch"), CORE, "nodes"),
    rule(("update", "patch"), CORE, "nodes/status"),
    rule(("update", "patch"), CORE, "nodes"),
    events_rule(),
    rule(READ, CORE, "pods"),
    rule(("create", "delete"), CORE, "pods"),
    rule(("update", "patch"), CORE, "pods/status"),
    rule("create", CORE, "pods/eviction"),
    rule(READ, CORE, ("secrets", "configmaps")),
    rule("get", CORE, ("persistentvolumeclaims", "persistentvolumes")),
    rule(("create", "get", "list", "watch"), CERTIFICATES, "certificatesigningrequests"),
    rule(("get", "create", "update", "patch", "delete"), COORDINATION, "leases"),
    rule("get", STORAGE, "volumeattachments"),
    rule(("get", "update", "patch"), CORE, "persistentvolumeclaims/status"),
    rule("create", CORE, "serviceaccounts/token"),
    rule(READ, STORAGE, "csidrivers"),
    rule(("get", "create", "update", "patch", "delete"), STORAGE, "csinodes"),
    rule(READ, NODE_API, "runtimeclasses"),
)

_AGGREGATE_TO_EDIT: tuple[PolicyRule, ...] = (
    # read (and so exec into, and so on) what could escalate
    rule(READ, CORE, ("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets",
                      "services/proxy")),
    rule("impersonate", CORE, "serviceaccounts"),
    rule(WRITE, CORE, ("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward")),
    rule("create", CORE, "pods/eviction"),
    rule(WRITE, CORE, ("replicationcontrollers", "replicationcontrollers/scale",
                       "serviceaccounts", "services", "services/proxy", "persistentvolumeclaims",
                       "configmaps", "secrets")),
    rule("create", CORE, "serviceaccounts/token"),
    rule(WRITE, APPS, ("statefulsets", "statefulsets/scale", "daemonsets", "deployments",
                       "deployments/scale", "deployments/rollback", "replicasets",
                       "replicasets/scale")),
    rule(WRITE, AUTOSCALING, "horizontalpodautoscalers"),
    rule(WRITE, BATCH, ("jobs", "cronjobs")),
    rule(WRITE, EXTENSIONS, ("daemonsets", "deployments", "deployments/scale",
                             "deployments/rollback", "ingresses", "replicasets",
                             "replicasets/scale", "replicationcontrollers/scale",
                             "networkpolicies")),
    rule(WRITE, POLICY, "poddisruptionbudgets"),
    rule(WRITE, NETWORKING, ("networkpolicies", "ingresses")),
)

_AGGREGATE_TO_VIEW: tuple[PolicyRule, ...] = (
    rule(READ, CORE, ("pods", "replicationcontrollers", "replicationcontrollers/scale",
                      "serviceaccounts", "services", "services/status", "endpoints",
                      "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps")),
    rule(READ, CORE, ("limitranges", "resourcequotas", "bindings", "events", "pods/status",
                      "resourcequotas/status", "namespaces/status",
                      "replicationcontrollers/status", "pods/log")),
    # reading namespaces in a namespace's scope: which namespaces one may use
    rule(READ, CORE, "namespaces"),
    rule(READ, DISCOVERY, "endpointslices"),
    rule(READ, APPS, ("controllerrevisions", "statefulsets", "statefulsets/status",
                      "statefulsets/scale", "daemonsets", "daemonsets/status", "deployments",
                      "deployments/status", "deployments/scale", "replicasets",
                      "replicasets/status", "replicasets/scale")),
    rule(READ, AUTOSCALING, ("horizontalpodautoscalers", "horizontalpodautoscalers/status")),
    rule(READ, BATCH, ("jobs", "cronjobs", "cronjobs/status", "jobs/status")),
    rule(READ, EXTENSIONS, ("daemonsets", "daemonsets/status", "deployments",
                            "deployments/scale", "deployments/status", "ingresses",
                            "ingresses/status", "replicasets", "replicasets/scale",
                            "replicasets/status", "replicationcontrollers/scale",
                            "networkpolicies")),
    rule(READ, POLICY, ("poddisruptionbudgets", "poddisruptionbudgets/status")),
    rule(READ, NETWORKING, ("networkpolicies", "ingresses", "ingresses/status")),
)

_KUBE_SCHEDULER: tuple[PolicyRule, ...] = (
    events_rule(),
    # leader election
    rule("create", COORDINATION, "leases"),
    rule(("get", "update"), COORDINATION, "leases", ("kube-scheduler",)),
    rule(READ, CORE, "nodes"),
    rule(("get", "list", "watch", "delete"), CORE, "pods"),
    rule("create", CORE, ("pods/binding", "bindings")),
    rule(("patch", "update"), CORE, "pods/status"),
    # what selects pods, and what pods use
    rule(READ, CORE, ("services", "replicationcontrollers")),
    rule(READ, (APPS, EXTENSIONS), "replicasets"),
    rule(READ, APPS, "statefulsets"),
    rule(READ, POLICY, "poddisruptionbudgets"),
    rule(READ, CORE, ("persistentvolumeclaims", "persistentvolumes")),
    rule("create", AUTHN, "tokenreviews"),
    rule("create", AUTHZ, "subjectaccessreviews"),
    rule(READ, STORAGE, "csinodes"),
    rule(READ, CORE, "namespaces"),
    rule(READ, STORAGE, "csidrivers"),
    rule(READ, STORAGE, "csistoragecapacities"),
)

_KUBE_CONTROLLER_MANAGER: tuple[PolicyRule, ...] = (
    # kube's own: leader election, service account tokens, every shared informer
    events_rule(),
    rule("create", COORDINATION, "leases"),
    rule(("get", "update"), COORDINATION, "leases", ("kube-controller-manager",)),
    rule("create", CORE, ("secrets", "serviceaccounts")),
    rule("delete", CORE, "secrets"),
    rule("get", CORE, ("namespaces", "secrets", "serviceaccounts", "configmaps")),
    rule("update", CORE, ("secrets", "serviceaccounts")),
    rule("create", AUTHN, "tokenreviews"),
    rule("create", AUTHZ, "subjectaccessreviews"),
    rule(("list", "watch"), "*", "*"),
    rule("create", CORE, "serviceaccounts/token"),
    # minikube-py runs every controller as this one identity, where kube gives each its
    # own service account and role (controller_policy.go); together they need:
    # - the garbage collector (any owned object) and the namespace controller (anything
    #   in a namespace being deleted) read, update and delete objects of every kind;
    rule(("get", "list", "watch", "update", "patch", "delete"), "*", "*"),
    # - the workload, endpoints, service account and root CA publisher controllers create
    #   what they own (the StatefulSet controller its claims, the local-path provisioner
    #   its volumes and helper pods);
    rule("create", CORE, ("pods", "endpoints", "serviceaccounts", "configmaps",
                          "persistentvolumeclaims", "persistentvolumes")),
    rule("create", APPS, ("replicasets", "controllerrevisions")),
    rule("create", BATCH, "jobs"),
    rule("create", DISCOVERY, "endpointslices"),
    # - the ClusterRole aggregation controller writes rules it does not hold itself;
    rule("escalate", RBAC_GROUP, "clusterroles"),
    # - the CSR approver and signer (kube's certificate-controller) approve and sign.
    rule("update", CERTIFICATES, ("certificatesigningrequests/approval",
                                  "certificatesigningrequests/status")),
    rule(("approve", "sign"), CERTIFICATES, "signers",
         ("kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet",
          "kubernetes.io/kubelet-serving")),
)

CSR_NODECLIENT = "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
CSR_SELFNODECLIENT = "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient"
BOOTSTRAPPERS = "system:bootstrappers"


def _cluster_role(name: str, rules: tuple[PolicyRule, ...] = (), *,
                  labels: dict[str, str] | None = None,
                  aggregate_from: str | None = None) -> Obj:
    role: Obj = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole",
                 "metadata": _meta(name, labels), "rules": [r.to_json() for r in rules]}
    if aggregate_from is not None:
        role["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {AGGREGATE_TO + aggregate_from: "true"}}]}
    return role


def _meta(name: str, labels: dict[str, str] | None = None, namespace: str = "") -> Obj:
    meta: Obj = {"name": name, "labels": {**(labels or {}), **BOOTSTRAP_LABELS},
                 "annotations": {AUTO_UPDATE: "true"}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _aggregated_to(role: str) -> dict[str, str]:
    return {AGGREGATE_TO + role: "true"}


def cluster_roles() -> list[Obj]:
    return [
        _cluster_role(SERVER_BOOTSTRAP, (
            url_rule("get", "/v1-minikube-py/server-bootstrap"),
            url_rule("post", "/v1-minikube-py/members", "/v1-minikube-py/members/*"))),
        _cluster_role("cluster-admin", (rule("*", "*", "*"), url_rule("*", "*"))),
        _cluster_role("system:discovery", (url_rule(
            "get", "/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi",
            "/openapi/*", "/api", "/api/*", "/apis", "/apis/*"),)),
        _cluster_role("system:monitoring", (url_rule(
            "get", "/healthz", "/healthz/*", "/livez", "/livez/*", "/readyz", "/readyz/*",
            "/metrics", "/metrics/slis"),)),
        _cluster_role("system:basic-user", (
            rule("create", AUTHZ, ("selfsubjectaccessreviews", "selfsubjectrulesreviews")),
            rule("create", AUTHN, "selfsubjectreviews"))),
        _cluster_role("system:public-info-viewer", (url_rule(
            "get", "/livez", "/readyz", "/healthz", "/version", "/version/"),)),
        _cluster_role("admin", aggregate_from="admin"),
        _cluster_role("edit", labels=_aggregated_to("admin"), aggregate_from="edit"),
        _cluster_role("view", labels=_aggregated_to("edit"), aggregate_from="view"),
        _cluster_role("system:aggregate-to-admin", (
            rule("create", AUTHZ, "localsubjectaccessreviews"),
            rule(READ_WRITE, RBAC_GROUP, ("roles", "rolebindings"))),
            labels=_aggregated_to("admin")),
        _cluster_role("system:aggregate-to-edit", _AGGREGATE_TO_EDIT,
                      labels=_aggregated_to("edit")),
        _cluster_role("system:aggregate-to-view", _AGGREGATE_TO_VIEW,
                      labels=_aggregated_to("view")),
        # What metrics-server installs beside its API, so whoever may view a namespace may
        # `kubectl top` its pods; the resource metrics are served by this API server.
        _cluster_role("system:aggregated-metrics-reader", (
            rule(READ, METRICS, ("pods", "nodes")),),
            labels={"k8s-app": "metrics-server", **_aggregated_to("admin"),
                    **_aggregated_to("edit"), **_aggregated_to("view")}),
        _cluster_role("system:node", NODE_RULES),
        _cluster_role("system:node-proxier", (
            rule(("list", "watch"), CORE, ("services", "endpoints")),
            rule(READ, CORE, "nodes"),
            events_rule(),
            rule(("list", "watch"), DISCOVERY, "endpointslices"))),
        _cluster_role("system:node-bootstrapper", (
            rule(("create", "get", "list", "watch"), CERTIFICATES,
                 "certificatesigningrequests"),)),
        _cluster_role(CSR_NODECLIENT, (
            rule("create", CERTIFICATES, "certificatesigningrequests/nodeclient"),)),
        _cluster_role(CSR_SELFNODECLIENT, (
            rule("create", CERTIFICATES, "certificatesigningrequests/selfnodeclient"),)),
        _cluster_role("system:kubelet-api-admin", (
            rule(READ, CORE, "nodes"),
            rule("proxy", CORE, "nodes"),
            rule("*", CORE, ("nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log",
                             "nodes/pods", "nodes/healthz", "nodes/configz")))),
        _cluster_role("system:auth-delegator", (
            rule("create", AUTHN, "tokenreviews"),
            rule("create", AUTHZ, "subjectaccessreviews"))),
        _cluster_role("system:kube-scheduler", _KUBE_SCHEDULER),
        _cluster_role("system:volume-scheduler", (
            rule(READ_UPDATE, CORE, "persistentvolumes"),
            rule(READ, STORAGE, "storageclasses"),
            rule(READ_UPDATE, CORE, "persistentvolumeclaims"))),
        _cluster_role("system:kube-controller-manager", _KUBE_CONTROLLER_MANAGER),
        _cluster_role("system:kube-dns", (rule(("list", "watch"), CORE,
                                               ("endpoints", "services")),)),
        # minikube-py's cluster DNS answers from EndpointSlices, which kube's kube-dns
        # role does not name (CoreDNS's own manifest grants them too).
        _cluster_role("system:minikube-py:cluster-dns", (
            rule(("list", "watch"), DISCOVERY, "endpointslices"),)),
        _cluster_role("system:service-account-issuer-discovery", (url_rule(
            "get", "/.well-known/openid-configuration", "/.well-known/openid-configuration/",
            "/openid/v1/jwks", "/openid/v1/jwks/"),)),
    ]


def _subject(kind: str, name: str, namespace: str = "") -> Obj:
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"kind": kind, "apiGroup": RBAC_GROUP, "name": name}


def _binding(kind: str, name: str, role_kind: str, role: str, subjects: list[Obj],
             namespace: str = "") -> Obj:
    body: Obj = {"apiVersion": f"{RBAC_GROUP}/v1", "kind": kind,
                 "metadata": _meta(name, namespace=namespace),
                 "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": role}}
    if subjects:
        body["subjects"] = subjects
    return body


def _cluster_binding(role: str, *subjects: Obj) -> Obj:
    return _binding("ClusterRoleBinding", role, "ClusterRole", role, list(subjects))


def cluster_role_bindings() -> list[Obj]:
    authenticated = _subject("Group", "system:authenticated")
    return [
        _cluster_binding("cluster-admin", _subject("Group", "system:masters")),
        _cluster_binding("system:monitoring", _subject("Group", "system:monitoring")),
        # kube binds discovery to authenticated users only (since 1.14); this cluster lets
        # anonymous clients read discovery too, as issue 7 and authn.PUBLIC_PATHS say (the
        # anonymous authenticator lets nothing else through).
        _cluster_binding("system:discovery", authenticated,
                         _subject("Group", "system:unauthenticated")),
        _cluster_binding("system:basic-user", authenticated),
        _cluster_binding("system:public-info-viewer", authenticated,
                         _subject("Group", "system:unauthenticated")),
        _cluster_binding("system:node-proxier", _subject("User", "system:kube-proxy")),
        _cluster_binding("system:kube-controller-manager",
                         _subject("User", "system:kube-controller-manager")),
        _cluster_binding("system:kube-dns", _subject("ServiceAccount", "kube-dns",
                                                     "kube-system")),
        _cluster_binding("system:minikube-py:cluster-dns",
                         _subject("ServiceAccount", "kube-dns", "kube-system")),
        _cluster_binding("system:kube-scheduler", _subject("User", "system:kube-scheduler")),
        _cluster_binding("system:volume-scheduler", _subject("User", "system:kube-scheduler")),
        # kube deprecated binding system:node to system:nodes when the Node authorizer came
        # (1.8): the binding stays, with no subjects; the Node authorizer decides for nodes.
        _cluster_binding("system:node"),
        _cluster_binding("system:service-account-issuer-discovery",
                         _subject("Group", "system:serviceaccounts")),
        # What kubeadm and k3s bind for TLS bootstrapping: a bootstrap token's user may
        # create CSRs and have its node client CSR approved; a node may renew its own.
        _binding("ClusterRoleBinding", "system:minikube-py:kubelet-bootstrap", "ClusterRole",
                 "system:node-bootstrapper", [_subject("Group", BOOTSTRAPPERS)]),
        _binding("ClusterRoleBinding", "system:minikube-py:node-autoapprove-bootstrap",
                 "ClusterRole", CSR_NODECLIENT, [_subject("Group", BOOTSTRAPPERS)]),
        _binding("ClusterRoleBinding",
                 "system:minikube-py:node-autoapprove-certificate-rotation", "ClusterRole",
                 CSR_SELFNODECLIENT, [_subject("Group", "system:nodes")]),
        # A joined machine's agent runs kube-proxy and the node route controller with the
        # node's own credentials (k3s's agent has a kube-proxy certificate from its server
        # instead): nodes may read what kube-proxy reads (Services, EndpointSlices, Nodes).
        _binding("ClusterRoleBinding", "system:minikube-py:node-proxier", "ClusterRole",
                 "system:node-proxier", [_subject("Group", "system:nodes")]),
        _cluster_binding(SERVER_BOOTSTRAP, _subject("Group", SERVER_TOKEN_GROUP)),
    ]


# minikube-py's cluster DNS publishes its own Service and EndpointSlice in kube-system (kube
# runs CoreDNS from a manifest instead): a Role there for exactly that.
DNS_REGISTRATION = "system:minikube-py:cluster-dns-registration"
# A joining machine reads the cluster's ranges from this ConfigMap (minikube_py/clusterconfig.py)
# with its bootstrap token, and again as a node: kubeadm's nodes-kubeadm-config Role for its
# kubeadm-config ConfigMap.
CLUSTER_CONFIG_READER = "system:minikube-py:nodes-cluster-config"
# A control-plane member joining with the cluster's token (`serve --server`) fetches the
# cluster's keys and adds itself to the store's Raft group (minikube_py/members/http.py).
SERVER_BOOTSTRAP = "system:minikube-py:server-bootstrap"


def namespace_roles() -> list[Obj]:
    return [{"apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role",
             "metadata": _meta(DNS_REGISTRATION, namespace="kube-system"),
             "rules": [r.to_json() for r in (
                 rule("create", CORE, "services"),
                 rule(("get", "update"), CORE, "services", ("kube-dns",)),
                 rule(("get", "list", "create", "update", "delete"), DISCOVERY,
                      "endpointslices"),
                 # each DNS server's Lease, which keeps its slice (dns/registration.py)
                 rule(("get", "list", "create", "update", "delete"), COORDINATION,
                      "leases"))]},
            {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role",
             "metadata": _meta(CLUSTER_CONFIG_READER, namespace="kube-system"),
             "rules": [rule("get", CORE, "configmaps", (CLUSTER_CONFIG_MAP,)).to_json()]}]


def namespace_role_bindings() -> list[Obj]:
    return [_binding("RoleBinding", DNS_REGISTRATION, "Role", DNS_REGISTRATION,
                     [_subject("ServiceAccount", "kube-dns", "kube-system")], "kube-system"),
            _binding("RoleBinding", CLUSTER_CONFIG_READER, "Role", CLUSTER_CONFIG_READER,
                     [_subject("Group", BOOTSTRAPPERS), _subject("Group", "system:nodes")],
                     "kube-system")]
