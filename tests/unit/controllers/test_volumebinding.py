"""The PersistentVolume controller's decisions: which volume a claim binds to, and what one
sync of a claim or a volume writes."""

from __future__ import annotations

from typing import Any

from minikube_py.api.resources import PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES
from minikube_py.api.storage import (
    BIND_COMPLETED_ANNOTATION,
    BOUND_BY_CONTROLLER_ANNOTATION,
    LOCAL_PATH_PROVISIONER,
    PROVISIONED_BY_ANNOTATION,
    SELECTED_NODE_ANNOTATION,
    STORAGE_PROVISIONER_ANNOTATION,
)
from minikube_py.api.volumes import find_matching_volume, mismatch
from minikube_py.controllers.volumebinding import Plan, claim_plan, volume_plan

Obj = dict[str, Any]


def claim(name: str = "data", *, size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",),
          cls: str | None = "", volume: str = "", phase: str = "Pending",
          annotations: dict[str, str] | None = None, selector: Obj | None = None,
          uid: str = "c-1") -> Obj:
    spec: Obj = {"accessModes": list(modes), "resources": {"requests": {"storage": size}},
                 "volumeMode": "Filesystem"}
    if cls is not None:
        spec["storageClassName"] = cls
    if volume:
        spec["volumeName"] = volume
    if selector:
        spec["selector"] = selector
    return {"metadata": {"name": name, "namespace": "shop", "uid": uid, "resourceVersion": "7",
                         "annotations": dict(annotations or {})},
            "spec": spec, "status": {"phase": phase}}


def volume(name: str, *, size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",),
           cls: str = "", claim_ref: Obj | None = None, phase: str = "Available",
           labels: dict[str, str] | None = None, node: str | None = None,
           policy: str = "Retain", annotations: dict[str, str] | None = None) -> Obj:
    spec: Obj = {"capacity": {"storage": size}, "accessModes": list(modes),
                 "storageClassName": cls, "volumeMode": "Filesystem",
                 "persistentVolumeReclaimPolicy": policy, "hostPath": {"path": f"/v/{name}"}}
    if claim_ref is not None:
        spec["claimRef"] = claim_ref
    if node is not None:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    return {"metadata": {"name": name, "resourceVersion": "3", "labels": dict(labels or {}),
                         "annotations": dict(annotations or {})},
            "spec": spec, "status": {"phase": phase}}


def node(name: str) -> Obj:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}}}


WFFC = {"metadata": {"name": "standard"}, "provisioner": LOCAL_PATH_PROVISIONER,
        "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete"}
SLOW = {"metadata": {"name": "slow"}, "provisioner": "example.com/nfs",
        "volumeBindingMode": "Immediate"}


def by_name(*objs: Obj) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objs}


def writes(plan: Plan) -> list[tuple[str, str, str]]:
    return [(w.resource.plural, w.obj["metadata"]["name"], w.subresource) for w in plan.writes]


def reasons(plan: Plan) -> list[str]:
    return [e.reason for e in plan.events]


# --- matching ---------------------------------------------------------------------------


def test_the_smallest_volume_that_fits_is_chosen() -> None:
    vols = [volume("big", size="10Gi"), volume("small", size="2Gi"), volume("tiny", size="1Mi")]
    assert find_matching_volume(claim(size="1Gi"), vols)["metadata"]["name"] == "small"  # type: ignore[index]


def test_class_mode_access_and_selector_must_all_fit() -> None:
    c = claim(modes=("ReadWriteMany",), selector={"matchLabels": {"tier": "db"}})
    assert mismatch(c, volume("v", modes=("ReadWriteOnce",))) == "incompatible accessMode"
    assert mismatch(claim(cls="fast"), volume("v")) == "storageClassName does not match"
    assert mismatch(claim(size="2Gi"), volume("v")) == "requested PV is too small"
    rwx = volume("rwx", modes=("ReadWriteMany", "ReadWriteOnce"))
    labelled = volume("labelled", modes=("ReadWriteMany",), labels={"tier": "db"})
    assert find_matching_volume(c, [rwx, labelled])["metadata"]["name"] == "labelled"  # type: ignore[index]
    assert find_matching_volume(c, [rwx]) is None


