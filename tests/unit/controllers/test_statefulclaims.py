"""A StatefulSet's per-ordinal claims and the owner references of its retention policy."""

from __future__ import annotations

from typing import Any

from minikube_py.controllers.statefulclaims import (
    claim_name,
    new_claim,
    owner_refs_differ,
    wanted_owner_refs,
    with_claim_volumes,
)

Obj = dict[str, Any]

TEMPLATE = {"metadata": {"name": "data", "labels": {"tier": "db"}},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}


def sts(policy: Obj | None = None) -> Obj:
    spec: Obj = {"selector": {"matchLabels": {"app": "db"}}, "volumeClaimTemplates": [TEMPLATE]}
    if policy is not None:
        spec["persistentVolumeClaimRetentionPolicy"] = policy
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "shop", "uid": "set-1"}, "spec": spec}


POD = {"metadata": {"name": "db-2", "uid": "pod-2"}}


def test_a_claim_per_template_and_ordinal_with_the_set_selector_labels() -> None:
    assert claim_name(TEMPLATE, "db", 3) == "data-db-3"
    claim = new_claim(sts(), TEMPLATE, 3)
    assert claim["metadata"] == {"name": "data-db-3", "namespace": "shop",
                                 "labels": {"tier": "db", "app": "db"}}
    assert claim["spec"] == TEMPLATE["spec"]
    assert claim["spec"] is not TEMPLATE["spec"]


def test_the_pod_volume_of_a_template_name_points_at_the_ordinals_claim() -> None:
    spec: Obj = {"volumes": [{"name": "data", "emptyDir": {}}, {"name": "conf", "configMap": {}}]}
    with_claim_volumes(sts(), spec, 1)
    assert spec["volumes"] == [{"name": "conf", "configMap": {}},
                               {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-1"}}]


def _uids(refs: list[Obj]) -> list[str]:
    return [r["uid"] for r in refs]


def test_retain_by_default_owns_nothing() -> None:
    claim = new_claim(sts(), TEMPLATE, 2)
    assert wanted_owner_refs(sts(), claim, condemned=True, pod=POD) == []


def test_when_deleted_delete_the_set_owns_every_claim() -> None:
    s = sts({"whenDeleted": "Delete", "whenScaled": "Retain"})
    refs = wanted_owner_refs(s, new_claim(s, TEMPLATE, 0), condemned=False, pod=None)
    assert refs == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                     "uid": "set-1", "controller": True, "blockOwnerDeletion": True}]


def test_when_scaled_delete_a_condemned_pod_owns_its_claim_until_scaled_back_up() -> None:
    s = sts({"whenDeleted": "Retain", "whenScaled": "Delete"})
    claim = new_claim(s, TEMPLATE, 2)
    refs = wanted_owner_refs(s, claim, condemned=True, pod=POD)
    assert _uids(refs) == ["pod-2"]
    claim["metadata"]["ownerReferences"] = refs
    assert wanted_owner_refs(s, claim, condemned=False, pod=POD) == []
    assert owner_refs_differ(claim, [])
    assert not owner_refs_differ(claim, refs)


def test_other_owners_are_kept() -> None:
    s = sts({"whenDeleted": "Delete", "whenScaled": "Delete"})
    claim = new_claim(s, TEMPLATE, 2)
    claim["metadata"]["ownerReferences"] = [{"uid": "someone-else", "kind": "Backup"}]
    assert _uids(wanted_owner_refs(s, claim, condemned=True, pod=POD)) == [
        "someone-else", "set-1", "pod-2"]
