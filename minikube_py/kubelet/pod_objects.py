"""The ConfigMaps and Secrets a pod reads from the API (env sources, volumes, pull secrets):
which ones it names, what a read found, and the error a missing one is (kube's words). The
kubelet reads them with its own node credentials, one GET each, so the Node authorizer sees
exactly the objects its pods reference."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    CONFIGMAPS,
    PERSISTENTVOLUMECLAIMS,
    PERSISTENTVOLUMES,
    SECRETS,
)
from minikube_py.client.interface import ApiClient

CONFIGMAP = "configmap"
SECRET = "secret"
_RESOURCES = {CONFIGMAP: CONFIGMAPS, SECRET: SECRETS}


class ConfigError(Exception):
    """What a container cannot be given (a missing ConfigMap, key, unsupported field...): it
    is not started, and waits with CreateContainerConfigError and this message."""


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    kind: str  # CONFIGMAP | SECRET
    name: str


@dataclass(frozen=True, slots=True)
class Fetched:
    """One read: the object, or why there is none (`missing`: the API said 404)."""

    obj: Mapping[str, Any] | None = None
    missing: bool = False
    error: str = ""


def not_found_message(ref: ObjectRef) -> str:
    # The kubelet's object managers name the kind in the singular: `configmap "x" not found`.
    return f'{ref.kind} "{ref.name}" not found'


def require(ref: ObjectRef, fetched: Fetched | None, *, optional: bool) -> Mapping[str, Any] | None:
    """The object, or None when it is missing and optional; raises ConfigError otherwise (any
    other failure, a 403 say, fails the container even when the reference is optional)."""
    if fetched is not None and fetched.obj is not None:
        return fetched.obj
    if fetched is None or fetched.missing:
        if optional:
            return None
        raise ConfigError(not_found_message(ref))
    raise ConfigError(fetched.error)


def secret_bytes(secret: Mapping[str, Any], key: str) -> bytes | None:
    """A Secret's value for `key` (data is base64 on the wire), None when it has no such key."""
    encoded = (secret.get("data") or {}).get(key)
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f'secret "{secret_name(secret)}": the value of key {key} is not '
                          "base64") from None


def secret_name(secret: Mapping[str, Any]) -> str:
    return str((secret.get("metadata") or {}).get("name", ""))


def secret_items(secret: Mapping[str, Any]) -> Iterator[tuple[str, bytes]]:
    for key in (secret.get("data") or {}):
        value = secret_bytes(secret, key)
        if value is not None:
            yield key, value


# --- which objects a pod names --------------------------------------------------------------

def container_refs(container: Mapping[str, Any]) -> set[ObjectRef]:
    refs: set[ObjectRef] = set()
    for source in container.get("envFrom") or []:
        if (source.get("configMapRef") or {}).get("name"):
            refs.add(ObjectRef(CONFIGMAP, source["configMapRef"]["name"]))
        if (source.get("secretRef") or {}).get("name"):
            refs.add(ObjectRef(SECRET, source["secretRef"]["name"]))
    for env in container.get("env") or []:
        value_from = env.get("valueFrom") or {}
        if (value_from.get("configMapKeyRef") or {}).get("name"):
            refs.add(ObjectRef(CONFIGMAP, value_from["configMapKeyRef"]["name"]))
        if (value_from.get("secretKeyRef") or {}).get("name"):
            refs.add(ObjectRef(SECRET, value_from["secretKeyRef"]["name"]))
    return refs


def volume_refs(volume: Mapping[str, Any]) -> set[ObjectRef]:
    refs: set[ObjectRef] = set()
    if (volume.get("configMap") or {}).get("name"):
        refs.add(ObjectRef(CONFIGMAP, volume["configMap"]["name"]))
    if (volume.get("secret") or {}).get("secretName"):
        refs.add(ObjectRef(SECRET, volume["secret"]["secretName"]))
    for source in (volume.get("projected") or {}).get("sources") or []:
        if (source.get("configMap") or {}).get("name"):
            refs.add(ObjectRef(CONFIGMAP, source["configMap"]["name"]))
        if (source.get("secret") or {}).get("name"):
            refs.add(ObjectRef(SECRET, source["secret"]["name"]))
    return refs


def pull_secret_refs(spec: Mapping[str, Any]) -> list[ObjectRef]:
    # Entries with no name pass API validation (kube ignores them too).
    return [ObjectRef(SECRET, s["name"]) for s in spec.get("imagePullSecrets") or []
            if isinstance(s, Mapping) and s.get("name")]


# --- reading them (the thin async shell) ------------------------------------------------------

