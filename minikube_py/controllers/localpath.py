"""The built-in local-path provisioner (what k3s's local-path-provisioner and minikube's
storage-provisioner do): a claim of a class whose provisioner is LOCAL_PATH_PROVISIONER gets
a directory of its own on the node the scheduler picked for it, made by a helper pod on that
node, and a hostPath PersistentVolume pinned to the node and pre-bound to the claim (the
binder finishes the binding). A Released volume with reclaim policy Delete is removed by a
helper pod, then deleted. Everything goes through the API: the provisioner never touches a
node's disk itself, so it works for every node of the cluster.

The decisions are pure (`provision_step`, `delete_step`); the controller reads its caches,
asks them, and does what they say.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minikube_py.api.clusternetwork import NAMESPACE as SYSTEM_NAMESPACE
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    NODES,
    PERSISTENTVOLUMECLAIMS,
    PERSISTENTVOLUMES,
    PODS,
    STORAGECLASSES,
)
from minikube_py.api.storage import (
    HELPER_IMAGE,
    LOCAL_PATH_DIR_ANNOTATION,
    LOCAL_PATH_HELPER_LABEL,
    LOCAL_PATH_NODE_ANNOTATION,
    LOCAL_PATH_PROVISIONER,
    LOCAL_PATH_VOLUME_LABEL,
    PROVISIONED_BY_ANNOTATION,
    SELECTED_NODE_ANNOTATION,
    STORAGE_PROVISIONER_ANNOTATION,
)
from minikube_py.api.volumes import claim_key, class_of
from minikube_py.client.events import WARNING
from minikube_py.controllers.base import ControllerContext, Obj, ReconcileLoop
from minikube_py.controllers.volumebinding import CLAIM, VOLUME, sync_storage_key

log = logging.getLogger("minikube_py.controllers.localpath")

SUPPORTED_ACCESS_MODES = ("ReadWriteOnce", "ReadWriteOncePod")
HOSTNAME_LABEL = "kubernetes.io/hostname"
HELPER_MOUNT = "/data"
# A failed helper is tried again after this long (its pod is deleted first).
RETRY_SECONDS = 10.0



def volume_name(claim: Mapping[str, Any]) -> str:
    """pvc-<claim uid>, as kube's provisioners name their volumes."""
    return f"pvc-{claim['metadata']['uid']}"


def helper_name(action: str, volume: str) -> str:
    return f"helper-{action}-{volume}"


# --- decisions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Wait:
    """Nothing to do until something changes (a helper pod finishes, a node is picked)."""


@dataclass(frozen=True, slots=True)
class Refuse:
    """The claim cannot be provisioned as asked: say why on it, and do nothing."""

    message: str


@dataclass(frozen=True, slots=True)
class RunHelper:
    pod: Obj


@dataclass(frozen=True, slots=True)
class CreateVolume:
    volume: Obj
    helper: str  # the finished helper pod to remove after


@dataclass(frozen=True, slots=True)
class HelperFailed:
    helper: str
    message: str


@dataclass(frozen=True, slots=True)
class DeleteVolume:
    helper: str | None  # the finished helper pod to remove after (None: none was needed)


@dataclass(frozen=True, slots=True)
class FailVolume:
    helper: str
    message: str


Step = Wait | Refuse | RunHelper | CreateVolume | HelperFailed | DeleteVolume | FailVolume


def claim_refusal(claim: Mapping[str, Any], storage_class: Mapping[str, Any]) -> str | None:
    """What about the claim the provisioner cannot give (kube's provisioners refuse it
    with a ProvisioningFailed event rather than hand over something else)."""
    spec = claim.get("spec") or {}
    cls = storage_class["metadata"]["name"]
    modes = [m for m in spec.get("accessModes") or [] if m not in SUPPORTED_ACCESS_MODES]
    if modes:
        return (f'failed to provision volume with StorageClass "{cls}": the local-path '
                f"provisioner gives one node's directory, so access modes {', '.join(modes)} "
                f"are not supported (supported: {', '.join(SUPPORTED_ACCESS_MODES)})")
    if (spec.get("volumeMode") or "Filesystem") != "Filesystem":
        return (f'failed to provision volume with StorageClass "{cls}": volumeMode '
                f"{spec.get('volumeMode')} is not supported (local-path volumes are "
                "directories: Filesystem only)")
    if spec.get("selector"):
        return (f'failed to provision volume with StorageClass "{cls}": claim Selector is '
                "not supported")
    if spec.get("dataSource") or spec.get("dataSourceRef"):
        return (f'failed to provision volume with StorageClass "{cls}": volume data sources '
                "(snapshots, clones, populators) are not supported by the local-path "
                "provisioner")
    return None


