"""A container's environment as kube's kubelet makes it (makeEnvironmentVariables): envFrom
first, then env in declaration order (a later entry overrides, `$(VAR)` references earlier
ones and the Service variables), then the Service link variables nothing overrode; and the
`$(VAR)` expansion of command, args and subPathExpr. Pure: the ConfigMaps, Secrets and
Services it reads are handed in."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from minikube_py.kubelet.downward import FieldContext, env_field_value, resource_value
from minikube_py.kubelet.pod_objects import (
    CONFIGMAP,
    SECRET,
    ConfigError,
    Fetched,
    ObjectRef,
    require,
    secret_bytes,
    secret_items,
)

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
# The Services whose variables every pod gets, from `default`, whatever enableServiceLinks
# says (kube's masterServices): KUBERNETES_SERVICE_HOST/PORT and KUBERNETES_PORT_*, what
# in-cluster clients find the API server by.
MASTER_SERVICES: frozenset[str] = frozenset({"kubernetes"})


def is_env_var_name(name: str) -> bool:
    """IsEnvVarName: letters, digits, '_', '-' and '.', not starting with a digit, and not
    '.', '..' or anything starting with '..'."""
    return bool(_ENV_NAME.match(name)) and not name.startswith("..") and name != "."


# --- $(VAR) expansion -----------------------------------------------------------------------

def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """kube's expansion: `$(NAME)` becomes the value `lookup` gives, or stays as written when
    it gives None; `$$` is one `$`; any other `$`, and an unclosed `$(`, stay as they are."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close < 0:
                out.append("$(")
                i += 2
                continue
            name = text[i + 2:close]
            value = lookup(name)
            out.append(f"$({name})" if value is None else value)
            i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def lookup_in(*maps: Mapping[str, str]) -> Callable[[str], str | None]:
    """MappingFuncFor: the first map that has the name answers."""
    def lookup(name: str) -> str | None:
        for m in maps:
            if name in m:
                return m[name]
        return None
    return lookup


def expand_command(words: Iterable[str], env: Mapping[str, str]) -> list[str]:
    return [expand(w, lookup_in(env)) for w in words]


def expand_sub_path(expr: str, env: Mapping[str, str]) -> str:
    """subPathExpr: every reference must name a variable with a value."""
    missing: set[str] = set()

    def lookup(name: str) -> str:
        value = env.get(name, "")
        if not value:
            missing.add(name)
        return value

    expanded = expand(expr, lookup)
    if missing:
        raise ConfigError(f"missing value for {', '.join(sorted(missing))}")
    return expanded


# --- Service link variables -----------------------------------------------------------------

def _env_name(text: str) -> str:
    return text.replace("-", "_").upper()


def _has_cluster_ip(service: Mapping[str, Any]) -> bool:
    spec = service.get("spec") or {}
    return spec.get("clusterIP") not in (None, "", "None") and bool(spec.get("ports"))


def _service_vars(service: Mapping[str, Any]) -> list[tuple[str, str]]:
    """FromServices for one Service: host and first port, named ports, Docker link vars."""
    spec = service["spec"]
    prefix = _env_name(service["metadata"]["name"])
    ip = str(spec["clusterIP"])
    ports = spec["ports"]
    out = [(f"{prefix}_SERVICE_HOST", ip), (f"{prefix}_SERVICE_PORT", str(ports[0]["port"]))]
    out += [(f"{prefix}_SERVICE_PORT_{_env_name(p['name'])}", str(p["port"]))
            for p in ports if p.get("name")]
    host = f"[{ip}]" if ":" in ip else ip
    for i, p in enumerate(ports):
        protocol = str(p.get("protocol") or "TCP")
        url = f"{protocol.lower()}://{host}:{p['port']}"
        if i == 0:
            out.append((f"{prefix}_PORT", url))
        port_prefix = f"{prefix}_PORT_{p['port']}_{protocol.upper()}"
        out += [(port_prefix, url), (f"{port_prefix}_PROTO", protocol.lower()),
                (f"{port_prefix}_PORT", str(p["port"])), (f"{port_prefix}_ADDR", ip)]
    return out


def service_env(services: Iterable[Mapping[str, Any]], namespace: str, *,
                enable_service_links: bool,
                master_services: frozenset[str] = MASTER_SERVICES) -> dict[str, str]:
    """getServiceEnvVarMap: the Services of the pod's namespace (with enableServiceLinks)
    and the master Services of `default`, each with a cluster IP."""
    chosen: dict[str, Mapping[str, Any]] = {}
    for svc in services:
        if not _has_cluster_ip(svc):
            continue
        meta = svc.get("metadata") or {}
        name, ns = meta.get("name", ""), meta.get("namespace", "")
        if ns == "default" and name in master_services:
            chosen.setdefault(name, svc)
        elif ns == namespace and enable_service_links:
            chosen[name] = svc
    env: dict[str, str] = {}
    for name in sorted(chosen):
        env.update(_service_vars(chosen[name]))
    return env