class ObjectReader:
    """Reads each object a sync needs once (a ConfigMap named by two containers and a volume
    is one GET), always from the API: what a container or volume gets is what is there now."""

    def __init__(self, client: ApiClient, namespace: str) -> None:
        self._client = client
        self._namespace = namespace
        self._read: dict[ObjectRef, Fetched] = {}

    @property
    def client(self) -> ApiClient:
        return self._client

    async def read(self, refs: set[ObjectRef] | list[ObjectRef]) -> dict[ObjectRef, Fetched]:
        for ref in sorted(set(refs)):
            if ref not in self._read:
                self._read[ref] = await self._get(ref)
        return {ref: self._read[ref] for ref in refs}

    async def _get(self, ref: ObjectRef) -> Fetched:
        try:
            obj = await self._client.get(_RESOURCES[ref.kind], ref.name, namespace=self._namespace)
        except ApiError as e:
            if e.code == 404:
                return Fetched(missing=True, error=not_found_message(ref))
            return Fetched(error=e.message)
        return Fetched(obj)


# The sources of a PersistentVolume this kubelet mounts: a directory of this node.
MOUNTABLE_PV_SOURCES = ("hostPath", "local")


@dataclass(frozen=True, slots=True)
class ClaimedVolume:
    """Where a persistentVolumeClaim volume is on this node, and how to check it."""

    volume: str  # the PersistentVolume's name
    path: str
    path_type: str  # a hostPath type ("" for none; a local volume's path must be a directory)


def claimed_volume(claim_key: str, claim: Mapping[str, Any] | None,
                   volume: Mapping[str, Any] | None) -> ClaimedVolume:
    """The directory a claim's volume gives this node, or the error in kube's words (a claim
    not bound yet, a volume of a kind this kubelet cannot mount). Pure."""
    if claim is None:
        raise ConfigError(f"error processing PVC {claim_key}: failed to fetch PVC from API "
                          f'server: persistentvolumeclaims "{claim_key.partition("/")[2]}" '
                          "not found")
    spec = claim.get("spec") or {}
    phase = (claim.get("status") or {}).get("phase") or ""
    name = spec.get("volumeName") or ""
    if phase != "Bound" or not name:
        raise ConfigError(f"error processing PVC {claim_key}: PVC {claim_key} has non-bound "
                          f'phase ("{phase}") or empty pvc.Spec.VolumeName ("{name}")')
    if volume is None:
        raise ConfigError(f"error processing PVC {claim_key}: failed to fetch PV {name} from "
                          f'API server: persistentvolumes "{name}" not found')
    vspec = volume.get("spec") or {}
    if (vspec.get("volumeMode") or "Filesystem") != "Filesystem":
        raise ConfigError(f"volume {name} of PVC {claim_key} has volumeMode "
                          f"{vspec.get('volumeMode')}: block volumes are not supported by "
                          "this kubelet")
    for kind in MOUNTABLE_PV_SOURCES:
        source = vspec.get(kind)
        if source:
            path_type = str(source.get("type") or "") if kind == "hostPath" else "Directory"
            return ClaimedVolume(name, str(source.get("path") or ""), path_type)
    kinds = [k for k in vspec if k not in _PV_FIELDS] or ["none"]
    raise ConfigError(f"volume {name} of PVC {claim_key}: {kinds[0]} volumes are not "
                      f"supported by this kubelet (supported: {', '.join(MOUNTABLE_PV_SOURCES)})")


# PersistentVolumeSpec fields that are not a volume source.
_PV_FIELDS = frozenset({
    "capacity", "accessModes", "claimRef", "persistentVolumeReclaimPolicy", "storageClassName",
    "mountOptions", "volumeMode", "nodeAffinity", "volumeAttributesClassName"})


async def read_claimed_volume(client: ApiClient, namespace: str,
                              claim_name: str) -> ClaimedVolume:
    """The claim and its volume, read now with the node's credentials (the Node authorizer
    lets a node read the claims of its pods and their volumes)."""
    key = f"{namespace}/{claim_name}"
    try:
        claim = await client.get(PERSISTENTVOLUMECLAIMS, claim_name, namespace=namespace)
    except ApiError as e:
        if e.code != 404:
            raise ConfigError(f"error processing PVC {key}: {e.message}") from e
        return claimed_volume(key, None, None)
    volume = None
    name = (claim.get("spec") or {}).get("volumeName")
    if name and (claim.get("status") or {}).get("phase") == "Bound":
        try:
            volume = await client.get(PERSISTENTVOLUMES, name)
        except ApiError as e:
            if e.code != 404:
                raise ConfigError(f"error processing PVC {key}: {e.message}") from e
    return claimed_volume(key, claim, volume)
