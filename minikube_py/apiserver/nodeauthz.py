"""The Node authorizer (kube's plugin/pkg/auth/authorizer/node, with AuthorizeNodeWithSelectors
as 1.32 ships it): what a kubelet, user system:node:NAME in group system:nodes, may do.

- Secrets, ConfigMaps: get/list/watch of one object a pod bound to the node refers to;
  PersistentVolumeClaims: get; PersistentVolumes: get of one bound to such a claim;
  ServiceAccounts: create `serviceaccounts/token` for one its pods run as. Everything else
  of these: no opinion, with kube's reason.
- Its own Node: get/list/watch (by name); create, update, patch, status updates of Nodes
  (NodeRestriction admission keeps them to its own).
- Pods: get of a pod bound to it, list/watch with `spec.nodeName=NAME`; create/delete
  (mirror pods), status updates and evictions (NodeRestriction keeps them to its pods).
- Leases in kube-node-lease: its own (create by any name; NodeRestriction checks it).
- CSINodes: its own (create by any name; NodeRestriction checks it); VolumeAttachments:
  get of one naming it.
- The rest: kube's static node rules (events, services, ...).

Requests from anyone else: no opinion, so RBAC decides.
"""

from __future__ import annotations

from minikube_py.api.errors import ApiError
from minikube_py.api.selectors import parse_field_selector
from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.authz import Decision, UserRules, Verdict
from minikube_py.apiserver.nodegraph import (
    CONFIGMAPS,
    PODS,
    PVCS,
    PVS,
    SECRETS,
    SERVICEACCOUNTS,
    VOLUMEATTACHMENTS,
    NodeGraph,
)
from minikube_py.apiserver.rbac.authorizer import rule_request
from minikube_py.apiserver.rbac.bootstrappolicy import NODE_RULES
from minikube_py.apiserver.rbac.rules import rules_allow
from minikube_py.apiserver.requestinfo import RequestInfo

NODE_USER_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"
NODE_LEASE_NAMESPACE = "kube-node-lease"
_READS = ("get", "list", "watch")
_NO = Verdict(Decision.NO_OPINION)
_YES = Verdict(Decision.ALLOW)


def node_identity(user: UserInfo) -> str | None:
    """The node a user is (kube's NodeIdentifier): None for anyone else; "" for a member of
    system:nodes whose name does not say which node."""
    if not user.name.startswith(NODE_USER_PREFIX) or NODES_GROUP not in user.groups:
        return None
    return user.name[len(NODE_USER_PREFIX):]


def _no(reason: str) -> Verdict:
    return Verdict(Decision.NO_OPINION, reason)