def test_a_volume_bound_elsewhere_is_not_chosen_and_one_pre_bound_to_the_claim_is() -> None:
    other = volume("other", claim_ref={"namespace": "shop", "name": "else", "uid": "x"},
                   phase="Bound")
    mine = volume("mine", size="5Gi", claim_ref={"namespace": "shop", "name": "data"})
    free = volume("free")
    assert find_matching_volume(claim(), [other, free, mine])["metadata"]["name"] == "mine"  # type: ignore[index]
    assert find_matching_volume(claim(), [other]) is None


def test_node_affinity_is_checked_against_the_selected_node() -> None:
    pinned = volume("pinned", node="n1")
    assert find_matching_volume(claim(), [pinned], node("n2")) is None
    assert find_matching_volume(claim(), [pinned], node("n1")) is pinned


# --- claims -----------------------------------------------------------------------------


def test_binding_writes_the_volume_first_then_the_claim_then_its_status() -> None:
    plan = claim_plan(claim(), by_name(volume("pv1", size="5Gi")), {}, {})
    assert writes(plan) == [("persistentvolumes", "pv1", ""),
                            ("persistentvolumes", "pv1", "status"),
                            ("persistentvolumeclaims", "data", ""),
                            ("persistentvolumeclaims", "data", "status")]
    pv, pv_status, pvc, pvc_status = (w.obj for w in plan.writes)
    assert pv["spec"]["claimRef"] == {"kind": "PersistentVolumeClaim", "namespace": "shop",
                                      "name": "data", "uid": "c-1", "apiVersion": "v1",
                                      "resourceVersion": "7"}
    assert pv["metadata"]["annotations"][BOUND_BY_CONTROLLER_ANNOTATION] == "yes"
    assert pv_status["status"]["phase"] == "Bound"
    assert pvc["spec"]["volumeName"] == "pv1"
    assert pvc["metadata"]["annotations"] == {BIND_COMPLETED_ANNOTATION: "yes",
                                              BOUND_BY_CONTROLLER_ANNOTATION: "yes"}
    assert pvc_status["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                                    "capacity": {"storage": "5Gi"}}


def test_a_finished_binding_writes_nothing() -> None:
    ref = {"namespace": "shop", "name": "data", "uid": "c-1"}
    c = claim(volume="pv1", phase="Bound", annotations={BIND_COMPLETED_ANNOTATION: "yes"})
    c["status"] = {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                   "capacity": {"storage": "1Gi"}}
    pv = volume("pv1", claim_ref=ref, phase="Bound")
    assert claim_plan(c, by_name(pv), {}, {}) == Plan()
    assert volume_plan(pv, c) == Plan()


def test_a_claim_pre_bound_by_name_binds_to_that_volume_when_it_fits() -> None:
    c = claim(volume="pv1")
    assert writes(claim_plan(c, by_name(volume("pv1")), {}, {}))[0] == (
        "persistentvolumes", "pv1", "")
    small = claim_plan(claim(volume="pv1", size="5Gi"), by_name(volume("pv1")), {}, {})
    assert reasons(small) == ["VolumeMismatch"]
    assert small.events[0].message == ('Cannot bind to requested volume "pv1": requested PV '
                                       "is too small")
    assert [w.obj["metadata"]["name"] for w in small.writes] == []  # stays Pending


def test_a_claim_waiting_for_its_first_consumer_waits() -> None:
    plan = claim_plan(claim(cls="standard"), by_name(volume("pv1", cls="standard")),
                      by_name(WFFC), {})
    assert writes(plan) == []
    assert reasons(plan) == ["WaitForFirstConsumer"]
    assert plan.events[0].message == "waiting for first consumer to be created before binding"


def test_with_a_selected_node_a_static_volume_there_binds_else_the_provisioner_is_asked() -> None:
    c = claim(cls="standard", annotations={SELECTED_NODE_ANNOTATION: "n1"})
    there = volume("there", cls="standard", node="n1")
    elsewhere = volume("elsewhere", cls="standard", node="n2")
    nodes = by_name(node("n1"), node("n2"))
    assert writes(claim_plan(c, by_name(there, elsewhere), by_name(WFFC), nodes))[0][1] == "there"
    plan = claim_plan(c, by_name(elsewhere), by_name(WFFC), nodes)
    [annotate] = plan.writes
    assert annotate.obj["metadata"]["annotations"][STORAGE_PROVISIONER_ANNOTATION] == (
        LOCAL_PATH_PROVISIONER)
    assert reasons(plan) == []  # ours says Provisioning itself


def test_an_external_provisioner_is_waited_for_in_kubes_words() -> None:
    plan = claim_plan(claim(cls="slow"), {}, by_name(SLOW), {})
    assert reasons(plan) == ["ExternalProvisioning"]
    assert plan.events[0].message.startswith(
        "Waiting for a volume to be created either by the external provisioner "
        "'example.com/nfs' or manually by the system administrator.")


def test_no_volume_and_no_class_or_an_unknown_class_is_said() -> None:
    assert claim_plan(claim(), {}, {}, {}).events[0].message == (
        "no persistent volumes available for this claim and no storage class is set")
    missing = claim_plan(claim(cls="gold"), {}, {}, {})
    assert (reasons(missing), missing.events[0].message) == (
        ["ProvisioningFailed"], 'storageclass.storage.k8s.io "gold" not found')


def test_a_bound_claim_whose_volume_is_gone_is_lost() -> None:
    c = claim(volume="pv1", phase="Bound", annotations={BIND_COMPLETED_ANNOTATION: "yes"})
    plan = claim_plan(c, {}, {}, {})
    assert [w.obj["status"]["phase"] for w in plan.writes] == ["Lost"]
    assert reasons(plan) == ["ClaimLost"]


def test_a_claim_whose_volume_went_to_another_claim_is_misbound() -> None:
    other = volume("pv1", claim_ref={"namespace": "shop", "name": "else", "uid": "x"})
    done = claim(volume="pv1", phase="Bound", annotations={BIND_COMPLETED_ANNOTATION: "yes"})
    assert reasons(claim_plan(done, by_name(other), {}, {})) == ["ClaimMisbound"]
    asked = claim(volume="pv1")
    assert reasons(claim_plan(asked, by_name(other), {}, {})) == ["FailedBinding"]


# --- volumes ----------------------------------------------------------------------------


def test_a_volume_with_no_claim_becomes_available() -> None:
    plan = volume_plan(volume("pv1", phase="Pending"), None)
    assert [(w.subresource, w.obj["status"]["phase"]) for w in plan.writes] == [
        ("status", "Available")]


def test_a_volume_whose_claim_is_gone_is_released_or_failed_by_its_policy() -> None:
    ref = {"namespace": "shop", "name": "data", "uid": "c-1"}
    retain = volume_plan(volume("pv1", claim_ref=ref, phase="Bound"), None)
    assert [w.obj["status"]["phase"] for w in retain.writes] == ["Released"]
    ours = volume("pv2", claim_ref=ref, phase="Bound", policy="Delete",
                  annotations={PROVISIONED_BY_ANNOTATION: LOCAL_PATH_PROVISIONER})
    assert [w.obj["status"]["phase"] for w in volume_plan(ours, None).writes] == ["Released"]
    static = volume_plan(volume("pv3", claim_ref=ref, phase="Bound", policy="Delete"), None)
    assert [w.obj["status"]["phase"] for w in static.writes] == ["Failed"]
    assert reasons(static) == ["VolumeFailedDelete"]
    recycle = volume_plan(volume("pv4", claim_ref=ref, phase="Bound", policy="Recycle"), None)
    assert reasons(recycle) == ["VolumeFailedRecycle"]
    # A claim of the same name but another uid is another claim: the volume is released.
    again = claim(uid="c-2")
    assert [w.obj["status"]["phase"] for w in volume_plan(
        volume("pv5", claim_ref=ref, phase="Bound"), again).writes] == ["Released"]


def test_a_volume_we_bound_to_a_claim_that_chose_another_is_unbound() -> None:
    ref = {"namespace": "shop", "name": "data", "uid": "c-1"}
    pv = volume("pv1", claim_ref=ref, phase="Bound",
                annotations={BOUND_BY_CONTROLLER_ANNOTATION: "yes"})
    plan = volume_plan(pv, claim(volume="pv9"))
    assert writes(plan) == [("persistentvolumes", "pv1", ""), ("persistentvolumes", "pv1", "status")]
    assert "claimRef" not in plan.writes[0].obj["spec"]
    # Pre-bound by a person: left alone.
    assert volume_plan(volume("pv1", claim_ref=ref, phase="Bound"), claim(volume="pv9")) == Plan()


def test_resources_of_the_writes_are_the_storage_kinds() -> None:
    plan = claim_plan(claim(), by_name(volume("pv1")), {}, {})
    assert {w.resource for w in plan.writes} == {PERSISTENTVOLUMES, PERSISTENTVOLUMECLAIMS}
