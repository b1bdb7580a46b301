"""The Node authorizer's decisions for system:node:NAME, from a graph of the pods bound to
each node and what they refer to."""

from typing import Any

import pytest

from minikube_py.api.resources import (
    CONFIGMAPS,
    CSIDRIVERS,
    CSINODES,
    EVENTS,
    LEASES,
    NODES,
    PERSISTENTVOLUMECLAIMS,
    PERSISTENTVOLUMES,
    PODS,
    SECRETS,
    SERVICEACCOUNTS,
    SERVICES,
    VOLUMEATTACHMENTS,
    Resource,
)
from minikube_py.apiserver.authn import KUBE_SCHEDULER, UserInfo, node_user
from minikube_py.apiserver.authz import Decision
from minikube_py.apiserver.nodeauthz import NodeAuthorizer
from minikube_py.apiserver.nodegraph import NodeGraph, pod_references
from minikube_py.apiserver.requestinfo import RequestInfo
from tests.unit.apiserver.kinds import KINDS

N1 = node_user("n1")
Obj = dict[str, Any]


def pod(name: str, node: str, **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "app"},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}], **spec}}


WEB = pod("web", "n1", serviceAccountName="web-sa",
          volumes=[{"name": "conf", "configMap": {"name": "web-conf"}},
                   {"name": "tls", "secret": {"secretName": "web-tls"}},
                   {"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}}],
          imagePullSecrets=[{"name": "registry"}])


@pytest.fixture
def authz() -> NodeAuthorizer:
    graph = NodeGraph()
    graph.put_pod(WEB)
    graph.put_pod(pod("db", "n2", volumes=[{"name": "s", "secret": {"secretName": "db-pw"}}]))
    graph.put_claim(claim("web-data", "pv-web"))
    graph.put_claim(claim("db-data", "pv-db"))
    graph.put_attachment({"metadata": {"name": "va-web"}, "spec": {"nodeName": "n1"}})
    graph.put_attachment({"metadata": {"name": "va-db"}, "spec": {"nodeName": "n2"}})
    return NodeAuthorizer(graph)


def claim(name: str, volume: str) -> Obj:
    return {"metadata": {"name": name, "namespace": "app"}, "spec": {"volumeName": volume}}


def ask(verb: str, resource: Resource, namespace: str | None = "app", name: str | None = None,
        sub: str | None = None, field_selector: str = "") -> RequestInfo:
    return RequestInfo("", verb, KINDS.strategy(resource),
                       namespace if resource.namespaced else None, name, sub,
                       field_selector=field_selector)


@pytest.mark.parametrize(("request_", "allowed"), [
    # what its pods refer to, one object at a time
    (ask("get", SECRETS, name="web-tls"), True),
    (ask("get", SECRETS, name="registry"), True),
    (ask("watch", CONFIGMAPS, name="web-conf"), True),
    (ask("get", SECRETS, name="db-pw"), False),  # another node's pod's
    (ask("get", SECRETS, name="unused"), False),
    (ask("list", SECRETS), False),
    (ask("update", SECRETS, name="web-tls"), False),
    (ask("get", SECRETS, "other", name="web-tls"), False),
    (ask("create", SERVICEACCOUNTS, name="web-sa", sub="token"), True),
    (ask("create", SERVICEACCOUNTS, name="default", sub="token"), False),
    (ask("get", SERVICEACCOUNTS, name="web-sa"), False),
    # claims its pods use, and the volumes those claims are bound to
    (ask("get", PERSISTENTVOLUMECLAIMS, name="web-data"), True),
    (ask("get", PERSISTENTVOLUMECLAIMS, name="db-data"), False),
    (ask("get", PERSISTENTVOLUMES, name="pv-web"), True),
    (ask("get", PERSISTENTVOLUMES, name="pv-db"), False),
    (ask("list", PERSISTENTVOLUMES), False),
    # its own CSINode; attachments naming it; every CSIDriver
    (ask("get", CSINODES, name="n1"), True),
    (ask("update", CSINODES, name="n1"), True),
    (ask("create", CSINODES), True),  # NodeRestriction keeps it to its own name
    (ask("update", CSINODES, name="n2"), False),
    (ask("list", CSINODES), False),
    (ask("get", VOLUMEATTACHMENTS, name="va-web"), True),
    (ask("get", VOLUMEATTACHMENTS, name="va-db"), False),
    (ask("list", CSIDRIVERS), True),
    # pods: its own, and lists of its own
    (ask("get", PODS, name="web"), True),
    (ask("get", PODS, name="db"), False),
    (ask("list", PODS, None, field_selector="spec.nodeName=n1"), True),
    (ask("watch", PODS, None, field_selector="spec.nodeName=n1"), True),
    (ask("list", PODS, None, field_selector="spec.nodeName=n2"), False),
    (ask("list", PODS, None), False),
    (ask("update", PODS, name="web", sub="status"), True),
    (ask("update", PODS, name="web"), False),
    (ask("create", PODS, name="web", sub="eviction"), True),
    # its own Node
    (ask("get", NODES, name="n1"), True),
    (ask("get", NODES, name="n2"), False),
    (ask("list", NODES), False),
    (ask("create", NODES), True),  # NodeRestriction keeps it to its own name
    (ask("update", NODES, name="n1", sub="status"), True),
    (ask("delete", NODES, name="n1"), False),
    # its own Lease, in kube-node-lease
    (ask("get", LEASES, "kube-node-lease", name="n1"), True),
    (ask("update", LEASES, "kube-node-lease", name="n1"), True),
    (ask("update", LEASES, "kube-node-lease", name="n2"), False),
    (ask("get", LEASES, "default", name="n1"), False),
    (ask("create", LEASES, "kube-node-lease"), True),
    # kube's static node rules
    (ask("create", EVENTS), True),
    (ask("list", SERVICES, None), True),
    (ask("delete", SERVICES, name="x"), False),
])
def test_node_decisions(authz: NodeAuthorizer, request_: RequestInfo, allowed: bool) -> None:
    assert (authz.authorize(N1, request_).decision is Decision.ALLOW) is allowed


def test_the_node_authorizer_has_no_opinion_on_others(authz: NodeAuthorizer) -> None:
    assert authz.authorize(KUBE_SCHEDULER, ask("get", SECRETS, name="web-tls")).decision \
        is Decision.NO_OPINION
    not_a_node_group = UserInfo("system:node:n1", ("system:authenticated",))
    assert authz.authorize(not_a_node_group, ask("get", NODES, name="n1")).decision \
        is Decision.NO_OPINION


def test_a_refusal_says_why(authz: NodeAuthorizer) -> None:
    verdict = authz.authorize(N1, ask("get", SECRETS, name="db-pw"))
    assert verdict.reason == "no relationship found between node 'n1' and this object"


def test_a_pod_moving_away_takes_its_references_with_it(authz: NodeAuthorizer) -> None:
    authz.graph.put_pod({**WEB, "spec": {**WEB["spec"], "nodeName": "n2"}})
    assert authz.authorize(N1, ask("get", SECRETS, name="web-tls")).decision \
        is Decision.NO_OPINION
    assert authz.authorize(node_user("n2"), ask("get", SECRETS, name="web-tls")).decision \
        is Decision.ALLOW


def test_an_object_two_pods_use_stays_readable_while_one_remains(
        authz: NodeAuthorizer) -> None:
    authz.graph.put_pod({**WEB, "metadata": {"name": "web-2", "namespace": "app"}})
    authz.graph.remove_pod("app", "web")
    assert authz.authorize(N1, ask("get", SECRETS, name="web-tls")).decision is Decision.ALLOW
    authz.graph.remove_pod("app", "web-2")
    assert authz.authorize(N1, ask("get", SECRETS, name="web-tls")).decision \
        is Decision.NO_OPINION


def test_pod_references_cover_env_volumes_and_projections() -> None:
    p = pod("p", "n1", containers=[{
        "name": "c", "image": "i",
        "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}},
                {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "c1", "key": "k"}}}],
        "envFrom": [{"secretRef": {"name": "s2"}}, {"configMapRef": {"name": "c2"}}]}],
        initContainers=[{"name": "i", "image": "i",
                         "envFrom": [{"configMapRef": {"name": "c3"}}]}],
        volumes=[{"name": "v", "projected": {"sources": [{"secret": {"name": "s3"}},
                                                         {"configMap": {"name": "c4"}}]}},
                 {"name": "claim", "persistentVolumeClaim": {"claimName": "data"}}])
    assert pod_references(p) == {
        ("secrets", "app", "s1"), ("secrets", "app", "s2"), ("secrets", "app", "s3"),
        ("configmaps", "app", "c1"), ("configmaps", "app", "c2"), ("configmaps", "app", "c3"),
        ("configmaps", "app", "c4"), ("persistentvolumeclaims", "app", "data")}


def test_a_claim_rebound_or_gone_takes_its_volume_with_it(authz: NodeAuthorizer) -> None:
    volume = ask("get", PERSISTENTVOLUMES, name="pv-web")
    authz.graph.put_claim(claim("web-data", "pv-other"))
    assert authz.authorize(N1, volume).decision is Decision.NO_OPINION
    assert authz.authorize(N1, ask("get", PERSISTENTVOLUMES, name="pv-other")).decision \
        is Decision.ALLOW
    authz.graph.remove_claim("app", "web-data")
    assert authz.authorize(N1, ask("get", PERSISTENTVOLUMES, name="pv-other")).decision \
        is Decision.NO_OPINION