class NodeAuthorizer:
    def __init__(self, graph: NodeGraph) -> None:
        self.graph = graph

    def authorize(self, user: UserInfo, info: RequestInfo) -> Verdict:
        node = node_identity(user)
        if node is None:
            return _NO
        if not node:
            return _no(f'unknown node for user "{user.name}"')
        if info.is_resource_request and info.api_group in _SUBDIVIDED_GROUPS:
            decide = _SUBDIVIDED.get((info.api_group, info.resource))
            if decide is not None:
                return decide(self, node, info)
        return _YES if rules_allow(NODE_RULES, rule_request(info)) else _NO

    def rules_for(self, user: UserInfo, namespace: str) -> UserRules:
        if node_identity(user) is None:
            return UserRules()
        return UserRules(incomplete=True,
                         errors=("node authorizer does not support user rule resolution",))

    # --- the resources kube subdivides per node --------------------------------------------

    def _related(self, node: str, resource: str, info: RequestInfo) -> Verdict:
        if not info.name:
            return _no("No Object name found")
        if self.graph.related(node, resource, info.namespace or "", info.name):
            return _YES
        return _no(f"no relationship found between node '{node}' and this object")

    def _read_namespaced(self, node: str, info: RequestInfo) -> Verdict:
        """Secrets and ConfigMaps: one object at a time, if a pod of the node uses it."""
        if info.verb not in _READS:
            return _no("can only read resources of this type")
        if info.subresource:
            return _no("cannot read subresource")
        if not info.namespace:
            return _no("can only read namespaced object of this type")
        return self._related(node, info.resource, info)

    def _get_claim(self, node: str, info: RequestInfo) -> Verdict:
        if info.subresource == "status":
            if info.verb not in ("update", "patch"):
                return _no("can only get/update/patch this type")
            return self._related(node, PVCS, info)
        return self._get_related(node, info)

    def _get_related(self, node: str, info: RequestInfo) -> Verdict:
        """Claims and volumes: get one a pod of the node uses; attachments: one naming it."""
        if info.verb != "get":
            return _no("can only get individual resources of this type")
        if info.subresource:
            return _no("cannot get subresource")
        return self._related(node, info.resource, info)

    def _service_account(self, node: str, info: RequestInfo) -> Verdict:
        if info.verb != "create" or not info.name:
            return _no("can only create tokens for individual service accounts")
        if info.subresource != "token":
            return _no("can only create token subresource of serviceaccount")
        return self._related(node, SERVICEACCOUNTS, info)

    def _lease(self, node: str, info: RequestInfo) -> Verdict:
        if info.verb not in ("get", "create", "update", "patch", "delete"):
            return _no("can only get, create, update, patch, or delete a node lease")
        if info.namespace != NODE_LEASE_NAMESPACE:
            return _no(f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace')
        # A create names no object yet: NodeRestriction checks the new lease's name.
        if info.verb != "create" and info.name != node:
            return _no("can only access node lease with the same name as the requesting node")
        return _YES

    def _csinode(self, node: str, info: RequestInfo) -> Verdict:
        if info.verb not in ("get", "create", "update", "patch", "delete"):
            return _no("can only get, create, update, patch, or delete a CSINode")
        if info.subresource:
            return _no("cannot authorize CSINode subresources")
        # A create names no object yet: NodeRestriction checks the new CSINode's name.
        if info.verb != "create" and info.name != node:
            return _no("can only access CSINode with the same name as the requesting node")
        return _YES

    def _node(self, node: str, info: RequestInfo) -> Verdict:
        if not info.subresource:
            if info.verb in ("create", "update", "patch"):
                return _YES  # NodeRestriction keeps a node to its own Node object
            if info.verb in _READS:
                if info.name == node:
                    return _YES
                if not info.name:
                    return _no(f"node '{node}' cannot read all nodes, only its own Node object")
                return _no(f"node '{node}' cannot read '{info.name}', only its own Node object")
        elif info.subresource == "status" and info.verb in ("update", "patch"):
            return _YES
        return _NO

    def _pod(self, node: str, info: RequestInfo) -> Verdict:
        sub, verb = info.subresource or "", info.verb
        if not sub:
            if verb == "get":
                return self._related(node, PODS, info)
            if verb in ("list", "watch"):
                if _selects_node(info.field_selector, node):
                    return _YES
                if info.name:
                    return self._related(node, PODS, info)
                return _no("can only list/watch pods with spec.nodeName field selector")
            if verb in ("create", "delete"):
                return _YES  # mirror pods, and its own pods' last deletion: NodeRestriction
        elif sub == "status" and verb in ("update", "patch"):
            return _YES
        elif sub == "eviction" and verb == "create":
            return _YES
        return _NO


def _selects_node(field_selector: str, node: str) -> bool:
    try:
        selector = parse_field_selector(field_selector)
    except ApiError:  # an unparsable selector selects nothing; the list itself answers 400
        return False
    return any(r.field == "spec.nodeName" and not r.negate and r.value == node
               for r in selector.requirements)


_SUBDIVIDED = {
    ("", SECRETS): NodeAuthorizer._read_namespaced,
    ("", CONFIGMAPS): NodeAuthorizer._read_namespaced,
    ("", PVCS): NodeAuthorizer._get_claim,
    # No pod refers to a PersistentVolume directly: a node gets one bound to a claim its
    # pods use.
    ("", PVS): NodeAuthorizer._get_related,
    ("", SERVICEACCOUNTS): NodeAuthorizer._service_account,
    ("coordination.k8s.io", "leases"): NodeAuthorizer._lease,
    ("storage.k8s.io", "csinodes"): NodeAuthorizer._csinode,
    ("storage.k8s.io", VOLUMEATTACHMENTS): NodeAuthorizer._get_related,
    ("", "nodes"): NodeAuthorizer._node,
    ("", PODS): NodeAuthorizer._pod,
}
_SUBDIVIDED_GROUPS = frozenset(group for group, _ in _SUBDIVIDED)