def wants_us(claim: Mapping[str, Any], classes: Mapping[str, Obj]) -> Obj | None:
    """The claim's class when the claim is ours to provision now: unbound, not being
    deleted, handed to us by the binder, of a class that names us."""
    meta = claim.get("metadata") or {}
    if meta.get("deletionTimestamp") or (claim.get("spec") or {}).get("volumeName"):
        return None
    if (meta.get("annotations") or {}).get(STORAGE_PROVISIONER_ANNOTATION) != (
            LOCAL_PATH_PROVISIONER):
        return None
    storage_class = classes.get(class_of(claim))
    if storage_class is None or storage_class.get("provisioner") != LOCAL_PATH_PROVISIONER:
        return None
    return storage_class


def helper_pod(action: str, volume: str, node: str, base_dir: str) -> Obj:
    """A pod on `node` that makes (mode 0777, so that containers running as any user can
    write, as k3s's does) or removes the volume's directory under the node's base dir."""
    script = ('mkdir -m 0777 -p "$VOL_DIR/$VOL"' if action == "create"
              else 'rm -rf "${VOL_DIR:?}/${VOL:?}"')
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": helper_name(action, volume), "namespace": SYSTEM_NAMESPACE,
                     "labels": {LOCAL_PATH_HELPER_LABEL: action,
                                LOCAL_PATH_VOLUME_LABEL: volume}},
        "spec": {
            "nodeName": node, "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "tolerations": [{"operator": "Exists"}],
            "terminationGracePeriodSeconds": 0,
            "containers": [{
                "name": "helper", "image": HELPER_IMAGE, "imagePullPolicy": "IfNotPresent",
                "command": ["sh", "-c", script],
                "env": [{"name": "VOL_DIR", "value": HELPER_MOUNT},
                        {"name": "VOL", "value": volume}],
                "volumeMounts": [{"name": "data", "mountPath": HELPER_MOUNT}],
            }],
            "volumes": [{"name": "data",
                         "hostPath": {"path": base_dir, "type": "DirectoryOrCreate"}}],
        },
    }


def provisioned_volume(claim: Mapping[str, Any], storage_class: Mapping[str, Any],
                       node: Mapping[str, Any], base_dir: str) -> Obj:
    """The PersistentVolume for the claim: its directory on the node, pinned there by node
    affinity, pre-bound to the claim by uid, with the class's reclaim policy."""
    meta = claim["metadata"]
    spec = claim.get("spec") or {}
    name = volume_name(claim)
    node_name = node["metadata"]["name"]
    hostname = (node["metadata"].get("labels") or {}).get(HOSTNAME_LABEL, node_name)
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {
            PROVISIONED_BY_ANNOTATION: LOCAL_PATH_PROVISIONER,
            LOCAL_PATH_NODE_ANNOTATION: node_name}},
        "spec": {
            "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {})
                         .get("storage", "0")},
            "accessModes": list(spec.get("accessModes") or []),
            "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy") or "Delete",
            "storageClassName": class_of(claim),
            "volumeMode": "Filesystem",
            "hostPath": {"path": f"{base_dir.rstrip('/')}/{name}", "type": "DirectoryOrCreate"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME_LABEL, "operator": "In", "values": [hostname]}]}]}},
            "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
                         "namespace": meta["namespace"], "name": meta["name"],
                         "uid": meta["uid"], "resourceVersion": meta.get("resourceVersion", "")},
        },
    }


def _helper_outcome(pod: Mapping[str, Any]) -> tuple[str, str]:
    """(phase, why it failed) of a helper pod."""
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    why = status.get("message") or ""
    for cs in status.get("containerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated") or {}
        if term:
            why = why or (f"exit code {term.get('exitCode')}"
                          + (f": {term['message']}" if term.get("message") else ""))
    return phase, why or phase


def base_dir_of(node: Mapping[str, Any]) -> str | None:
    return ((node.get("metadata") or {}).get("annotations") or {}).get(LOCAL_PATH_DIR_ANNOTATION)


