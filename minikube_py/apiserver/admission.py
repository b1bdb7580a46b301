"""Admission: the plugins every write passes after decoding and before the kind's strategy
(kube-apiserver's admission chain). Each plugin names what it looks at and refuses with a
Status; mutating plugins change the object in place, validating ones (after the kind's
validation) only look. What plugins see is in admissionapi.py."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    CERTIFICATESIGNINGREQUESTS,
    CSINODES,
    CUSTOMRESOURCEDEFINITIONS,
    INGRESSCLASSES,
    INGRESSES,
    LEASES,
    NAMESPACES,
    NETWORKPOLICIES,
    NODES,
    PERSISTENTVOLUMECLAIMS,
    PERSISTENTVOLUMES,
    PODS,
    PRIORITYCLASSES,
    RUNTIMECLASSES,
    STORAGECLASSES,
)
from minikube_py.api.storage import (
    PV_PROTECTION_FINALIZER,
    PVC_PROTECTION_FINALIZER,
    newest_default_class,
)
from minikube_py.apiserver.admissionapi import AdmissionPlugin, ValidatingPlugin
from minikube_py.apiserver.admissionapi import Attributes as Attributes  # re-exported
from minikube_py.apiserver.admissionapi import Operation as Operation  # re-exported
from minikube_py.apiserver.admissionapi import refused as _refused
from minikube_py.apiserver.kinds.customresourcedefinitions import rules_not_enforced
from minikube_py.apiserver.kinds.ingresses import LEGACY_CLASS_ANNOTATION, is_default_class
from minikube_py.apiserver.kinds.networkpolicies import NOT_ENFORCED
from minikube_py.apiserver.kinds.persistentvolumes import BETA_STORAGE_CLASS_ANNOTATION
from minikube_py.apiserver.kinds.priorityclasses import PREEMPTION_POLICIES, SYSTEM_CLASSES
from minikube_py.apiserver.kinds.runtimeclasses import KUBELET_HANDLER
from minikube_py.apiserver.kinds.storageclasses import EXPANSION_HAS_NO_EFFECT
from minikube_py.apiserver.limitranger import LimitRanger
from minikube_py.apiserver.nodeauthz import node_identity
from minikube_py.apiserver.objectstore import ObjectStore
from minikube_py.apiserver.podsecurity.plugin import PodSecurity
from minikube_py.apiserver.podsecurity.policy import PodSecurityConfig
from minikube_py.apiserver.quotaadmission import ResourceQuotaAdmission
from minikube_py.apiserver.serviceaccountadmission import ServiceAccountAdmission
from minikube_py.apiserver.storage import decode_kv, list_prefix
from minikube_py.pki.csr import KUBE_APISERVER_CLIENT, decode_bytes, organizations, parse_request
from minikube_py.store.types import prefix_end

Obj = dict[str, Any]
# The namespaces NamespaceLifecycle never lets go ("immortal" in kube).
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
MASTERS = "system:masters"
_IMMORTAL = frozenset(SYSTEM_NAMESPACES[:3])
_DEFAULT_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", 300),
    ("node.kubernetes.io/unreachable", 300),
)


class Admission:
    """The chain: every mutating plugin in order (`admit`), later every validating one
    (`validate`); the first refusal ends the write."""

    def __init__(self, plugins: list[AdmissionPlugin],
                 validating: list[ValidatingPlugin] | None = None) -> None:
        self.plugins = plugins
        self.validating = validating or []

    async def admit(self, attrs: Attributes) -> None:
        for plugin in self.plugins:
            await plugin.admit(attrs)

    async def validate(self, attrs: Attributes) -> None:
        for plugin in self.validating:
            await plugin.validate(attrs)


class NamespaceLifecycle:
    """Content only in namespaces that exist and are not terminating; the system
    namespaces may not be deleted."""

    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects
        # namespace -> (revision read, terminating): every create reads the namespace, and
        # it changes rarely, so decode it only when its revision moved.
        self._seen: dict[str, tuple[int, bool]] = {}

    async def admit(self, attrs: Attributes) -> None:
        resource = attrs.strategy.resource
        if attrs.operation is Operation.DELETE and resource is NAMESPACES and \
                attrs.name in _IMMORTAL:
            raise ApiError(403, "Forbidden", f'namespaces "{attrs.name}" is forbidden: this '
                           "namespace may not be deleted",
                           {"name": attrs.name, "kind": "namespaces"})
        if attrs.operation is Operation.CREATE and resource.namespaced and attrs.namespace:
            await self._check_open(attrs)

    async def _check_open(self, attrs: Attributes) -> None:
        ns = attrs.namespace or ""
        found = await self._objects.read(NAMESPACES, None, ns)
        if found is None:
            self._seen.pop(ns, None)
            raise errors.not_found("namespaces", ns)
        seen = self._seen.get(ns)
        if seen is not None and seen[0] == found.mod_revision:
            terminating = seen[1]
        else:
            nsobj = json.loads(found.value)
            terminating = bool((nsobj.get("metadata") or {}).get("deletionTimestamp") or
                               (nsobj.get("status") or {}).get("phase") == "Terminating")
            self._seen[ns] = (found.mod_revision, terminating)
        if not terminating:
            return
        resource = attrs.strategy.resource
        msg = (f"unable to create new content in namespace {ns} because it is being "
               "terminated")
        raise ApiError(403, "Forbidden",
                       f'{errors.qualified(resource.plural, resource.group)} "{attrs.name}" '
                       f"is forbidden: {msg}", {"name": attrs.name, "kind": resource.plural},
                       [errors.Cause("NamespaceTerminating", msg, "metadata.namespace")])


class DefaultTolerationSeconds:
    """New pods tolerate not-ready and unreachable nodes for 300 s unless they say
    otherwise (so the node controller evicts them after five minutes, not at once)."""

    async def admit(self, attrs: Attributes) -> None:
        if attrs.operation is not Operation.CREATE or attrs.strategy.resource is not PODS:
            return
        assert attrs.obj is not None
        spec = attrs.obj.setdefault("spec", {})
        tolerations = spec.get("tolerations") or []
        for key, seconds in _DEFAULT_TOLERATIONS:
            if any(_tolerates(t, key) for t in tolerations):
                continue
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": seconds})
        spec["tolerations"] = tolerations


class DefaultIngressClass:
    """An Ingress created with no class (neither spec.ingressClassName nor the legacy
    annotation) gets the default IngressClass's name: the one annotated
    is-default-class "true", the newest should there be several (kube's DefaultIngressClass
    plugin)."""

    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects

    async def admit(self, attrs: Attributes) -> None:
        if attrs.operation is not Operation.CREATE or attrs.strategy.resource is not INGRESSES:
            return
        assert attrs.obj is not None
        spec = attrs.obj.setdefault("spec", {})
        annotations = (attrs.obj.get("metadata") or {}).get("annotations") or {}
        if not isinstance(spec, dict) or spec.get("ingressClassName") is not None \
                or LEGACY_CLASS_ANNOTATION in annotations:
            return
        prefix = list_prefix(INGRESSCLASSES, None)
        found = await self._objects.kv.range(prefix, prefix_end(prefix))
        defaults = [ic for ic in map(decode_kv, found.kvs) if is_default_class(ic)]
        if defaults:
            newest = max(defaults, key=lambda ic: (ic["metadata"].get("creationTimestamp", ""),
                                                   ic["metadata"].get("name", "")))
            spec["ingressClassName"] = newest["metadata"]["name"]


class DefaultStorageClass:
    """A claim created with no class (spec.storageClassName absent, not "", and no beta
    annotation) gets the default StorageClass's name (kube's DefaultStorageClass plugin);
    with no default class it stays unset, for the PV controller to fill in later."""

    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects

    async def admit(self, attrs: Attributes) -> None:
        if attrs.operation is not Operation.CREATE or \
                attrs.strategy.resource is not PERSISTENTVOLUMECLAIMS:
            return
        assert attrs.obj is not None
        spec = attrs.obj.setdefault("spec", {})
        annotations = (attrs.obj.get("metadata") or {}).get("annotations") or {}
        if not isinstance(spec, dict) or spec.get("storageClassName") is not None \
                or BETA_STORAGE_CLASS_ANNOTATION in annotations:
            return
        prefix = list_prefix(STORAGECLASSES, None)
        found = await self._objects.kv.range(prefix, prefix_end(prefix))
        chosen = newest_default_class([decode_kv(kv) for kv in found.kvs])
        if chosen is not None:
            spec["storageClassName"] = chosen["metadata"]["name"]


class StorageObjectInUseProtection:
    """New claims and volumes carry kube's protection finalizer, so neither goes while a
    pod (a claim) or a claim (a volume) still uses it; the protection controllers remove
    it once nothing does."""

    _FINALIZERS = {PERSISTENTVOLUMECLAIMS: PVC_PROTECTION_FINALIZER,
                   PERSISTENTVOLUMES: PV_PROTECTION_FINALIZER}

    async def admit(self, attrs: Attributes) -> None:
        finalizer = self._FINALIZERS.get(attrs.strategy.resource)
        if finalizer is None or attrs.operation is not Operation.CREATE:
            return
        assert attrs.obj is not None
        meta = attrs.obj.setdefault("metadata", {})
        finalizers = meta.get("finalizers") or []
        if isinstance(finalizers, list) and finalizer not in finalizers:
            meta["finalizers"] = [*finalizers, finalizer]


class VolumeExpansionNotSupported:
    """A StorageClass may allow expansion (charts set it), but nothing here expands a
    volume: every create and update of one that does says so in a Warning header."""

    async def admit(self, attrs: Attributes) -> None:
        if attrs.strategy.resource is STORAGECLASSES and attrs.operation in (
                Operation.CREATE, Operation.UPDATE) and (attrs.obj or {}).get(
                "allowVolumeExpansion") is True:
            attrs.opts.warnings.append(EXPANSION_HAS_NO_EFFECT)


class NetworkPolicyNotEnforced:
    """NetworkPolicies are stored, never enforced: every create and update says so in a
    Warning header, so nobody takes one for a firewall."""

    async def admit(self, attrs: Attributes) -> None:
        if attrs.strategy.resource is NETWORKPOLICIES and attrs.operation in (
                Operation.CREATE, Operation.UPDATE) and attrs.subresource is None:
            attrs.opts.warnings.append(NOT_ENFORCED)


class CustomResourceRulesNotEnforced:
    """A CRD's CEL rules (x-kubernetes-validations) are stored, never evaluated: every create
    and update of a CRD that has some says so in a Warning header, as for NetworkPolicies."""

    async def admit(self, attrs: Attributes) -> None:
        if attrs.strategy.resource is CUSTOMRESOURCEDEFINITIONS and attrs.operation in (
                Operation.CREATE, Operation.UPDATE) and attrs.subresource is None and \
                attrs.obj is not None:
            attrs.opts.warnings.extend(rules_not_enforced(attrs.obj))


class Priority:
    """kube's Priority plugin. At most one PriorityClass is the global default. A pod
    created gets its class's value and preemption policy (no class: the global default's,
    the lowest should there be several, else 0); a pod naming an unknown class, or giving a
    priority or policy its class does not, is refused. An update keeps what create set. The
    system classes are never deleted."""

    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects

    async def _classes(self) -> list[Obj]:
        prefix = list_prefix(PRIORITYCLASSES, None)
        found = await self._objects.kv.range(prefix, prefix_end(prefix))
        return [decode_kv(kv) for kv in found.kvs]

    async def admit(self, attrs: Attributes) -> None:
        resource = attrs.strategy.resource
        if resource is PRIORITYCLASSES and attrs.operation is Operation.DELETE and \
                attrs.name in SYSTEM_CLASSES:  # kube's REST.Delete for priorityclasses
            raise _refused(attrs, "this is a system priority class and cannot be deleted")
        if attrs.subresource is not None or attrs.obj is None:
            return
        if resource is PRIORITYCLASSES and attrs.obj.get("globalDefault"):
            for pc in await self._classes():
                other = pc["metadata"]["name"]
                if pc.get("globalDefault") and other != attrs.name:
                    raise _refused(attrs, f"PriorityClass {other} is already marked as "
                                          "default. Only one default can exist")
        elif resource is PODS and attrs.operation is Operation.UPDATE:
            spec, old = attrs.obj.get("spec"), (attrs.old or {}).get("spec") or {}
            if isinstance(spec, dict):
                for key in ("priority", "preemptionPolicy"):
                    if spec.get(key) is None and old.get(key) is not None:
                        spec[key] = old[key]
        elif resource is PODS and attrs.operation is Operation.CREATE:
            await self._admit_pod(attrs, attrs.obj.setdefault("spec", {}))

    async def _admit_pod(self, attrs: Attributes, spec: Any) -> None:
        if not isinstance(spec, dict):
            return
        wanted = spec.get("priorityClassName") or ""
        if wanted:  # one read of the class named, not a list of them all
            found = await self._objects.read(PRIORITYCLASSES, None, str(wanted))
            if found is None:
                raise _refused(attrs, f"no PriorityClass with name {wanted} was found")
            chosen: Obj | None = decode_kv(found)
        else:
            defaults = [pc for pc in await self._classes() if pc.get("globalDefault")]
            chosen = min(defaults, key=lambda pc: int(pc.get("value") or 0), default=None)
            if chosen is not None:
                spec["priorityClassName"] = chosen["metadata"]["name"]
        # A class always carries a policy; with no class at all the pod's is defaulted.
        value = int(chosen.get("value") or 0) if chosen else 0
        policy = (chosen or {}).get("preemptionPolicy") or PREEMPTION_POLICIES[0]
        for key, what, computed in (("priority", "integer value of priority", value),
                                    ("preemptionPolicy", "string value of PreemptionPolicy",
                                     policy)):
            given = spec.get(key)
            if given is not None and given != computed:
                raise _refused(attrs, f"the {what} ({given}) must not be provided in pod spec; "
                                      f"priority admission controller computed {computed} "
                                      "from the given PriorityClass name")
            spec[key] = computed


class RuntimeClass:
    """kube's RuntimeClass plugin: a pod created naming a RuntimeClass gets the class's
    overhead (a pod already stating another is refused) and its scheduling (the node
    selector merged in, a conflicting label refused; its tolerations added); a class that
    does not exist, or whose handler is not the kubelet's (only runc here), is refused
    rather than run with runc unasked; and a pod stating an overhead its class does not
    define (or with no class) is refused."""

    def __init__(self, objects: ObjectStore) -> None:
        self._objects = objects

    async def admit(self, attrs: Attributes) -> None:
        if attrs.strategy.resource is not PODS or attrs.operation is not Operation.CREATE \
                or attrs.obj is None:
            return
        spec = attrs.obj.get("spec")
        if not isinstance(spec, dict):
            return
        wanted = spec.get("runtimeClassName")
        if not wanted:
            if spec.get("overhead"):
                raise _refused(attrs, "pod rejected: Pod Overhead set without corresponding "
                                      "RuntimeClass defined Overhead")
            return
        found = await self._objects.read(RUNTIMECLASSES, None, str(wanted))
        if found is None:
            raise _refused(attrs, f'pod rejected: RuntimeClass "{wanted}" not found')
        runtime_class = decode_kv(found)
        handler = runtime_class.get("handler")
        if handler != KUBELET_HANDLER:
            raise _refused(attrs, f'pod rejected: spec.runtimeClassName "{wanted}" has handler '
                                  f'"{handler}", and this cluster\'s kubelets have only '
                                  f'"{KUBELET_HANDLER}"')
        problem = apply_runtime_class(spec, runtime_class)
        if problem:
            raise _refused(attrs, problem)


def apply_runtime_class(spec: dict[str, Any], runtime_class: Obj) -> str | None:
    """kube's setOverhead and setScheduling on a pod spec, in place; the refusal, if any."""
    fixed = (runtime_class.get("overhead") or {}).get("podFixed")
    if fixed:
        if spec.get("overhead") and spec["overhead"] != fixed:
            return "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead"
        spec["overhead"] = dict(fixed)
    elif spec.get("overhead"):
        return ("pod rejected: Pod Overhead set without corresponding RuntimeClass defined "
                "Overhead")
    scheduling = runtime_class.get("scheduling") or {}
    selector = dict(spec.get("nodeSelector") or {})
    for key, value in (scheduling.get("nodeSelector") or {}).items():
        if key in selector and selector[key] != value:
            return (f"conflict: runtimeClass.scheduling.nodeSelector[{key}] = {value}; "
                    f"pod.spec.nodeSelector[{key}] = {selector[key]}")
        selector[key] = value
    if selector:
        spec["nodeSelector"] = selector
    tolerations = list(spec.get("tolerations") or [])
    for toleration in scheduling.get("tolerations") or []:
        if toleration not in tolerations:
            tolerations.append(toleration)
    if tolerations:
        spec["tolerations"] = tolerations
    return None


