"""The claims of a StatefulSet's pods (kube's stateful_set_utils): one PersistentVolumeClaim
per volumeClaimTemplate and ordinal, `<template>-<set>-<ordinal>`, made before the pod and
kept when the pod goes, so a replacement pod finds its data again. What happens to them when
the set is deleted or scaled down is `persistentVolumeClaimRetentionPolicy`'s, done through
owner references the garbage collector follows: a claim owned by the set goes with the set
(whenDeleted: Delete); one owned by its condemned pod goes with that pod (whenScaled:
Delete). Pure."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from minikube_py.api.owners import new_controller_ref

Obj = dict[str, Any]

RETAIN = "Retain"
DELETE = "Delete"


def templates(sts: Mapping[str, Any]) -> list[Obj]:
    return list((sts.get("spec") or {}).get("volumeClaimTemplates") or [])


def claim_name(template: Mapping[str, Any], set_name: str, ordinal: int) -> str:
    return f"{(template.get('metadata') or {}).get('name', '')}-{set_name}-{ordinal}"


def retention(sts: Mapping[str, Any]) -> tuple[str, str]:
    """(whenDeleted, whenScaled), Retain by default."""
    policy = (sts.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    return policy.get("whenDeleted") or RETAIN, policy.get("whenScaled") or RETAIN


def new_claim(sts: Mapping[str, Any], template: Mapping[str, Any], ordinal: int) -> Obj:
    """The claim for one template and ordinal: the template's spec, its labels with the set's
    selector labels, in the set's namespace."""
    meta = sts["metadata"]
    tmeta = template.get("metadata") or {}
    match_labels = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    claim_meta: Obj = {"name": claim_name(template, meta["name"], ordinal),
                       "namespace": meta["namespace"],
                       "labels": {**(tmeta.get("labels") or {}), **match_labels}}
    if tmeta.get("annotations"):
        claim_meta["annotations"] = dict(tmeta["annotations"])
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": claim_meta,
            "spec": copy.deepcopy(template.get("spec") or {})}


def with_claim_volumes(sts: Mapping[str, Any], pod_spec: Obj, ordinal: int) -> None:
    """Point the pod's volumes named like a claim template at that ordinal's claim (a
    template's name replaces a pod volume of the same name, as kube's updateStorage)."""
    claims = {(t.get("metadata") or {}).get("name"): claim_name(t, sts["metadata"]["name"],
                                                                ordinal)
              for t in templates(sts)}
    if not claims:
        return
    volumes = [v for v in pod_spec.get("volumes") or [] if v.get("name") not in claims]
    volumes.extend({"name": name, "persistentVolumeClaim": {"claimName": claim}}
                   for name, claim in claims.items() if name)
    pod_spec["volumes"] = volumes


def _pod_ref(pod: Mapping[str, Any]) -> Obj:
    meta = pod["metadata"]
    return {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}


def wanted_owner_refs(sts: Mapping[str, Any], claim: Mapping[str, Any], *, condemned: bool,
                      pod: Mapping[str, Any] | None) -> list[Obj]:
    """The claim's owner references as the retention policy wants them (kube's
    updateClaimOwnerRefForSetAndPod): its references to owners other than this set and
    pod kept, the set's present when whenDeleted is Delete, the pod's when whenScaled is
    Delete and the pod is condemned (beyond the replicas)."""
    when_deleted, when_scaled = retention(sts)
    set_uid = sts["metadata"]["uid"]
    pod_uid = (pod or {}).get("metadata", {}).get("uid")
    refs = [r for r in (claim.get("metadata") or {}).get("ownerReferences") or []
            if r.get("uid") not in (set_uid, pod_uid)]
    if when_deleted == DELETE:
        refs.append(new_controller_ref(dict(sts)))
    if when_scaled == DELETE and condemned and pod is not None:
        refs.append(_pod_ref(pod))
    return refs


def owner_refs_differ(claim: Mapping[str, Any], wanted: list[Obj]) -> bool:
    def ident(refs: list[Obj]) -> set[tuple[Any, ...]]:
        return {(r.get("uid"), bool(r.get("controller"))) for r in refs}
    have = (claim.get("metadata") or {}).get("ownerReferences") or []
    return ident(have) != ident(wanted)
