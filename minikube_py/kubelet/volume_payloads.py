"""The files of configMap, secret, downwardAPI and projected volumes (kube's MakePayload and
CollectData): path -> (bytes, mode), from the objects read for the pod. Pure; the atomic
writer puts a payload on disk."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minikube_py.kubelet.downward import metadata_field, resource_value
from minikube_py.kubelet.pod_objects import (
    CONFIGMAP,
    SECRET,
    ConfigError,
    Fetched,
    ObjectRef,
    require,
    secret_items,
)
from minikube_py.kubelet.security_context import fs_user_from
from minikube_py.kubelet.tokens import TokenKey, token_key

DEFAULT_MODE = 0o644  # what API defaulting gives every defaultMode


@dataclass(frozen=True, slots=True)
class FileProjection:
    data: bytes
    mode: int
    fs_user: int | None = None  # the file's owner, when not root


Payload = dict[str, FileProjection]

# The volume sources this module writes; which are on tmpfs (never on the node's disk).
PROJECTED_KINDS = ("configMap", "secret", "downwardAPI", "projected")
IN_MEMORY_KINDS = ("secret", "projected")


def _mode(value: Any, default: int) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else default


def _keyed_payload(items: list[Mapping[str, Any]], values: Mapping[str, bytes], mode: int,
                   optional: bool, missing_key: str) -> Payload:
    """All keys as files, or only the items' keys at their paths (a missing key fails the
    volume unless the source is optional)."""
    if not items:
        return {key: FileProjection(data, mode) for key, data in values.items()}
    payload: Payload = {}
    for item in items:
        key = str(item.get("key") or "")
        if key not in values:
            if optional:
                continue
            raise ConfigError(f"{missing_key}: {key}")
        payload[str(item.get("path") or key)] = FileProjection(values[key],
                                                               _mode(item.get("mode"), mode))
    return payload


def configmap_values(cm: Mapping[str, Any] | None) -> dict[str, bytes]:
    values = {k: str(v).encode() for k, v in ((cm or {}).get("data") or {}).items()}
    for k, v in ((cm or {}).get("binaryData") or {}).items():
        values[k] = _binary(v)
    return values


def _binary(encoded: Any) -> bytes:
    try:
        return base64.b64decode(str(encoded), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError("configmap binaryData holds a value that is not base64") from None


def configmap_payload(source: Mapping[str, Any], objects: Mapping[ObjectRef, Fetched],
                      default_mode: int) -> Payload:
    ref = ObjectRef(CONFIGMAP, str(source.get("name") or ""))
    optional = bool(source.get("optional"))
    cm = require(ref, objects.get(ref), optional=optional)
    return _keyed_payload(source.get("items") or [], configmap_values(cm), default_mode,
                          optional, "configmap references non-existent config key")


def secret_payload(ref: ObjectRef, source: Mapping[str, Any],
                   objects: Mapping[ObjectRef, Fetched], default_mode: int) -> Payload:
    optional = bool(source.get("optional"))
    secret = require(ref, objects.get(ref), optional=optional)
    values = dict(secret_items(secret or {}))
    return _keyed_payload(source.get("items") or [], values, default_mode, optional,
                          "secret references non-existent secret key")


def downward_payload(items: list[Mapping[str, Any]], pod: Mapping[str, Any],
                     allocatable: Mapping[str, str], default_mode: int) -> Payload:
    """CollectData: every item is tried; the errors come back together."""
    payload: Payload = {}
    errors: list[str] = []
    for item in items:
        try:
            if item.get("fieldRef"):
                text = metadata_field(pod, str(item["fieldRef"].get("fieldPath") or ""))
            elif item.get("resourceFieldRef"):
                text = resource_value(pod, None, item["resourceFieldRef"], allocatable)
            else:
                raise ConfigError(f"downwardAPI item {item.get('path')!s} names no field")
        except ConfigError as e:
            errors.append(str(e))
            continue
        payload[str(item.get("path") or "")] = FileProjection(text.encode(),
                                                              _mode(item.get("mode"), default_mode))
    if errors:
        raise ConfigError(aggregate(errors))
    return payload


def aggregate(errors: list[str]) -> str:
    """utilerrors.NewAggregate's message."""
    return errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]"


def token_keys(volume: Mapping[str, Any], pod: Mapping[str, Any]) -> list[TokenKey]:
    """The ServiceAccount tokens a projected volume holds."""
    return [token_key(pod, part["serviceAccountToken"])
            for part in (volume.get("projected") or {}).get("sources") or []
            if part.get("serviceAccountToken")]


def projected_payload(source: Mapping[str, Any], pod: Mapping[str, Any],
                      objects: Mapping[ObjectRef, Fetched], allocatable: Mapping[str, str],
                      tokens: Mapping[TokenKey, str | ConfigError]) -> Payload:
    mode = _mode(source.get("defaultMode"), DEFAULT_MODE)
    payload: Payload = {}
    errors: list[str] = []
    for part in source.get("sources") or []:
        try:
            payload.update(_projected_source(part, pod, objects, allocatable, tokens, mode))
        except ConfigError as e:
            errors.append(str(e))
    if errors:
        raise ConfigError(aggregate(errors))
    return payload


def _projected_source(part: Mapping[str, Any], pod: Mapping[str, Any],
                      objects: Mapping[ObjectRef, Fetched], allocatable: Mapping[str, str],
                      tokens: Mapping[TokenKey, str | ConfigError], mode: int) -> Payload:
    if part.get("configMap"):
        return configmap_payload(part["configMap"], objects, mode)
    if part.get("secret"):
        sel = part["secret"]
        return secret_payload(ObjectRef(SECRET, str(sel.get("name") or "")), sel, objects, mode)
    if part.get("downwardAPI"):
        return downward_payload(part["downwardAPI"].get("items") or [], pod, allocatable, mode)
    if part.get("serviceAccountToken"):
        sel = part["serviceAccountToken"]
        token = tokens.get(token_key(pod, sel))
        if token is None:
            raise ConfigError("failed to fetch token: no token was requested")
        if isinstance(token, ConfigError):
            raise token
        # As kube: a token for one non-root user (or a group) is for them alone.
        fs_user = fs_user_from(pod)
        fs_group = ((pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
        if fs_user is not None or fs_group is not None:
            mode = 0o600
        return {str(sel.get("path") or ""): FileProjection(token.encode(), mode, fs_user)}
    kinds = [k for k in part if part.get(k)] or ["(empty)"]
    raise ConfigError(f"projected source {', '.join(kinds)} is not supported by this kubelet "
                      "yet")


def volume_payload(volume: Mapping[str, Any], pod: Mapping[str, Any],
                   objects: Mapping[ObjectRef, Fetched], allocatable: Mapping[str, str],
                   tokens: Mapping[TokenKey, str | ConfigError] | None = None) -> Payload:
    """The files of a configMap, secret, downwardAPI or projected volume."""
    if volume.get("configMap") is not None:
        source = volume["configMap"]
        return configmap_payload(source, objects, _mode(source.get("defaultMode"), DEFAULT_MODE))
    if volume.get("secret") is not None:
        source = volume["secret"]
        ref = ObjectRef(SECRET, str(source.get("secretName") or ""))
        return secret_payload(ref, source, objects, _mode(source.get("defaultMode"), DEFAULT_MODE))
    if volume.get("downwardAPI") is not None:
        source = volume["downwardAPI"]
        return downward_payload(source.get("items") or [], pod, allocatable,
                                _mode(source.get("defaultMode"), DEFAULT_MODE))
    return projected_payload(volume.get("projected") or {}, pod, objects, allocatable,
                             tokens or {})
