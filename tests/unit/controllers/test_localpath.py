"""The local-path provisioner's decisions: refusals, helper pods, the volume it makes, and
its deletion."""

from __future__ import annotations

from typing import Any

from minikube_py.api.storage import (
    LOCAL_PATH_DIR_ANNOTATION,
    LOCAL_PATH_NODE_ANNOTATION,
    LOCAL_PATH_PROVISIONER,
    PROVISIONED_BY_ANNOTATION,
    SELECTED_NODE_ANNOTATION,
    STORAGE_PROVISIONER_ANNOTATION,
)
from minikube_py.controllers.localpath import (
    CreateVolume,
    DeleteVolume,
    FailVolume,
    HelperFailed,
    Refuse,
    RunHelper,
    Wait,
    delete_step,
    provision_step,
    wants_deleting,
    wants_us,
)

Obj = dict[str, Any]

STANDARD = {"metadata": {"name": "standard"}, "provisioner": LOCAL_PATH_PROVISIONER,
            "volumeBindingMode": "WaitForFirstConsumer", "reclaimPolicy": "Delete"}
IMMEDIATE = {**STANDARD, "metadata": {"name": "now"}, "volumeBindingMode": "Immediate"}
NODE = {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"},
                     "annotations": {LOCAL_PATH_DIR_ANNOTATION: "/var/lib/mk/local-path"}}}


def claim(*, node: str | None = "n1", modes: tuple[str, ...] = ("ReadWriteOnce",),
          cls: str = "standard", **spec: Any) -> Obj:
    annotations = {STORAGE_PROVISIONER_ANNOTATION: LOCAL_PATH_PROVISIONER}
    if node:
        annotations[SELECTED_NODE_ANNOTATION] = node
    return {"metadata": {"name": "data", "namespace": "shop", "uid": "u-1",
                         "annotations": annotations},
            "spec": {"accessModes": list(modes), "storageClassName": cls,
                     "resources": {"requests": {"storage": "2Gi"}}, **spec}}


def helper(name: str, phase: str, **status: Any) -> dict[str, Obj]:
    return {name: {"metadata": {"name": name}, "status": {"phase": phase, **status}}}


def step(c: Obj, *, cls: Obj = STANDARD, nodes: dict[str, Obj] | None = None,
         helpers: dict[str, Obj] | None = None, volumes: dict[str, Obj] | None = None) -> Any:
    return provision_step(c, cls, {"n1": NODE} if nodes is None else nodes, volumes or {},
                          helpers or {})


def test_only_unbound_claims_handed_to_us_of_our_classes_are_ours() -> None:
    classes = {"standard": STANDARD, "other": {**STANDARD, "provisioner": "x.io/y"}}
    assert wants_us(claim(), classes) is STANDARD
    assert wants_us(claim(cls="other"), classes) is None
    assert wants_us(claim(volumeName="pv1"), classes) is None
    unhanded = claim()
    del unhanded["metadata"]["annotations"][STORAGE_PROVISIONER_ANNOTATION]
    assert wants_us(unhanded, classes) is None


def test_a_helper_pod_makes_the_directory_on_the_selected_node() -> None:
    run = step(claim())
    assert isinstance(run, RunHelper)
    pod = run.pod
    assert pod["metadata"]["name"] == "helper-create-pvc-u-1"
    assert pod["metadata"]["namespace"] == "kube-system"
    assert pod["spec"]["nodeName"] == "n1"
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["volumes"] == [{"name": "data", "hostPath": {
        "path": "/var/lib/mk/local-path", "type": "DirectoryOrCreate"}}]
    [container] = pod["spec"]["containers"]
    assert {e["name"]: e["value"] for e in container["env"]} == {"VOL_DIR": "/data",
                                                                 "VOL": "pvc-u-1"}
    assert "mkdir -m 0777 -p" in container["command"][-1]


def test_once_the_helper_succeeded_the_volume_is_pinned_and_pre_bound() -> None:
    made = step(claim(), helpers=helper("helper-create-pvc-u-1", "Succeeded"))
    assert isinstance(made, CreateVolume)
    assert made.helper == "helper-create-pvc-u-1"
    pv = made.volume
    assert pv["metadata"]["name"] == "pvc-u-1"
    assert pv["metadata"]["annotations"] == {PROVISIONED_BY_ANNOTATION: LOCAL_PATH_PROVISIONER,
                                             LOCAL_PATH_NODE_ANNOTATION: "n1"}
    spec = pv["spec"]
    assert spec["hostPath"] == {"path": "/var/lib/mk/local-path/pvc-u-1",
                                "type": "DirectoryOrCreate"}
    assert spec["capacity"] == {"storage": "2Gi"}
    assert spec["persistentVolumeReclaimPolicy"] == "Delete"
    assert spec["claimRef"]["uid"] == "u-1"
    assert spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]
    # Made already: nothing more.
    assert isinstance(step(claim(), volumes={"pvc-u-1": pv}), Wait)