def _tolerates(t: Any, key: str) -> bool:
    if not isinstance(t, dict):
        return False
    if t.get("effect") not in (None, "", "NoExecute"):
        return False
    if t.get("operator") == "Exists" and not t.get("key"):
        return True
    return bool(t.get("key") == key)


# Labels a kubelet may set on its Node within the kubernetes.io and k8s.io namespaces (kube's
# kubeletapis.IsKubeletLabel); any other label there, and any under node-restriction.
# kubernetes.io/, is for administrators only.
_KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch",
    "beta.kubernetes.io/os", "beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "node.kubernetes.io/instance-type", "node.kubernetes.io/windows-build"})
_KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
_RESTRICTED_LABEL_NAMESPACE = "node-restriction.kubernetes.io"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"


def _in_namespace(ns: str, domain: str) -> bool:
    return ns == domain or ns.endswith("." + domain)


def forbidden_node_label(key: str) -> bool:
    """Whether a node may not set this label on itself (kube's getForbiddenLabels)."""
    ns = key.split("/", 1)[0] if "/" in key else ""
    if _in_namespace(ns, _RESTRICTED_LABEL_NAMESPACE):
        return True
    if not (_in_namespace(ns, "kubernetes.io") or _in_namespace(ns, "k8s.io")):
        return False
    return key not in _KUBELET_LABELS and ns not in _KUBELET_LABEL_NAMESPACES