def provision_step(claim: Mapping[str, Any], storage_class: Mapping[str, Any],
                   nodes: Mapping[str, Obj], volumes: Mapping[str, Obj],
                   helpers: Mapping[str, Obj]) -> Step:
    """The next step of provisioning a claim that is ours (see `wants_us`)."""
    name = volume_name(claim)
    if name in volumes:
        return Wait()  # made already; the binder binds it
    refusal = claim_refusal(claim, storage_class)
    if refusal:
        return Refuse(refusal)
    selected = ((claim["metadata"].get("annotations") or {}).get(SELECTED_NODE_ANNOTATION))
    cls = storage_class["metadata"]["name"]
    if not selected:
        if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer":
            return Wait()
        return Refuse(f'failed to provision volume with StorageClass "{cls}": the local-path '
                      "provisioner needs the node the claim's first pod runs on: use "
                      "volumeBindingMode WaitForFirstConsumer (as the default class does)")
    node = nodes.get(selected)
    if node is None:
        return Refuse(f'failed to provision volume with StorageClass "{cls}": node '
                      f'"{selected}" not found')
    base = base_dir_of(node)
    if not base:
        return Refuse(f'failed to provision volume with StorageClass "{cls}": node '
                      f'"{selected}" does not publish a local-path directory (annotation '
                      f"{LOCAL_PATH_DIR_ANNOTATION}); is its kubelet minikube-py's?")
    helper = helpers.get(helper_name("create", name))
    if helper is None:
        return RunHelper(helper_pod("create", name, selected, base))
    phase, why = _helper_outcome(helper)
    if phase == "Succeeded":
        return CreateVolume(provisioned_volume(claim, storage_class, node, base),
                            helper["metadata"]["name"])
    if phase == "Failed":
        return HelperFailed(helper["metadata"]["name"],
                            f'failed to provision volume with StorageClass "{cls}": the helper '
                            f"pod on node {selected} failed: {why}")
    return Wait()