def test_a_running_helper_is_waited_for_and_a_failed_one_is_said() -> None:
    assert isinstance(step(claim(), helpers=helper("helper-create-pvc-u-1", "Running")), Wait)
    failed = step(claim(), helpers=helper(
        "helper-create-pvc-u-1", "Failed", containerStatuses=[
            {"state": {"terminated": {"exitCode": 1, "message": "read-only file system"}}}]))
    assert isinstance(failed, HelperFailed)
    assert failed.message.endswith("failed: exit code 1: read-only file system")


def test_what_a_directory_cannot_give_is_refused_by_name() -> None:
    rwx = step(claim(modes=("ReadWriteMany",)))
    assert isinstance(rwx, Refuse) and "ReadWriteMany" in rwx.message
    block = step(claim(volumeMode="Block"))
    assert isinstance(block, Refuse) and "volumeMode Block" in block.message
    picky = step(claim(selector={"matchLabels": {"a": "b"}}))
    assert isinstance(picky, Refuse) and "Selector is not supported" in picky.message
    clone = step(claim(dataSource={"kind": "PersistentVolumeClaim", "name": "x"}))
    assert isinstance(clone, Refuse) and "data sources" in clone.message


def test_a_node_is_needed_and_must_publish_its_directory() -> None:
    assert isinstance(step(claim(node=None)), Wait)  # the scheduler will pick one
    immediate = step(claim(node=None, cls="now"), cls=IMMEDIATE)
    assert isinstance(immediate, Refuse) and "WaitForFirstConsumer" in immediate.message
    gone = step(claim(), nodes={})
    assert isinstance(gone, Refuse) and 'node "n1" not found' in gone.message
    silent = step(claim(), nodes={"n1": {"metadata": {"name": "n1"}}})
    assert isinstance(silent, Refuse) and LOCAL_PATH_DIR_ANNOTATION in silent.message


def _released(**over: Any) -> Obj:
    pv: Obj = {"metadata": {"name": "pvc-u-1", "uid": "v-1", "annotations": {
        PROVISIONED_BY_ANNOTATION: LOCAL_PATH_PROVISIONER, LOCAL_PATH_NODE_ANNOTATION: "n1"}},
        "spec": {"persistentVolumeReclaimPolicy": "Delete",
                 "hostPath": {"path": "/var/lib/mk/local-path/pvc-u-1"}},
        "status": {"phase": "Released"}}
    pv["spec"].update(over)
    return pv


def test_a_released_volume_of_ours_with_delete_is_removed_by_a_helper_then_deleted() -> None:
    pv = _released()
    assert wants_deleting(pv)
    assert not wants_deleting(_released(persistentVolumeReclaimPolicy="Retain"))
    run = delete_step(pv, {"n1": NODE}, {})
    assert isinstance(run, RunHelper)
    assert run.pod["metadata"]["name"] == "helper-delete-pvc-u-1"
    assert run.pod["spec"]["volumes"][0]["hostPath"]["path"] == "/var/lib/mk/local-path"
    assert 'rm -rf "${VOL_DIR:?}/${VOL:?}"' in run.pod["spec"]["containers"][0]["command"][-1]
    done = delete_step(pv, {"n1": NODE}, helper("helper-delete-pvc-u-1", "Succeeded"))
    assert done == DeleteVolume("helper-delete-pvc-u-1")
    failed = delete_step(pv, {"n1": NODE}, helper("helper-delete-pvc-u-1", "Failed"))
    assert isinstance(failed, FailVolume)


def test_a_volume_on_a_gone_node_is_just_deleted_and_a_strange_path_is_never_removed() -> None:
    assert delete_step(_released(), {}, {}) == DeleteVolume(None)
    odd = delete_step(_released(hostPath={"path": "/etc"}), {"n1": NODE}, {})
    assert isinstance(odd, FailVolume) and "not one this provisioner made" in odd.message