class NodeRestriction:
    """What the Node authorizer lets every node do, kept to its own objects (kube's
    NodeRestriction admission): its own Node (without labels kept for administrators, nor
    its taints), its own Lease and CSINode, and the pods bound to it (mirror pods only for
    creates)."""

    async def validate(self, attrs: Attributes) -> None:
        user = attrs.opts.user
        node = node_identity(user) if user is not None else None
        if node is None:
            return
        resource = attrs.strategy.resource
        if resource is NODES:
            self._node(node, attrs)
        elif resource is PODS:
            self._pod(node, attrs)
        elif resource is LEASES and attrs.namespace == "kube-node-lease" and \
                attrs.operation is not Operation.DELETE and attrs.name != node:
            raise _refused(attrs, "can only access node lease with the same name as the "
                                  "requesting node")
        elif resource is CSINODES and attrs.name != node:
            raise _refused(attrs, f'the node "{node}" is not allowed to modify CSINode '
                                  f'"{attrs.name}"')

    def _node(self, node: str, attrs: Attributes) -> None:
        if attrs.name != node:
            raise _refused(attrs, f'node "{node}" is not allowed to modify node "{attrs.name}"')
        if attrs.operation is Operation.CREATE:
            labels = (attrs.obj or {}).get("metadata", {}).get("labels") or {}
            bad = sorted(k for k in labels if forbidden_node_label(k))
            if bad:
                raise _refused(attrs, f'node "{node}" is not allowed to set the following '
                                      f"labels: {', '.join(bad)}")
            return
        if attrs.operation is not Operation.UPDATE or attrs.old is None or attrs.obj is None:
            return
        old_labels = attrs.old.get("metadata", {}).get("labels") or {}
        new_labels = attrs.obj.get("metadata", {}).get("labels") or {}
        changed = sorted(k for k in {*old_labels, *new_labels}
                         if old_labels.get(k) != new_labels.get(k) and forbidden_node_label(k))
        if changed:
            raise _refused(attrs, f'node "{node}" is not allowed to modify labels: '
                                  f"{', '.join(changed)}")
        if (attrs.old.get("spec") or {}).get("taints") != \
                (attrs.obj.get("spec") or {}).get("taints"):
            raise _refused(attrs, f'node "{node}" is not allowed to modify taints')

    def _pod(self, node: str, attrs: Attributes) -> None:
        if attrs.operation is Operation.CREATE:
            pod = attrs.obj or {}
            if MIRROR_POD_ANNOTATION not in (pod.get("metadata", {}).get("annotations") or {}):
                raise _refused(attrs, f'pod does not have "{MIRROR_POD_ANNOTATION}" '
                                      f'annotation, node "{node}" can only create mirror pods')
            if (pod.get("spec") or {}).get("nodeName") != node:
                raise _refused(attrs, f'node "{node}" can only create pods with spec.nodeName '
                                      "set to itself")
            return
        bound = ((attrs.old or {}).get("spec") or {}).get("nodeName")
        if bound == node:
            return
        if attrs.operation is Operation.DELETE:
            raise _refused(attrs, f'node "{node}" can only delete pods with spec.nodeName set '
                                  "to itself")
        raise _refused(attrs, f'node "{node}" can only update pod status for pods with '
                              "spec.nodeName set to itself")


