"""The authorizers' state as the store feeds it: RBAC objects from events and from this
server's own writes (a late, older event never undoes a newer write), pods into the node
graph (only bound ones), claims and the volumes they are bound to, attachments, deletions."""

import json
from typing import Any

from minikube_py.api.resources import (
    CLUSTERROLES,
    PERSISTENTVOLUMECLAIMS,
    PODS,
    VOLUMEATTACHMENTS,
)
from minikube_py.apiserver.authzstate import AuthorizationState
from minikube_py.apiserver.storage import object_key
from minikube_py.apiserver.watchcache import CachedEvent
from minikube_py.store.types import Event, EventType, KeyValue

Obj = dict[str, Any]


def event(key: bytes, obj: Obj | None, revision: int) -> CachedEvent:
    if obj is None:
        return CachedEvent(Event(EventType.DELETE, KeyValue(key, b"", 0, revision, 0)))
    return CachedEvent(Event(EventType.PUT, KeyValue(key, json.dumps(obj).encode(), 1,
                                                     revision, 1)))


def cluster_role(resource: str, revision: int = 0) -> Obj:
    meta: Obj = {"name": "r"}
    if revision:
        meta["resourceVersion"] = str(revision)
    return {"metadata": meta,
            "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": [resource]}]}


ROLE_KEY = object_key(CLUSTERROLES, None, "r")


def resources_of(state: AuthorizationState) -> tuple[str, ...]:
    rules = state.policy.cluster_role("r")
    return () if rules is None else rules[0].resources


def test_an_event_puts_and_a_deletion_removes_a_role() -> None:
    state = AuthorizationState()
    state.on_event(event(ROLE_KEY, cluster_role("pods"), 5))
    assert resources_of(state) == ("pods",)
    state.on_event(event(ROLE_KEY, None, 6))
    assert state.policy.cluster_role("r") is None


def test_an_older_event_after_a_newer_write_is_ignored() -> None:
    state = AuthorizationState()
    state.written(CLUSTERROLES, cluster_role("secrets", revision=7))
    state.on_event(event(ROLE_KEY, cluster_role("pods"), 6))
    assert resources_of(state) == ("secrets",)
    state.on_event(event(ROLE_KEY, cluster_role("secrets"), 7))
    state.on_event(event(ROLE_KEY, cluster_role("configmaps"), 8))
    assert resources_of(state) == ("configmaps",)


def test_every_change_moves_the_policy_revision() -> None:
    state = AuthorizationState()
    before = state.policy.revision
    state.on_event(event(ROLE_KEY, cluster_role("pods"), 5))
    assert state.policy.revision > before


def pod(node: str | None) -> Obj:
    spec: Obj = {"containers": [{"name": "c", "image": "i"}],
                 "volumes": [{"name": "s", "secret": {"secretName": "creds"}}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": "p", "namespace": "ns"}, "spec": spec}


POD_KEY = object_key(PODS, "ns", "p")


def test_a_pod_counts_for_its_node_once_bound_and_no_longer_once_deleted() -> None:
    state = AuthorizationState()
    state.on_event(event(POD_KEY, pod(None), 3))
    assert not state.graph.related("n1", "secrets", "ns", "creds")
    state.on_event(event(POD_KEY, pod("n1"), 4))
    assert state.graph.related("n1", "secrets", "ns", "creds")
    state.on_event(event(POD_KEY, None, 5))
    assert not state.graph.related("n1", "secrets", "ns", "creds")


CLAIM_KEY = object_key(PERSISTENTVOLUMECLAIMS, "ns", "data")


def test_a_claims_volume_is_readable_by_the_node_of_a_pod_using_the_claim() -> None:
    state = AuthorizationState()
    state.on_event(event(POD_KEY, {"metadata": {"name": "p", "namespace": "ns"}, "spec": {
        "nodeName": "n1",
        "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}, 3))
    claim: Obj = {"metadata": {"name": "data", "namespace": "ns"}, "spec": {}}
    state.on_event(event(CLAIM_KEY, claim, 4))
    assert not state.graph.related("n1", "persistentvolumes", "", "pv0")
    state.on_event(event(CLAIM_KEY, {**claim, "spec": {"volumeName": "pv0"}}, 5))
    assert state.graph.related("n1", "persistentvolumes", "", "pv0")
    assert not state.graph.related("n2", "persistentvolumes", "", "pv0")
    state.on_event(event(CLAIM_KEY, None, 6))
    assert not state.graph.related("n1", "persistentvolumes", "", "pv0")


def test_an_attachment_is_readable_by_the_node_it_names_until_deleted() -> None:
    state = AuthorizationState()
    key = object_key(VOLUMEATTACHMENTS, None, "va0")
    state.on_event(event(key, {"metadata": {"name": "va0"}, "spec": {"nodeName": "n1"}}, 3))
    assert state.graph.related("n1", "volumeattachments", "", "va0")
    assert not state.graph.related("n2", "volumeattachments", "", "va0")
    state.on_event(event(key, None, 4))
    assert not state.graph.related("n1", "volumeattachments", "", "va0")
