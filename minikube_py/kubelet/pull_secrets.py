"""The registry credentials a pod's imagePullSecrets give for one image (kube's
credentialprovider keyring, for .dockerconfigjson and .dockercfg Secrets): the entries whose
registry (host and path prefix) the image is under, most specific first. Pure."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cri_api.v1 import api_pb2 as cri

from minikube_py.kubelet.pod_objects import secret_bytes

DOCKER_CONFIG_JSON = ("kubernetes.io/dockerconfigjson", ".dockerconfigjson")
DOCKER_CFG = ("kubernetes.io/dockercfg", ".dockercfg")
DEFAULT_REGISTRY = "docker.io"
_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")


def _registry_entries(secret: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    kind = secret.get("type")
    if kind == DOCKER_CONFIG_JSON[0]:
        raw = secret_bytes(secret, DOCKER_CONFIG_JSON[1])
        parsed = _json(raw)
        entries = parsed.get("auths") if isinstance(parsed, dict) else None
    elif kind == DOCKER_CFG[0]:
        entries = _json(secret_bytes(secret, DOCKER_CFG[1]))
    else:
        return {}
    if not isinstance(entries, dict):
        return {}
    return {str(k): v for k, v in entries.items() if isinstance(v, dict)}


def _json(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def normalize_registry(key: str) -> str:
    """`https://index.docker.io/v1/` -> `docker.io`; `host:5000/path/` -> `host:5000/path`."""
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme):]
    key = key.rstrip("/")
    host, _, path = key.partition("/")
    if host in _DOCKER_HUB_ALIASES:
        host = DEFAULT_REGISTRY
        path = "" if path in ("v1", "v2") else path
    return f"{host}/{path}" if path else host


def image_location(image: str) -> str:
    """The image's registry host and repository path (docker.io/library/x for `x`)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)
    if ":" in last[-1]:
        name = name.rsplit(":", 1)[0]
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        rest = name if rest else f"library/{name}"
        first = DEFAULT_REGISTRY
    return normalize_registry(f"{first}/{rest}")


def _matches(registry: str, location: str) -> bool:
    return location == registry or location.startswith(registry + "/")


def _auth_config(entry: Mapping[str, Any]) -> cri.AuthConfig:
    username = str(entry.get("username") or "")
    password = str(entry.get("password") or "")
    if entry.get("auth") and not username:
        try:
            username, _, password = base64.b64decode(str(entry["auth"])).decode().partition(":")
        except (binascii.Error, ValueError):
            pass
    return cri.AuthConfig(username=username, password=password,
                          identity_token=str(entry.get("identitytoken") or ""),
                          registry_token=str(entry.get("registrytoken") or ""))


def pull_auths(image: str, secrets: Iterable[Mapping[str, Any]]) -> list[cri.AuthConfig]:
    """The credentials to try for `image`, the longest matching registry first."""
    location = image_location(image)
    found: list[tuple[int, int, cri.AuthConfig]] = []
    for order, secret in enumerate(secrets):
        for key, entry in _registry_entries(secret).items():
            registry = normalize_registry(key)
            if _matches(registry, location):
                found.append((-len(registry), order, _auth_config(entry)))
    found.sort(key=lambda f: (f[0], f[1]))
    return [auth for _, _, auth in found]
