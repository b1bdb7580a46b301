"""What the downward API exposes of a pod and its containers, in kube's formats: field paths
(metadata, spec.nodeName, status.podIPs...) and container resources over a divisor, limits
defaulting to the node's allocatable. Shared by env (fieldRef, resourceFieldRef) and by
downwardAPI volume files. Pure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from minikube_py.api.quantity import QuantityError, parse_quantity
from minikube_py.api.validation import qualified_name_errors
from minikube_py.kubelet.pod_objects import ConfigError

# ConvertDownwardAPIFieldLabel: what a fieldRef may name (subscripted labels/annotations too).
POD_FIELDS = frozenset({
    "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
    "metadata.uid", "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName",
    "spec.schedulerName", "status.phase", "status.hostIP", "status.hostIPs", "status.podIP",
    "status.podIPs",
})
# Limits a container leaves unset are the node's allocatable, for the downward API only.
DEFAULTED_LIMITS = ("cpu", "memory", "ephemeral-storage")


@dataclass(frozen=True, slots=True)
class FieldContext:
    """What the pod object does not carry yet when its containers start."""

    pod_ips: tuple[str, ...] = ()
    host_ips: tuple[str, ...] = ()
    allocatable: Mapping[str, str] = field(default_factory=dict)


def go_quote(text: str) -> str:
    """Go's %q (strconv.Quote), which kube uses to format labels and annotations."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif ch == " " or ch.isprintable():
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def format_map(values: Mapping[str, str]) -> str:
    """`key="value"` lines in key order (fieldpath.FormatMap)."""
    return "\n".join(f"{k}={go_quote(str(values[k]))}" for k in sorted(values))


def split_subscript(path: str) -> tuple[str, str] | None:
    """`metadata.labels['k']` -> ("metadata.labels", "k")."""
    if not path.endswith("']"):
        return None
    base, sep, key = path[:-2].partition("['")
    if not sep or not base:
        return None
    return base, key


def metadata_field(pod: Mapping[str, Any], path: str) -> str:
    """ExtractFieldPathAsString: the metadata a downwardAPI volume file may hold."""
    meta = pod.get("metadata") or {}
    subscripted = split_subscript(path)
    if subscripted is not None:
        base, key = subscripted
        if base not in ("metadata.annotations", "metadata.labels"):
            raise ConfigError(f'fieldPath "{path}" does not support subscript')
        errors = qualified_name_errors(key.lower() if base == "metadata.annotations" else key)
        if errors:
            raise ConfigError(f"invalid key subscript in {path}: {';'.join(errors)}")
        return str((meta.get(base.split(".")[1]) or {}).get(key, ""))
    if path == "metadata.annotations":
        return format_map(meta.get("annotations") or {})
    if path == "metadata.labels":
        return format_map(meta.get("labels") or {})
    if path in ("metadata.name", "metadata.namespace", "metadata.uid"):
        return str(meta.get(path.split(".")[1], ""))
    raise ConfigError(f"unsupported fieldPath: {path}")


def env_field_value(pod: Mapping[str, Any], field_ref: Mapping[str, Any],
                    ctx: FieldContext) -> str:
    """podFieldSelectorRuntimeValue: an env fieldRef, which may also name the node and the
    pod's addresses (known to the kubelet before the pod's status says them)."""
    version = field_ref.get("apiVersion") or "v1"
    if version != "v1":
        raise ConfigError(f"unsupported pod version: {version}")
    path = str(field_ref.get("fieldPath") or "")
    subscripted = split_subscript(path)
    if subscripted is not None:
        if subscripted[0] not in ("metadata.annotations", "metadata.labels"):
            raise ConfigError(f"field label does not support subscript: {path}")
    elif path == "spec.host":  # what old v1 clients send for spec.nodeName
        path = "spec.nodeName"
    elif path not in POD_FIELDS:
        raise ConfigError(f"field label not supported: {path}")
    spec = pod.get("spec") or {}
    if path == "spec.nodeName":
        return str(spec.get("nodeName") or "")
    if path == "spec.serviceAccountName":
        return str(spec.get("serviceAccountName") or "")
    if path == "status.hostIP":
        return ctx.host_ips[0] if ctx.host_ips else ""
    if path == "status.hostIPs":
        return ",".join(ctx.host_ips)
    if path == "status.podIP":
        return ctx.pod_ips[0] if ctx.pod_ips else ""
    if path == "status.podIPs":
        return ",".join(ctx.pod_ips)
    return metadata_field(pod, path)


def find_container(pod: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if c.get("name") == name:
            return dict(c)
    raise ConfigError(f"container {name} not found")


def with_default_limits(container: Mapping[str, Any],
                        allocatable: Mapping[str, str]) -> dict[str, Any]:
    """A copy whose unset (or zero) cpu, memory and ephemeral-storage limits are the node's
    allocatable (MergeContainerResourceLimits)."""
    resources = dict(container.get("resources") or {})
    limits = dict(resources.get("limits") or {})
    for name in DEFAULTED_LIMITS:
        if name in allocatable and _quantity(limits.get(name, 0)) == 0:
            limits[name] = allocatable[name]
    return {**container, "resources": {**resources, "limits": limits}}


def resource_value(pod: Mapping[str, Any], container: Mapping[str, Any] | None,
                   selector: Mapping[str, Any], allocatable: Mapping[str, str]) -> str:
    """A resourceFieldRef: the named container's (else `container`'s: env only) request or
    limit over the divisor, rounded up (ExtractContainerResourceValue)."""
    name = str(selector.get("containerName") or "")
    chosen = find_container(pod, name) if name or container is None else container
    target = with_default_limits(chosen, allocatable)
    resource = str(selector.get("resource") or "")
    kind, _, resource_name = resource.partition(".")
    if kind not in ("limits", "requests") or not (
            resource_name in ("cpu", "memory", "ephemeral-storage")
            or resource_name.startswith("hugepages-")):
        raise ConfigError(f"unsupported container resource : {resource}")
    amount = _quantity(((target.get("resources") or {}).get(kind) or {}).get(resource_name, 0))
    divisor = _quantity(selector.get("divisor") or 0) or Fraction(1)
    if resource_name == "cpu":
        # MilliValue() of each, rounded up, then the ceiling of their ratio.
        return str(math.ceil(Fraction(math.ceil(amount * 1000), math.ceil(divisor * 1000))))
    return str(math.ceil(Fraction(math.ceil(amount), math.ceil(divisor))))


def _quantity(value: Any) -> Fraction:
    try:
        return parse_quantity(value)
    except QuantityError as e:
        raise ConfigError(str(e)) from None
    except TypeError:
        raise ConfigError(f"not a quantity: {value}") from None
