"""The RBAC policy as the authorizer reads it: every Role, ClusterRole, RoleBinding and
ClusterRoleBinding, parsed once, kept current by the store's events (`put`, `remove`). Pure:
the API server feeds it; `revision` counts the changes, so caches of decisions made from it
know when they are stale.

Which rules apply to a user (kube's DefaultRuleResolver.VisitRulesFor): those of the
ClusterRoles bound by ClusterRoleBindings to the user, one of its groups or its service
account, then, in a namespace, those of the Roles and ClusterRoles bound there by
RoleBindings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from minikube_py.apiserver.authn import UserInfo
from minikube_py.apiserver.rbac.rules import PolicyRule, rules_from_json

RBAC_GROUP = "rbac.authorization.k8s.io"
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # User, Group, ServiceAccount
    name: str
    namespace: str = ""

    @classmethod
    def from_json(cls, s: Mapping[str, Any]) -> Subject:
        return cls(str(s.get("kind") or ""), str(s.get("name") or ""),
                   str(s.get("namespace") or ""))

    def applies_to(self, user: UserInfo, binding_namespace: str) -> bool:
        """kube's appliesToUser: a ServiceAccount subject without a namespace means the
        binding's own namespace (none for a ClusterRoleBinding: it matches nobody)."""
        if self.kind == "User":
            return user.name == self.name
        if self.kind == "Group":
            return self.name in user.groups
        if self.kind == "ServiceAccount":
            ns = self.namespace or binding_namespace
            return bool(ns) and user.name == f"{SA_PREFIX}{ns}:{self.name}"
        return False

    def describe(self, binding_namespace: str) -> str:
        if self.kind == "ServiceAccount":
            return f'{self.kind} "{self.name}/{self.namespace or binding_namespace}"'
        return f'{self.kind} "{self.name}"'


@dataclass(frozen=True, slots=True)
class Binding:
    """A RoleBinding (namespace set) or a ClusterRoleBinding (namespace "")."""

    namespace: str
    name: str
    role_kind: str  # Role or ClusterRole
    role_name: str
    subjects: tuple[Subject, ...]

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Binding:
        meta = obj.get("metadata") or {}
        ref = obj.get("roleRef") or {}
        subjects = obj.get("subjects") or []
        return cls(str(meta.get("namespace") or ""), str(meta.get("name") or ""),
                   str(ref.get("kind") or ""), str(ref.get("name") or ""),
                   tuple(Subject.from_json(s) for s in subjects if isinstance(s, Mapping)))

    def describe(self, subject: Subject) -> str:
        """kube's binding describers: what an allowed decision's reason names."""
        if self.namespace:
            what = f'RoleBinding "{self.name}/{self.namespace}"'
        else:
            what = f'ClusterRoleBinding "{self.name}"'
        return (f'{what} of {self.role_kind} "{self.role_name}" to '
                f"{subject.describe(self.namespace)}")


@dataclass(frozen=True, slots=True)
class Grant:
    """One binding's subject that applies to the user, and the rules it brings (None: the
    role it refers to does not exist)."""

    binding: Binding
    subject: Subject
    rules: tuple[PolicyRule, ...] | None

    def missing_role(self) -> str:
        """The resolution error for a binding whose role is missing (the authorizer's
        listers name the kind in the singular)."""
        kind = "clusterrole" if self.binding.role_kind == "ClusterRole" else "role"
        return f'{kind}.{RBAC_GROUP} "{self.binding.role_name}" not found'


class RbacPolicy:
    """Roles and bindings by scope and name; `revision` grows with every change."""

    def __init__(self) -> None:
        self.revision = 0
        self._cluster_roles: dict[str, tuple[PolicyRule, ...]] = {}
        self._roles: dict[tuple[str, str], tuple[PolicyRule, ...]] = {}
        self._cluster_bindings: dict[str, Binding] = {}
        self._bindings: dict[str, dict[str, Binding]] = {}

    # --- upkeep, from the store's events -------------------------------------------------

    def put(self, plural: str, obj: Mapping[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        name, ns = str(meta.get("name") or ""), str(meta.get("namespace") or "")
        if plural == "clusterroles":
            self._cluster_roles[name] = rules_from_json(obj.get("rules"))
        elif plural == "roles":
            self._roles[(ns, name)] = rules_from_json(obj.get("rules"))
        elif plural == "clusterrolebindings":
            self._cluster_bindings[name] = Binding.from_json(obj)
        elif plural == "rolebindings":
            self._bindings.setdefault(ns, {})[name] = Binding.from_json(obj)
        else:
            return
        self.revision += 1

    def remove(self, plural: str, namespace: str, name: str) -> None:
        if plural == "clusterroles":
            self._cluster_roles.pop(name, None)
        elif plural == "roles":
            self._roles.pop((namespace, name), None)
        elif plural == "clusterrolebindings":
            self._cluster_bindings.pop(name, None)
        elif plural == "rolebindings":
            in_ns = self._bindings.get(namespace, {})
            in_ns.pop(name, None)
            if not in_ns:
                self._bindings.pop(namespace, None)
        else:
            return
        self.revision += 1

    # --- reading -------------------------------------------------------------------------

    def role_rules(self, role_kind: str, namespace: str,
                   name: str) -> tuple[PolicyRule, ...] | None:
        """The rules of the role a binding in `namespace` refers to; None if it is missing."""
        if role_kind == "ClusterRole":
            return self._cluster_roles.get(name)
        if role_kind == "Role":
            return self._roles.get((namespace, name))
        return None

    def cluster_role(self, name: str) -> tuple[PolicyRule, ...] | None:
        return self._cluster_roles.get(name)

    def grants(self, user: UserInfo, namespace: str) -> Iterator[Grant]:
        """Every binding subject that applies to `user` in `namespace` ("" for the cluster
        scope only), ClusterRoleBindings first, each with its role's rules."""
        for binding in self._cluster_bindings.values():
            yield from self._grants_of(binding, user)
        if namespace:
            for binding in self._bindings.get(namespace, {}).values():
                yield from self._grants_of(binding, user)

    def _grants_of(self, binding: Binding, user: UserInfo) -> Iterator[Grant]:
        for subject in binding.subjects:
            if subject.applies_to(user, binding.namespace):
                yield Grant(binding, subject,
                            self.role_rules(binding.role_kind, binding.namespace,
                                            binding.role_name))
                return  # one matching subject is enough for a binding

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[PolicyRule], list[str]]:
        """All rules that apply to the user in `namespace`, and the resolution errors."""
        rules: list[PolicyRule] = []
        errs: list[str] = []
        for grant in self.grants(user, namespace):
            if grant.rules is None:
                errs.append(grant.missing_role())
            else:
                rules.extend(grant.rules)
        return rules, errs
