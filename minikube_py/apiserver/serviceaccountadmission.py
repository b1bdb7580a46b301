"""The ServiceAccount admission plugin (kube's plugin/pkg/admission/serviceaccount): a new
pod runs as a ServiceAccount that exists (`default` unless it names one), and unless either
says `automountServiceAccountToken: false` it gets the projected `kube-api-access-*` volume
(a bound token, the cluster CA, its namespace) mounted read-only at
/var/run/secrets/kubernetes.io/serviceaccount in every container and init container.

What a pod becomes is pure (`admit_pod`); the plugin only finds the ServiceAccount."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, Final

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PODS, SERVICEACCOUNTS
from minikube_py.apiserver.admissionapi import Attributes, Operation
from minikube_py.apiserver.objectstore import ObjectStore
from minikube_py.apiserver.storage import decode_kv

Obj = dict[str, Any]
DEFAULT_SERVICE_ACCOUNT: Final = "default"
TOKEN_MOUNT_PATH: Final = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_VOLUME_PREFIX: Final = "kube-api-access-"
ROOT_CA_CONFIGMAP: Final = "kube-root-ca.crt"
# kube's WarnOnlyBoundTokenExpirationSeconds: an hour and 7 s, so a token that old is
# recognised as one the kubelet should have refreshed.
TOKEN_EXPIRATION_SECONDS: Final = 3607
MIRROR_POD_ANNOTATION: Final = "kubernetes.io/config.mirror"
_NAME_CHARS: Final = "bcdfghjklmnpqrstvwxz2456789"
# The default account is made by a controller just after its namespace: look a few times
# before refusing a pod for lacking it (kube: 10 attempts, 100-200 ms apart).
DEFAULT_ACCOUNT_ATTEMPTS: Final = 10


def token_volume(name: str) -> Obj:
    """kube's TokenVolumeSource, in the field order kube serializes it."""
    return {"name": name, "projected": {
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                                     "path": "token"}},
            {"configMap": {"name": ROOT_CA_CONFIGMAP,
                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ],
        # Explicit, as kube's (kubernetes#104464): admission runs after defaulting.
        "defaultMode": 420,
    }}


def should_automount(spec: Obj, account: Obj) -> bool:
    """The pod's automountServiceAccountToken wins, then the account's; else true."""
    for owner in (spec, account):
        choice = owner.get("automountServiceAccountToken")
        if choice is not None:
            return bool(choice)
    return True


def mount_token(spec: Obj, new_volume_name: str) -> None:
    """kube's mountServiceAccountToken: reuse a `kube-api-access-*` volume the pod has, or
    add one named `new_volume_name` if some container needs it; every container and init
    container not already mounting something at the token path gets a read-only mount."""
    volumes = spec.get("volumes") or []
    existing = next((v["name"] for v in volumes
                     if isinstance(v, dict) and str(v.get("name", "")).startswith(
                         TOKEN_VOLUME_PREFIX)), None)
    name = existing or new_volume_name
    needed = False
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            if not isinstance(container, dict):
                continue  # validation refuses it
            mounts = container.get("volumeMounts") or []
            if any(isinstance(m, dict) and m.get("mountPath") == TOKEN_MOUNT_PATH
                   for m in mounts):
                continue
            container["volumeMounts"] = [*mounts, {"name": name, "readOnly": True,
                                                   "mountPath": TOKEN_MOUNT_PATH}]
            needed = True
    if needed and existing is None:
        spec["volumes"] = [*volumes, token_volume(name)]


def admit_pod(spec: Obj, account: Obj, new_volume_name: str) -> None:
    """What the plugin does to a new pod whose ServiceAccount is `account`."""
    spec["serviceAccountName"] = spec.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT
    if should_automount(spec, account):
        mount_token(spec, new_volume_name)
    pull_secrets = [{"name": s.get("name", "")} for s in account.get("imagePullSecrets") or []
                    if isinstance(s, dict)]
    if not spec.get("imagePullSecrets") and pull_secrets:
        spec["imagePullSecrets"] = pull_secrets


def account_missing(namespace: str, account: str, pod: str) -> ApiError:
    """kube's refusal of a pod whose ServiceAccount does not exist."""
    why = (f"error looking up service account {namespace}/{account}: "
           f'serviceaccount "{account}" not found')
    return ApiError(403, "Forbidden", f'pods "{pod}" is forbidden: {why}',
                    {"name": pod, "kind": "pods"})


class ServiceAccountAdmission:
    """Mutating admission of new pods. `rng` names the token volume; `sleep` paces the
    look-ups for a `default` account its controller has not made yet."""

    def __init__(self, objects: ObjectStore, *, rng: random.Random,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._objects = objects
        self._rng = rng
        self._sleep = sleep

    async def admit(self, attrs: Attributes) -> None:
        if attrs.operation is not Operation.CREATE or attrs.strategy.resource is not PODS or \
                attrs.subresource is not None:
            return
        assert attrs.obj is not None
        meta = attrs.obj.get("metadata") or {}
        # The kubelet deletes a mirror pod whose spec differs from its static pod's.
        if MIRROR_POD_ANNOTATION in (meta.get("annotations") or {}):
            return
        spec = attrs.obj.setdefault("spec", {})
        namespace = attrs.namespace or ""
        name = spec.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT
        account = await self._find_account(namespace, name)
        if account is None:
            raise account_missing(namespace, name,
                                  attrs.name or meta.get("generateName") or "Unknown")
        suffix = "".join(self._rng.choice(_NAME_CHARS) for _ in range(5))
        admit_pod(spec, account, TOKEN_VOLUME_PREFIX + suffix)

    async def _find_account(self, namespace: str, name: str) -> Obj | None:
        attempts = DEFAULT_ACCOUNT_ATTEMPTS if name == DEFAULT_SERVICE_ACCOUNT else 1
        interval = self._rng.uniform(0.1, 0.2)
        for attempt in range(attempts):
            if attempt:
                await self._sleep(interval)
            found = await self._objects.read(SERVICEACCOUNTS, namespace, name)
            if found is not None:
                return decode_kv(found)
        return None
