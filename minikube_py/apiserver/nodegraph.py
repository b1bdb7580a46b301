"""What each node may read because its pods need it (kube's Node authorizer graph): every
pod bound to a node, the Secrets, ConfigMaps, PersistentVolumeClaims and ServiceAccount its
spec refers to, the PersistentVolume each of those claims is bound to, and the
VolumeAttachments naming the node. Pure: the API server feeds it pods, claims and
attachments from the store's events.

Kube keeps a graph (node <- pod <- secret, node <- pod <- claim <- volume, ...); here a
count per (object, node) answers for what pods refer to directly (is there a pod bound to
this node that refers to this object?), and a volume is reachable through the claims bound
to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Vertex kinds, named by resource.
PODS = "pods"
SECRETS = "secrets"
CONFIGMAPS = "configmaps"
PVCS = "persistentvolumeclaims"
PVS = "persistentvolumes"
VOLUMEATTACHMENTS = "volumeattachments"
SERVICEACCOUNTS = "serviceaccounts"
Ref = tuple[str, str, str]  # (resource, namespace, name)
Obj = Mapping[str, Any]

# Volume sources that name a Secret in a field of their own, or through a secretRef.
_SECRET_NAME_FIELDS = {"secret": "secretName", "azureFile": "secretName"}
_SECRET_REF_SOURCES = ("cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageos")


@dataclass(frozen=True, slots=True)
class _Pod:
    node: str
    refs: frozenset[Ref]


def _name(value: Any, key: str = "name") -> str:
    return str(value.get(key) or "") if isinstance(value, Mapping) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _containers(spec: Obj) -> Iterator[Obj]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in _list(spec.get(key)):
            if isinstance(c, Mapping):
                yield c


def _container_refs(c: Obj) -> Iterator[tuple[str, str]]:
    for env in _list(c.get("env")):
        source = env.get("valueFrom") if isinstance(env, Mapping) else None
        if isinstance(source, Mapping):
            yield SECRETS, _name(source.get("secretKeyRef"))
            yield CONFIGMAPS, _name(source.get("configMapKeyRef"))
    for env_from in _list(c.get("envFrom")):
        if isinstance(env_from, Mapping):
            yield SECRETS, _name(env_from.get("secretRef"))
            yield CONFIGMAPS, _name(env_from.get("configMapRef"))


def _volume_refs(pod_name: str, volume: Obj) -> Iterator[tuple[str, str]]:
    for source, field in _SECRET_NAME_FIELDS.items():
        yield SECRETS, _name(volume.get(source), field)
    for source in _SECRET_REF_SOURCES:
        yield SECRETS, _name(_mapping(volume.get(source)).get("secretRef"))
    yield SECRETS, _name(_mapping(volume.get("csi")).get("nodePublishSecretRef"))
    yield CONFIGMAPS, _name(volume.get("configMap"))
    for projection in _list(_mapping(volume.get("projected")).get("sources")):
        if isinstance(projection, Mapping):
            yield SECRETS, _name(projection.get("secret"))
            yield CONFIGMAPS, _name(projection.get("configMap"))
    yield PVCS, _name(volume.get("persistentVolumeClaim"), "claimName")
    if isinstance(volume.get("ephemeral"), Mapping):
        # A generic ephemeral volume's claim is named after the pod and the volume.
        yield PVCS, f"{pod_name}-{_name(volume)}"


def _mapping(value: Any) -> Obj:
    return value if isinstance(value, Mapping) else {}


def pod_references(pod: Obj) -> frozenset[Ref]:
    """Everything in the pod's namespace its spec refers to (kube's VisitPod*Names)."""
    meta, spec = _mapping(pod.get("metadata")), _mapping(pod.get("spec"))
    ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    found: set[tuple[str, str]] = set()
    for secret in _list(spec.get("imagePullSecrets")):
        found.add((SECRETS, _name(secret)))
    for c in _containers(spec):
        found.update(_container_refs(c))
    for volume in _list(spec.get("volumes")):
        if isinstance(volume, Mapping):
            found.update(_volume_refs(name, volume))
    if spec.get("serviceAccountName"):
        found.add((SERVICEACCOUNTS, str(spec["serviceAccountName"])))
    return frozenset((kind, ns, ref) for kind, ref in found if ref)


class NodeGraph:
    """Pods by namespace and name, and for every object a pod refers to, how many pods of
    each node refer to it."""

    def __init__(self) -> None:
        self._pods: dict[tuple[str, str], _Pod] = {}
        self._by_ref: dict[Ref, dict[str, int]] = {}
        self._claim_volume: dict[tuple[str, str], str] = {}  # (namespace, claim) -> volume
        self._volume_claims: dict[str, set[tuple[str, str]]] = {}
        self._attachment_node: dict[str, str] = {}  # VolumeAttachment -> spec.nodeName

    def put_pod(self, pod: Obj) -> None:
        meta, spec = _mapping(pod.get("metadata")), _mapping(pod.get("spec"))
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        node = str(spec.get("nodeName") or "")
        if not node:
            self.remove_pod(*key)  # not bound (yet): no node may read for it
            return
        entry = _Pod(node, pod_references(pod) | {(PODS, *key)})
        before = self._pods.get(key)
        if before == entry:
            return
        if before is not None:
            self._count(before, -1)
        self._pods[key] = entry
        self._count(entry, +1)

    def remove_pod(self, namespace: str, name: str) -> None:
        before = self._pods.pop((namespace, name), None)
        if before is not None:
            self._count(before, -1)

    def _count(self, pod: _Pod, delta: int) -> None:
        for ref in pod.refs:
            nodes = self._by_ref.setdefault(ref, {})
            count = nodes.get(pod.node, 0) + delta
            if count > 0:
                nodes[pod.node] = count
            else:
                nodes.pop(pod.node, None)
                if not nodes:
                    del self._by_ref[ref]

    def put_claim(self, claim: Obj) -> None:
        """A claim, bound (spec.volumeName) or not: its volume is reachable through it."""
        meta, spec = _mapping(claim.get("metadata")), _mapping(claim.get("spec"))
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        volume = str(spec.get("volumeName") or "")
        if self._claim_volume.get(key) == (volume or None):
            return
        self.remove_claim(*key)
        if volume:
            self._claim_volume[key] = volume
            self._volume_claims.setdefault(volume, set()).add(key)

    def remove_claim(self, namespace: str, name: str) -> None:
        volume = self._claim_volume.pop((namespace, name), None)
        if volume is None:
            return
        claims = self._volume_claims[volume]
        claims.discard((namespace, name))
        if not claims:
            del self._volume_claims[volume]

    def put_attachment(self, attachment: Obj) -> None:
        meta, spec = _mapping(attachment.get("metadata")), _mapping(attachment.get("spec"))
        self._attachment_node[str(meta.get("name") or "")] = str(spec.get("nodeName") or "")

    def remove_attachment(self, name: str) -> None:
        self._attachment_node.pop(name, None)

    def related(self, node: str, resource: str, namespace: str, name: str) -> bool:
        """Whether a pod bound to `node` is, or refers to, this object; a volume through a
        claim bound to it that such a pod refers to; an attachment when it names the
        node."""
        if resource == VOLUMEATTACHMENTS:
            return self._attachment_node.get(name) == node
        if resource == PVS:
            return any(node in self._by_ref.get((PVCS, *claim), {})
                       for claim in self._volume_claims.get(name, ()))
        return node in self._by_ref.get((resource, namespace, name), {})
