"""metadata.managedFields on every write, and server-side apply (kube's fieldmanager): who
writes, which fields of a kind count, and the structured-merge core's answers as the
entries kube stores and the 409s kube sends."""

from __future__ import annotations

import json
from typing import Any

from minikube_py.api import errors
from minikube_py.api.fieldpath import (
    EMPTY,
    FieldsError,
    FieldSet,
    TypeTable,
    from_fields_v1,
    path_string,
    to_fields_v1,
)
from minikube_py.api.structuredmerge import (
    APPLY,
    UPDATE,
    ApplyError,
    Conflicts,
    Managed,
    Manager,
    Owned,
    applied_fields,
    apply,
    cap_update_managers,
    compare,
    update,
)
from minikube_py.apiserver.kinds.base import Strategy
from minikube_py.apiserver.options import RequestOptions

Obj = dict[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Who owns the fields of an object that had no managedFields when it was first applied.
BEFORE_FIRST_APPLY = "before-first-apply"
# kubectl's server-side apply adopts what its client-side apply set (lastAppliedManager).
KUBECTL = "kubectl"
MAX_MANAGER_LENGTH = 128
# What the server sets and nobody owns (fieldmanager's stripMeta).
_STRIPPED: FieldSet = frozenset(
    [("f:apiVersion",), ("f:kind",)] + [("f:metadata", "f:" + f) for f in (
        "name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
        "selfLink", "managedFields", "deletionTimestamp", "deletionGracePeriodSeconds")])
# In-process components are named as kube's binaries name themselves in their User-Agent.
_COMPONENTS = {"system:kube-controller-manager": "kube-controller-manager",
               "system:kube-scheduler": "kube-scheduler", "system:kube-proxy": "kube-proxy"}


def manager_name(opts: RequestOptions) -> str:
    """?fieldManager=, else the User-Agent up to its first "/", as kube's default."""
    if opts.field_manager:
        return opts.field_manager
    if opts.user_agent:
        return opts.user_agent.split("/")[0][:MAX_MANAGER_LENGTH]
    user = opts.user
    if user is None:
        return "kube-apiserver"
    if user.name.startswith("system:node:"):
        return "kubelet"
    if user.name.startswith("system:serviceaccount:kube-system:"):
        return "kube-controller-manager"
    return _COMPONENTS.get(user.name, user.name)


def check_options(options_kind: str, opts: RequestOptions, *, apply: bool = False,
                  patch: bool = False) -> None:
    """422 for a fieldManager kube refuses (ValidateFieldManager), for an apply without one
    and for force on anything but an apply (ValidatePatchOptions); `options_kind` names
    the request's options (CreateOptions, UpdateOptions, PatchOptions)."""
    causes: list[errors.Cause] = []
    if patch and not apply and opts.force:
        causes.append(errors.Cause("FieldValueForbidden",
                                   "Forbidden: may not be specified for non-apply patch", "force"))
    if apply and not opts.field_manager:
        causes.append(errors.Cause("FieldValueRequired",
                                   "Required value: is required for apply patch", "fieldManager"))
    manager = opts.field_manager
    if len(manager.encode()) > MAX_MANAGER_LENGTH:
        causes.append(errors.Cause("FieldValueTooLong", "Too long: may not be more than "
                                   f"{MAX_MANAGER_LENGTH} bytes", "fieldManager"))
    for i, char in enumerate(manager):
        if not char.isprintable():
            causes.append(errors.Cause(
                "FieldValueInvalid", f"Invalid value: {json.dumps(manager)}: invalid character "
                f"U+{ord(char):04X} (at position {len(manager[:i].encode())})", "fieldManager"))
    if causes:
        raise errors.invalid(options_kind, "", causes, "meta.k8s.io")


def _ignored(strategy: Strategy, subresource: str) -> FieldSet:
    """Fields a write through this endpoint cannot change (kube's reset fields)."""
    if subresource == "status":
        return _STRIPPED | {("f:spec",)}
    if not subresource and strategy.has_status:
        return _STRIPPED | {("f:status",)}
    return _STRIPPED


def decode_managed(entries: Any) -> Managed | None:
    """An object's managedFields as the core's managers; None when they cannot be read."""
    if not isinstance(entries, list):
        return None
    out: Managed = {}
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        operation = entry.get("operation") or ""
        if operation not in (APPLY, UPDATE, "") or \
                entry.get("fieldsType") not in ("FieldsV1", "", None):
            return None
        try:
            fields = from_fields_v1(entry.get("fieldsV1") or {})
        except FieldsError:
            return None
        api_version = str(entry.get("apiVersion") or "")
        manager = Manager(str(entry.get("manager") or ""), operation,
                          str(entry.get("subresource") or ""),
                          api_version if operation == UPDATE else "")
        out[manager] = Owned(fields, api_version, str(entry.get("time") or ""))
    return out


def encode_managed(managed: Managed) -> list[Obj]:
    """managedFields entries in kube's order: Apply before Update, then oldest first."""
    entries = []
    for manager, owned in sorted(managed.items(), key=lambda mo: (
            mo[0].operation, mo[1].time, mo[0].name, mo[1].api_version, mo[0].subresource)):
        if not owned.fields:
            continue
        entry: Obj = {"manager": manager.name, "operation": manager.operation,
                      "apiVersion": owned.api_version}
        if owned.time:
            entry["time"] = owned.time
        entry |= {"fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(owned.fields)}
        if manager.subresource:
            entry["subresource"] = manager.subresource
        entries.append(entry)
    return entries


def _set_managed(obj: Obj, managed: Managed) -> None:
    meta = obj.setdefault("metadata", {})
    entries = encode_managed(managed)
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)


def _managed_of(obj: Obj | None) -> Managed:
    if obj is None:
        return {}
    return decode_managed((obj.get("metadata") or {}).get("managedFields")) or {}


def record_write(strategy: Strategy, old: Obj | None, new: Obj, opts: RequestOptions,
                 subresource: str, now: str) -> None:
    """Set `new`'s managedFields after a create (old None), update or non-apply patch: the
    writer owns what it changed. managedFields the client sent stand; `[]` or `[{}]` clears
    them; left out or unreadable, the stored ones stand, so a client that does not know
    them keeps them (kube's decodeManagedFields). A subresource write never sets them."""
    entries = None if subresource else (new.get("metadata") or {}).get("managedFields")
    if entries in ([], [{}]):
        managed: Managed = {}
    else:
        managed = decode_managed(entries) or _managed_of(old)
    version = strategy.resource.api_version
    manager = Manager(manager_name(opts), UPDATE, subresource, version)
    _set_managed(new, cap_update_managers(update(
        old or {}, new, managed, manager, version, now, strategy.merge_types,
        _ignored(strategy, subresource))))


def apply_config(strategy: Strategy, live: Obj | None, config: Obj, opts: RequestOptions,
                 subresource: str, now: str) -> Obj:
    """The object that applying `config` over `live` (None: missing) makes, with its
    managedFields; a 409 Conflict naming what other managers own, unless forced."""
    version = strategy.resource.api_version
    if config.get("apiVersion") != version:
        given = config.get("apiVersion")
        raise errors.bad_request("Incorrect version specified in apply patch. Specified patch "
                                 f"version: {given if isinstance(given, str) else ''}, "
                                 f"expected: {version}")
    meta = config.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        raise errors.bad_request("metadata must be an object")
    if isinstance(meta, dict) and meta.get("managedFields") is not None:
        raise errors.bad_request("metadata.managedFields must be nil")
    types, ignored = strategy.merge_types, _ignored(strategy, subresource)
    managed = _managed_of(live)
    if live is not None and not managed:
        managed = update({}, live, {}, Manager(BEFORE_FIRST_APPLY, UPDATE, "", version),
                         version, now, types, ignored)
    manager = Manager(manager_name(opts), APPLY, subresource)
    allowed = _client_side_applied(live, types) if manager.name == KUBECTL else EMPTY
    try:
        applied = apply(live or {}, config, managed, manager, version, now, types,
                        force=opts.force, ignored=ignored, allowed_conflicts=allowed)
    except Conflicts as e:
        raise conflict_error(e) from None
    except ApplyError as e:
        raise errors.ApiError(422, "Invalid", f"failed to apply: {e}") from None
    obj: Obj = applied.obj
    if manager.name == KUBECTL:
        _sync_last_applied(obj, config)
    _set_managed(obj, cap_update_managers(applied.managed))
    return obj


def conflict_error(e: Conflicts) -> errors.ApiError:
    """kube's NewApplyConflict: a 409 Conflict with a FieldManagerConflict per field."""
    causes = [errors.Cause("FieldManagerConflict", f"conflict with {c.manager.describe()}",
                           path_string(c.path)) for c in e.conflicts]
    return errors.ApiError(409, "Conflict", e.message(), causes=causes)


def _last_applied(obj: Obj | None) -> Obj | None:
    meta = (obj or {}).get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    raw = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _client_side_applied(live: Obj | None, types: TypeTable) -> FieldSet:
    """Fields kubectl's client-side apply set that still hold what it set: kubectl's
    server-side apply takes them over without a conflict."""
    last = _last_applied(live)
    if last is None or live is None:
        return EMPTY
    return applied_fields(last, types) - compare(last, live, types).modified


def _sync_last_applied(obj: Obj, config: Obj) -> None:
    """kubectl's server-side apply keeps an existing last-applied annotation current, so a
    later client-side apply starts from what was applied (lastAppliedUpdater)."""
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict) or LAST_APPLIED not in annotations:
        return
    last = json.loads(json.dumps(config))
    last_meta = last.get("metadata")
    if isinstance(last_meta, dict) and isinstance(last_meta.get("annotations"), dict):
        last_meta["annotations"].pop(LAST_APPLIED, None)
        if not last_meta["annotations"]:
            del last_meta["annotations"]
    annotations[LAST_APPLIED] = json.dumps(last, separators=(",", ":"))
