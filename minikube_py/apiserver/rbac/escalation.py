"""RBAC's escalation prevention (kube's pkg/registry/rbac/{role,clusterrole,rolebinding,
clusterrolebinding}/policybased and validation.ConfirmNoEscalation), as an admission plugin:

- a Role or ClusterRole may be created or changed only with rules its author holds, unless
  the author may `escalate` on it; an aggregationRule needs `escalate` (cluster-admin);
- a binding may be created or changed only by one who may `bind` its role, or who holds
  every rule of the role (in the binding's namespace);
- members of system:masters, and the server itself, may do either; so may an update that
  touches only what the garbage collector writes (owner references, finalizers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CLUSTERROLEBINDINGS, CLUSTERROLES, ROLEBINDINGS, ROLES
from minikube_py.apiserver.admission import Attributes, Operation
from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.authz import SYSTEM_MASTERS, Decision, Verdict
from minikube_py.apiserver.rbac.policy import RBAC_GROUP, RbacPolicy
from minikube_py.apiserver.rbac.rules import PolicyRule, compact, covers, rules_from_json
from minikube_py.apiserver.requestinfo import RequestInfo

Obj = dict[str, Any]
Decide = Callable[[UserInfo, RequestInfo], Verdict]
_ROLES = (ROLES, CLUSTERROLES)
_BINDINGS = (ROLEBINDINGS, CLUSTERROLEBINDINGS)
# What the garbage collector changes; an update of only these is no grant.
_GC_FIELDS = ("ownerReferences", "finalizers", "managedFields", "resourceVersion")


def forbidden(plural: str, name: str, why: str) -> ApiError:
    """kube's errors.NewForbidden for an RBAC object."""
    return ApiError(403, "Forbidden", f'{plural}.{RBAC_GROUP} "{name}" is forbidden: {why}',
                    {"name": name, "group": RBAC_GROUP, "kind": plural})


def not_held_message(user: UserInfo, missing: Sequence[PolicyRule], errs: Sequence[str]) -> str:
    """ConfirmNoEscalation's words: the user, its groups (Go's %q) and each missing rule."""
    groups = "[" + " ".join(json.dumps(g) for g in user.groups) + "]"
    lines = sorted({r.compact_string() for r in compact(missing)})
    msg = (f'user "{user.name}" (groups={groups}) is attempting to grant RBAC permissions not '
           f"currently held:\n" + "\n".join(lines))
    if errs:
        msg += f"; resolution errors: [{', '.join(errs)}]"
    return msg


def only_gc_fields(new: Obj | None, old: Obj | None) -> bool:
    if new is None or old is None:
        return False

    def stripped(obj: Obj) -> Obj:
        out = dict(obj)
        out["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items()
                           if k not in _GC_FIELDS}
        return out

    return stripped(new) == stripped(old)


class RbacEscalationCheck:
    """Admission for the four RBAC kinds; `decide` is the API server's authorizer chain
    (for the `escalate` and `bind` verbs), `policy` what the user already holds."""

    def __init__(self, policy: RbacPolicy, decide: Decide) -> None:
        self.policy = policy
        self.decide = decide

    async def admit(self, attrs: Attributes) -> None:
        resource = attrs.strategy.resource
        if resource not in _ROLES and resource not in _BINDINGS:
            return
        user = attrs.opts.user
        if attrs.operation is Operation.DELETE or user is None or SYSTEM_MASTERS in user.groups:
            return
        if attrs.operation is Operation.UPDATE and only_gc_fields(attrs.obj, attrs.old):
            return
        assert attrs.obj is not None
        if resource in _ROLES:
            self._check_role(user, attrs)
        else:
            self._check_binding(user, attrs)

    def _allowed(self, user: UserInfo, verb: str, plural: str, name: str,
                 namespace: str | None) -> bool:
        info = RequestInfo("", verb, namespace=namespace or None, name=name or None,
                           about=(RBAC_GROUP, plural))
        return self.decide(user, info).decision is Decision.ALLOW

    def _check_role(self, user: UserInfo, attrs: Attributes) -> None:
        assert attrs.obj is not None
        plural, name = attrs.strategy.resource.plural, attrs.name
        may_escalate = self._allowed(user, "escalate", plural, name, attrs.namespace)
        aggregates = attrs.obj.get("aggregationRule") is not None or (
            attrs.old is not None and attrs.old.get("aggregationRule") is not None)
        if aggregates and not may_escalate:
            raise forbidden(plural, name, "must have cluster-admin privileges to use the "
                                          "aggregationRule")
        if not may_escalate:
            self._confirm_held(user, plural, name, attrs.namespace or "",
                               rules_from_json(attrs.obj.get("rules")))

    def _check_binding(self, user: UserInfo, attrs: Attributes) -> None:
        assert attrs.obj is not None
        plural, name, ns = attrs.strategy.resource.plural, attrs.name, attrs.namespace or ""
        ref = attrs.obj.get("roleRef") or {}
        role_kind, role_name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        role_plural = "clusterroles" if role_kind == "ClusterRole" else "roles"
        if self._allowed(user, "bind", role_plural, role_name, ns):
            return
        rules = self.policy.role_rules(role_kind, ns, role_name)
        if rules is None:
            raise errors.not_found(role_plural, role_name, RBAC_GROUP)
        self._confirm_held(user, plural, name, ns, rules)

    def _confirm_held(self, user: UserInfo, plural: str, name: str, namespace: str,
                      wanted: Sequence[PolicyRule]) -> None:
        held, errs = self.policy.rules_for(user, namespace)
        missing = covers(held, wanted)
        if missing:
            raise forbidden(plural, name, not_held_message(user, missing, errs))