class CertificateSubjectRestriction:
    """Nobody may ask the kube-apiserver-client signer for a certificate in system:masters,
    whose holder no authorizer could ever refuse, so a careless `kubectl certificate
    approve` cannot mint a cluster admin (kube's plugin of that name, on by default)."""

    async def validate(self, attrs: Attributes) -> None:
        if attrs.strategy.resource is not CERTIFICATESIGNINGREQUESTS or \
                attrs.operation is not Operation.CREATE:
            return
        spec = (attrs.obj or {}).get("spec") or {}
        if spec.get("signerName") != KUBE_APISERVER_CLIENT:
            return
        try:
            request = parse_request(decode_bytes(spec.get("request")))
        except ValueError as e:
            raise _refused(attrs, f"failed to parse CSR: {e}") from None
        if MASTERS in organizations(request):
            raise _refused(attrs, f"use of {KUBE_APISERVER_CLIENT} signer with {MASTERS} "
                                  "group is not allowed")


def default_admission(objects: ObjectStore,
                      pod_security: PodSecurityConfig | None = None,
                      plugins: list[AdmissionPlugin] | None = None, *,
                      service_accounts: bool = False,
                      rng: random.Random | None = None,
                      clock: Callable[[], float] = time.time) -> Admission:
    """kube's plugins in kube's order; `plugins` (RBAC's escalation check) after the
    built-in mutating ones. `service_accounts` enables ServiceAccount admission, which
    refuses pods until their namespace's `default` account exists: kube-apiserver enables
    it; API servers without a ServiceAccount controller beside them (most tests) leave it
    off, as kube's integration framework does."""
    limit_ranger = LimitRanger(objects)
    mutating: list[AdmissionPlugin] = [NamespaceLifecycle(objects), limit_ranger]
    if service_accounts:
        mutating.append(ServiceAccountAdmission(objects, rng=rng or random.Random()))
    mutating += [DefaultTolerationSeconds(), DefaultIngressClass(objects),
                 NetworkPolicyNotEnforced(),
                 CustomResourceRulesNotEnforced(),
                 Priority(objects), RuntimeClass(objects),
                 DefaultStorageClass(objects), StorageObjectInUseProtection(),
                 VolumeExpansionNotSupported()]
    mutating += plugins or []
    return Admission(mutating, [PodSecurity(objects, pod_security or PodSecurityConfig()),
                                NodeRestriction(), CertificateSubjectRestriction(),
                                limit_ranger, ResourceQuotaAdmission(objects, clock)])