# --- the container's environment ------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ContainerEnv:
    env: dict[str, str]  # in the order the container gets it
    # InvalidEnvironmentVariableNames warnings: envFrom keys skipped.
    skipped: list[str] = field(default_factory=list)


_ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
_ENV_FROM_SOURCES = ("configMapRef", "secretRef")


def container_env(pod: Mapping[str, Any], container: Mapping[str, Any], *,
                  objects: Mapping[ObjectRef, Fetched], services: Mapping[str, str],
                  ctx: FieldContext) -> ContainerEnv:
    """Raises ConfigError with kube's message when a required object or key is missing, or
    a source is one this kubelet does not know."""
    namespace = (pod.get("metadata") or {}).get("namespace", "default")
    env: dict[str, str] = {}
    skipped: list[str] = []
    for source in container.get("envFrom") or []:
        skipped += _env_from(source, namespace, objects, env)
    lookup = lookup_in(env, services)
    for var in container.get("env") or []:
        name = str(var.get("name") or "")
        value = str(var.get("value") or "")
        if value:
            value = expand(value, lookup)
        elif var.get("valueFrom"):
            resolved = _value_from(pod, container, var["valueFrom"], name, namespace, objects,
                                   ctx)
            if resolved is None:
                continue  # optional and missing: no variable at all
            value = resolved
        env[name] = value
    for name, value in services.items():
        env.setdefault(name, value)
    return ContainerEnv(env, skipped)


def _env_from(source: Mapping[str, Any], namespace: str, objects: Mapping[ObjectRef, Fetched],
              env: dict[str, str]) -> list[str]:
    prefix = str(source.get("prefix") or "")
    unknown = [k for k in source if k not in (*_ENV_FROM_SOURCES, "prefix")]
    if unknown or not any(source.get(k) for k in _ENV_FROM_SOURCES):
        raise ConfigError(f"envFrom source {', '.join(unknown) or '(empty)'} is not supported "
                          "by this kubelet")
    if source.get("configMapRef"):
        ref_spec = source["configMapRef"]
        ref = ObjectRef(CONFIGMAP, str(ref_spec.get("name") or ""))
        cm = require(ref, objects.get(ref), optional=bool(ref_spec.get("optional")))
        # Only data: binaryData is for volumes.
        values = {k: str(v) for k, v in ((cm or {}).get("data") or {}).items()}
        what = "configMap"
    else:
        ref_spec = source["secretRef"]
        ref = ObjectRef(SECRET, str(ref_spec.get("name") or ""))
        secret = require(ref, objects.get(ref), optional=bool(ref_spec.get("optional")))
        values = {k: _text(v) for k, v in secret_items(secret or {})}
        what = "secret"
    invalid = []
    for key, value in values.items():
        if not is_env_var_name(prefix + key):
            invalid.append(prefix + key)
            continue
        env[prefix + key] = value
    if not invalid:
        return []
    return [f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {what} {namespace}/{ref.name} "
            "were skipped since they are considered invalid environment variable names."]


def _value_from(pod: Mapping[str, Any], container: Mapping[str, Any],
                value_from: Mapping[str, Any], name: str, namespace: str,
                objects: Mapping[ObjectRef, Fetched], ctx: FieldContext) -> str | None:
    known = [k for k in _ENV_SOURCES if value_from.get(k)]
    if not known or any(k not in _ENV_SOURCES for k in value_from):
        other = [k for k in value_from if k not in _ENV_SOURCES] or ["(empty)"]
        raise ConfigError(f"env {name}: valueFrom.{', '.join(other)} is not supported by this "
                          "kubelet")
    if value_from.get("fieldRef"):
        return env_field_value(pod, value_from["fieldRef"], ctx)
    if value_from.get("resourceFieldRef"):
        return resource_value(pod, container, value_from["resourceFieldRef"], ctx.allocatable)
    if value_from.get("configMapKeyRef"):
        sel = value_from["configMapKeyRef"]
        ref = ObjectRef(CONFIGMAP, str(sel.get("name") or ""))
        optional = bool(sel.get("optional"))
        cm = require(ref, objects.get(ref), optional=optional)
        if cm is None:
            return None
        key = str(sel.get("key") or "")
        data = cm.get("data") or {}
        if key not in data:
            if optional:
                return None
            raise ConfigError(f"couldn't find key {key} in ConfigMap {namespace}/{ref.name}")
        return str(data[key])
    sel = value_from["secretKeyRef"]
    ref = ObjectRef(SECRET, str(sel.get("name") or ""))
    optional = bool(sel.get("optional"))
    secret = require(ref, objects.get(ref), optional=optional)
    if secret is None:
        return None
    key = str(sel.get("key") or "")
    raw = secret_bytes(secret, key)
    if raw is None:
        if optional:
            return None
        raise ConfigError(f"couldn't find key {key} in Secret {namespace}/{ref.name}")
    return _text(raw)


def _text(raw: bytes) -> str:
    # Go hands the runtime the bytes as they are; the CRI's protobuf strings must be UTF-8.
    return raw.decode("utf-8", errors="replace")
