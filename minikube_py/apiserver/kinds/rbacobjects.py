"""What the four rbac.authorization.k8s.io/v1 kinds share (kube's pkg/apis/rbac/validation,
v1 defaults, printers.go): rule, subject and roleRef checks, and kubectl's columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from minikube_py.api.errors import Cause
from minikube_py.api.validation import (
    dns1123_subdomain_errors,
    invalid_value,
    label_selector_errors,
    not_supported,
    path_segment_errors,
    required,
)
from minikube_py.apiserver.kinds.base import Obj, Printer
from minikube_py.apiserver.tables_format import AGE_DESC, NAME_DESC, Row, column, since

RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def _strings(rule: Mapping[str, Any], key: str) -> list[Any]:
    value = rule.get(key)
    return value if isinstance(value, list) else []


def validate_rules(rules: Any, namespaced: bool) -> list[Cause]:
    """kube's ValidatePolicyRule for every rule: verbs, and either resources (with API
    groups) or, in a ClusterRole only, non-resource URLs."""
    causes: list[Cause] = []
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(rule, Mapping):
            continue
        at = f"rules[{i}]"
        if not _strings(rule, "verbs"):
            causes.append(required(f"{at}.verbs", "verbs must contain at least one value"))
        urls = _strings(rule, "nonResourceURLs")
        if urls:
            if namespaced:
                causes.append(invalid_value(f"{at}.nonResourceURLs", urls,
                                            "namespaced rules cannot apply to non-resource URLs"))
            if any(_strings(rule, k) for k in ("apiGroups", "resources", "resourceNames")):
                causes.append(invalid_value(f"{at}.nonResourceURLs", urls,
                                            "rules cannot apply to both regular resources and "
                                            "non-resource URLs"))
            continue
        if not _strings(rule, "apiGroups"):
            causes.append(required(f"{at}.apiGroups",
                                   "resource rules must supply at least one api group"))
        if not _strings(rule, "resources"):
            causes.append(required(f"{at}.resources",
                                   "resource rules must supply at least one resource"))
    return causes


def validate_aggregation_rule(rule: Any) -> list[Cause]:
    if not isinstance(rule, Mapping):
        return []
    field = "aggregationRule.clusterRoleSelectors"
    selectors = rule.get("clusterRoleSelectors")
    if not isinstance(selectors, list) or not selectors:
        return [required(field, "at least one clusterRoleSelector required if aggregationRule "
                                "is non-nil")]
    causes: list[Cause] = []
    for i, sel in enumerate(selectors):
        if isinstance(sel, Mapping):
            causes += label_selector_errors(sel, f"{field}[{i}]")
    return causes


def default_binding(obj: Obj) -> None:
    """v1 SetDefaults: roleRef and User/Group subjects are in the RBAC API group."""
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup") and \
                subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = RBAC_GROUP


def validate_binding(obj: Obj, role_kinds: tuple[str, ...], namespaced: bool) -> list[Cause]:
    """kube's ValidateRoleBinding / ValidateClusterRoleBinding."""
    causes: list[Cause] = []
    ref = obj.get("roleRef")
    if not isinstance(ref, Mapping):
        ref = {}
    if ref.get("apiGroup") != RBAC_GROUP:
        causes.append(not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [RBAC_GROUP]))
    if ref.get("kind") not in role_kinds:
        causes.append(not_supported("roleRef.kind", ref.get("kind", ""), role_kinds))
    name = str(ref.get("name") or "")
    if not name:
        causes.append(required("roleRef.name"))
    else:
        causes += [invalid_value("roleRef.name", name, e) for e in path_segment_errors(name)]
    for i, subject in enumerate(obj.get("subjects") or []):
        if isinstance(subject, Mapping):
            causes += _subject_errors(subject, namespaced, f"subjects[{i}]")
    return causes


def _subject_errors(subject: Mapping[str, Any], namespaced: bool, at: str) -> list[Cause]:
    causes: list[Cause] = []
    name, kind = str(subject.get("name") or ""), subject.get("kind", "")
    group = str(subject.get("apiGroup") or "")
    if not name:
        causes.append(required(f"{at}.name"))
    if kind == "ServiceAccount":
        if name:
            causes += [invalid_value(f"{at}.name", name, e)
                       for e in dns1123_subdomain_errors(name)]
        if group:
            causes.append(not_supported(f"{at}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            causes.append(required(f"{at}.namespace"))
    elif kind in ("User", "Group"):
        if group != RBAC_GROUP:
            causes.append(not_supported(f"{at}.apiGroup", group, [RBAC_GROUP]))
    else:
        causes.append(not_supported(f"{at}.kind", kind, SUBJECT_KINDS))
    return causes


def role_ref_unchanged(new: Obj, old: Obj) -> list[Cause]:
    if new.get("roleRef") != old.get("roleRef"):
        return [invalid_value("roleRef", new.get("roleRef"), "cannot change roleRef")]
    return []


# --- kubectl's columns --------------------------------------------------------------------

ROLE_PRINTER = Printer(
    [column("Name", NAME_DESC, fmt="name"), column("Created At", AGE_DESC, typ="date")],
    lambda obj, now: [(obj.get("metadata") or {}).get("name", ""),
                      (obj.get("metadata") or {}).get("creationTimestamp") or ""])


def _subjects_cells(subjects: Any) -> list[str]:
    """kube's SubjectsStrings, comma-joined: users, groups, service accounts (ns/name)."""
    users: list[str] = []
    groups: list[str] = []
    accounts: list[str] = []
    for s in subjects if isinstance(subjects, list) else []:
        if not isinstance(s, Mapping):
            continue
        if s.get("kind") == "ServiceAccount":
            accounts.append(f"{s.get('namespace', '')}/{s.get('name', '')}")
        elif s.get("kind") == "User":
            users.append(str(s.get("name", "")))
        elif s.get("kind") == "Group":
            groups.append(str(s.get("name", "")))
    return [", ".join(users), ", ".join(groups), ", ".join(accounts)]


def binding_printer(role_ref_desc: str) -> Printer:
    def row(obj: Obj, now: float) -> Row:
        meta = obj.get("metadata") or {}
        ref = obj.get("roleRef") or {}
        return [meta.get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}",
                since(meta.get("creationTimestamp"), now), *_subjects_cells(obj.get("subjects"))]

    return Printer([column("Name", NAME_DESC, fmt="name"), column("Role", role_ref_desc),
                    column("Age", AGE_DESC),
                    column("Users", "Users in the roleBinding", priority=1),
                    column("Groups", "Groups in the roleBinding", priority=1),
                    column("ServiceAccounts", "ServiceAccounts in the roleBinding",
                           priority=1)], row)