def wants_deleting(volume: Mapping[str, Any]) -> bool:
    """Ours, Released, reclaim policy Delete, not already going."""
    meta = volume.get("metadata") or {}
    return ((meta.get("annotations") or {}).get(PROVISIONED_BY_ANNOTATION)
            == LOCAL_PATH_PROVISIONER
            and not meta.get("deletionTimestamp")
            and (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete"
            and (volume.get("status") or {}).get("phase") == "Released")


def delete_step(volume: Mapping[str, Any], nodes: Mapping[str, Obj],
                helpers: Mapping[str, Obj]) -> Step:
    """The next step of deleting a Released volume of ours (see `wants_deleting`)."""
    name = volume["metadata"]["name"]
    node_name = (volume["metadata"].get("annotations") or {}).get(LOCAL_PATH_NODE_ANNOTATION, "")
    node = nodes.get(node_name)
    path = ((volume.get("spec") or {}).get("hostPath") or {}).get("path", "")
    if node is None or not path:
        return DeleteVolume(None)  # the node is gone, and its directory with it
    helper = helpers.get(helper_name("delete", name))
    if helper is None:
        base, _, leaf = path.rstrip("/").rpartition("/")
        if leaf != name:
            return FailVolume("", f"volume {name}'s path {path} is not one this provisioner "
                                  "made; not removing it")
        return RunHelper(helper_pod("delete", name, node_name, base))
    phase, why = _helper_outcome(helper)
    if phase == "Succeeded":
        return DeleteVolume(helper["metadata"]["name"])
    if phase == "Failed":
        return FailVolume(helper["metadata"]["name"],
                          f"the helper pod removing volume {name} on node {node_name} "
                          f"failed: {why}")
    return Wait()


# --- the controller ---------------------------------------------------------------------


class LocalPathProvisioner:
    name = "local-path-provisioner"

    def __init__(self, ctx: ControllerContext, *, workers: int = 2) -> None:
        self.ctx = ctx
        self.claims = ctx.informers.informer(PERSISTENTVOLUMECLAIMS)
        self.volumes = ctx.informers.informer(PERSISTENTVOLUMES)
        self.classes = ctx.informers.informer(STORAGECLASSES)
        self.nodes = ctx.informers.informer(NODES)
        self.helpers = ctx.informers.informer(PODS, namespace=SYSTEM_NAMESPACE,
                                              label_selector=LOCAL_PATH_HELPER_LABEL)
        self.recorder = ctx.recorder(LOCAL_PATH_PROVISIONER)
        self.loop = ReconcileLoop(self, ctx, workers=workers)
        self.claims.add_handlers(on_add=self._claim, on_update=lambda _o, n: self._claim(n))
        self.volumes.add_handlers(on_add=self._volume, on_update=lambda _o, n: self._volume(n))
        self.helpers.add_handlers(on_add=self._helper, on_update=lambda _o, n: self._helper(n))
        self.nodes.add_handlers(on_update=self._node_updated)

    async def run(self) -> None:
        await self.loop.run()

    def _claim(self, claim: Obj) -> None:
        self.loop.enqueue_key(CLAIM + claim_key(claim))

    def _volume(self, volume: Obj) -> None:
        if wants_deleting(volume):
            self.loop.enqueue_key(VOLUME + volume["metadata"]["name"])

    def _helper(self, pod: Obj) -> None:
        labels = pod["metadata"].get("labels") or {}
        volume = labels.get(LOCAL_PATH_VOLUME_LABEL, "")
        if labels.get(LOCAL_PATH_HELPER_LABEL) == "delete":
            self.loop.enqueue_key(VOLUME + volume)
            return
        for claim in self.claims.list():
            if volume == f"pvc-{claim['metadata'].get('uid')}":
                self._claim(claim)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if base_dir_of(old) != base_dir_of(new):  # a kubelet published its directory
            for claim in self.claims.list():
                self._claim(claim)

    def _helper_map(self) -> dict[str, Obj]:
        return {p["metadata"]["name"]: p for p in self.helpers.list()}

    async def sync(self, key: str) -> None:
        await sync_storage_key(key, self._sync_claim, self._sync_volume)

    async def _sync_claim(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None:
            return
        storage_class = wants_us(claim, self.classes.view())
        if storage_class is None:
            return
        step = provision_step(claim, storage_class, self.nodes.view(), self.volumes.view(),
                              self._helper_map())
        if isinstance(step, Refuse):
            self.recorder.record(claim, WARNING, "ProvisioningFailed", step.message)
        elif isinstance(step, RunHelper):
            self.recorder.record(claim, "Normal", "Provisioning",
                                 f'External provisioner is provisioning volume for claim '
                                 f'"{key}"')
            await self._create_helper(step.pod)
        elif isinstance(step, CreateVolume):
            try:
                await self.ctx.client.create(PERSISTENTVOLUMES, step.volume)
            except ApiError as e:
                if e.code != 409:
                    raise
            self.recorder.record(claim, "Normal", "ProvisioningSucceeded",
                                 f"Successfully provisioned volume "
                                 f"{step.volume['metadata']['name']}")
            await self._delete_helper(step.helper)
        elif isinstance(step, HelperFailed):
            self.recorder.record(claim, WARNING, "ProvisioningFailed", step.message)
            await self._delete_helper(step.helper)
            self.loop.enqueue_after(CLAIM + key, RETRY_SECONDS)

    async def _sync_volume(self, name: str) -> None:
        volume = self.volumes.get(name)
        if volume is None or not wants_deleting(volume):
            return
        step = delete_step(volume, self.nodes.view(), self._helper_map())
        if isinstance(step, RunHelper):
            await self._create_helper(step.pod)
        elif isinstance(step, DeleteVolume):
            try:
                await self.ctx.client.delete(PERSISTENTVOLUMES, name,
                                             preconditions={"uid": volume["metadata"]["uid"]})
            except ApiError as e:
                if e.code not in (404, 409):
                    raise
            log.info("deleted volume %s and its directory", name)
            if step.helper:
                await self._delete_helper(step.helper)
        elif isinstance(step, FailVolume):
            status = {**(volume.get("status") or {}), "phase": "Failed", "message": step.message}
            await self.ctx.client.update(PERSISTENTVOLUMES, {**volume, "status": status},
                                         subresource="status")
            self.recorder.record(volume, WARNING, "VolumeFailedDelete", step.message)
            if step.helper:
                await self._delete_helper(step.helper)

    async def _create_helper(self, pod: Obj) -> None:
        try:
            await self.ctx.client.create(PODS, pod, namespace=SYSTEM_NAMESPACE)
        except ApiError as e:
            if e.code != 409:
                raise

    async def _delete_helper(self, name: str) -> None:
        try:
            await self.ctx.client.delete(PODS, name, namespace=SYSTEM_NAMESPACE,
                                         grace_period_seconds=0)
        except ApiError as e:
            if e.code != 404:
                raise
