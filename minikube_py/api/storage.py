"""Names shared by the storage kinds, their admission and the storage controllers: the
built-in local-path provisioner, kube's PV/PVC annotations and protection finalizers, and
which StorageClass is the default."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The provisioner of the built-in `standard` StorageClass: a directory per volume on the
# node that first uses it (k3s's local-path-provisioner, minikube's storage-provisioner).
LOCAL_PATH_PROVISIONER = "minikube-py.io/local-path"
DEFAULT_STORAGE_CLASS = "standard"

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"

# On a claim: the node the scheduler picked for a WaitForFirstConsumer claim, and the
# provisioner the PV controller handed it to.
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER_ANNOTATION = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER_ANNOTATION = "volume.beta.kubernetes.io/storage-provisioner"
BIND_COMPLETED_ANNOTATION = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER_ANNOTATION = "pv.kubernetes.io/bound-by-controller"
# On a volume: who provisioned it.
PROVISIONED_BY_ANNOTATION = "pv.kubernetes.io/provisioned-by"

PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection"

NO_PROVISIONER = "kubernetes.io/no-provisioner"

# On a Node: the directory under which the local-path provisioner makes that node's
# volumes (the kubelet publishes its own; every node's may differ).
LOCAL_PATH_DIR_ANNOTATION = "minikube-py.io/local-path-dir"
# On a provisioned volume: the node whose directory holds it.
LOCAL_PATH_NODE_ANNOTATION = "minikube-py.io/local-path-node"
# On the provisioner's helper pods: "create" or "delete", and the volume they work on.
LOCAL_PATH_HELPER_LABEL = "minikube-py.io/local-path-helper"
LOCAL_PATH_VOLUME_LABEL = "minikube-py.io/local-path-volume"
# The image of those helper pods: the builtin busybox every minikube-py node has.
HELPER_IMAGE = "docker.io/library/busybox:latest"


def is_default_class(storage_class: dict[str, object]) -> bool:
    """kube's IsDefaultAnnotation: either annotation, exactly "true"."""
    meta = storage_class.get("metadata")
    annotations = (meta.get("annotations") if isinstance(meta, dict) else None) or {}
    return (annotations.get(DEFAULT_CLASS_ANNOTATION) == "true"
            or annotations.get(BETA_DEFAULT_CLASS_ANNOTATION) == "true")


def newest_default_class(classes: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """kube's GetDefaultClass: of the classes annotated default, the newest (by creation
    time, then the first by name); None when no class is."""
    defaults = sorted((sc for sc in classes if is_default_class(sc)),
                      key=lambda sc: sc["metadata"].get("name", ""))
    return max(defaults, key=lambda sc: sc["metadata"].get("creationTimestamp", ""),
               default=None)
