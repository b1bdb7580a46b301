"""The storage kinds (PersistentVolume, PersistentVolumeClaim, StorageClass and the CSI kinds)
through the real kubectl and the official client: served, validated, defaulted, printed; the
default `standard` class there from the start; and the DefaultStorageClass and
StorageObjectInUseProtection admission plugins."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    CSIDRIVERS,
    CSINODES,
    CSISTORAGECAPACITIES,
    PERSISTENTVOLUMECLAIMS,
    PERSISTENTVOLUMES,
    STORAGECLASSES,
    VOLUMEATTACHMENTS,
)
from minikube_py.api.storage import (
    DEFAULT_CLASS_ANNOTATION,
    LOCAL_PATH_PROVISIONER,
    PV_PROTECTION_FINALIZER,
    PVC_PROTECTION_FINALIZER,
    newest_default_class,
)
from minikube_py.apiserver.kinds.csi import (
    csidriver_errors,
    csidriver_row,
    csistoragecapacity_row,
    volumeattachment_row,
)
from minikube_py.apiserver.kinds.persistentvolumeclaims import (
    IMMUTABLE_SPEC,
    NO_EXPANSION,
    persistentvolumeclaim_row,
)
from minikube_py.apiserver.kinds.persistentvolumes import persistentvolume_row
from minikube_py.apiserver.kinds.storageclasses import EXPANSION_HAS_NO_EFFECT, storageclass_row
from minikube_py.apiserver.protobuf import decode_message
from minikube_py.apiserver.service import ApiService
from tests.unit.apiserver.conftest import official_client
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl
from tests.unit.apiserver.test_apiserver_protobuf import envelope, field

Obj = dict[str, Any]
Causes = list[tuple[str, str, str]]

MANIFEST = """apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: manual}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv0}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: manual
  hostPath: {path: /data/pv0}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""


def pv(name: str = "pv0", **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                     "hostPath": {"path": f"/data/{name}"}, **spec}}


def pvc(name: str = "data", **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}, **spec}}


def sc(name: str = "fast", default: bool = False, **fields: Any) -> Obj:
    meta: Obj = {"name": name}
    if default:
        meta["annotations"] = {DEFAULT_CLASS_ANNOTATION: "true"}
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": meta,
            "provisioner": "example.com/fast", **fields}


def rows(out: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in out.splitlines()[1:]}


@needs_kubectl
async def test_kubectl_create_get_describe_delete(kubeconfig: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "storage.yaml"
    manifest.write_text(MANIFEST)
    rc, out, err = await kubectl(kubeconfig, "create", "-f", str(manifest))
    assert rc == 0, err
    assert "persistentvolume/pv0 created" in out
    rc, out, err = await kubectl(kubeconfig, "get", "sc")
    assert rc == 0, err
    assert out.splitlines()[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY",
                                           "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    assert "standard (default)" in out
    assert rows(out)["standard"][2:6] == [LOCAL_PATH_PROVISIONER, "Delete",
                                          "WaitForFirstConsumer", "false"]
    assert rows(out)["manual"][1:4] == ["kubernetes.io/no-provisioner", "Delete",
                                        "WaitForFirstConsumer"]
    rc, out, err = await kubectl(kubeconfig, "get", "pv", "-o", "wide")
    assert rc == 0, err
    assert out.splitlines()[0].split() == [
        "NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM",
        "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE", "VOLUMEMODE"]
    got = rows(out)["pv0"]
    assert [*got[:5], got[-1]] == ["pv0", "2Gi", "RWO,ROX", "Retain", "Pending", "Filesystem"]
    rc, out, err = await kubectl(kubeconfig, "get", "pvc")
    assert rc == 0, err
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS",
                                           "MODES", "STORAGECLASS", "VOLUMEATTRIBUTESCLASS",
                                           "AGE"]
    # The claim named no class: it got the default's.
    assert rows(out)["data"][:3] == ["data", "Pending", "standard"]
    for kind, name in (("pv", "pv0"), ("pvc", "data"), ("sc", "manual")):
        rc, out, err = await kubectl(kubeconfig, "describe", kind, name)
        assert rc == 0, err
        assert name in out
    # The protection finalizers hold them until their controller (or we) let go.
    for kind, name in (("pvc", "data"), ("pv", "pv0")):
        rc, out, err = await kubectl(kubeconfig, "delete", kind, name, "--wait=false")
        assert rc == 0, err
        rc, out, err = await kubectl(kubeconfig, "get", kind, name)
        assert rc == 0 and "Terminating" in out, err
        rc, out, err = await kubectl(kubeconfig, "patch", kind, name, "--type=merge", "-p",
                                     '{"metadata":{"finalizers":null}}')
        assert rc == 0, err
        rc, out, err = await kubectl(kubeconfig, "get", kind, name)
        assert rc != 0 and "NotFound" in err
    rc, out, err = await kubectl(kubeconfig, "delete", "sc", "manual")
    assert rc == 0, err


@needs_kubectl
async def test_kubectl_refuses_an_nfs_volume_naming_the_source(kubeconfig: Path) -> None:
    body = pv("nfs0")
    del body["spec"]["hostPath"]
    body["spec"]["nfs"] = {"server": "10.0.0.1", "path": "/exports"}
    rc, _, err = await kubectl(kubeconfig, "create", "-f", "-", stdin=json.dumps(body))
    assert rc != 0
    assert ("spec.nfs: Forbidden: volume type nfs is not supported by minikube-py "
            "(supported: hostPath, local)") in err


@needs_kubectl
async def test_kubectl_api_resources_lists_the_storage_kinds(kubeconfig: Path) -> None:
    rc, out, err = await kubectl(kubeconfig, "api-resources", "--api-group=storage.k8s.io")
    assert rc == 0, err
    got = rows(out)
    assert got["storageclasses"] == ["storageclasses", "sc", "storage.k8s.io/v1", "false",
                                     "StorageClass"]
    assert got["csistoragecapacities"][1:] == ["storage.k8s.io/v1", "true",
                                               "CSIStorageCapacity"]
    assert {"csidrivers", "csinodes", "volumeattachments"} <= set(got)
    rc, out, err = await kubectl(kubeconfig, "api-resources", "--api-group=")
    assert rc == 0, err
    got = rows(out)
    assert got["persistentvolumes"] == ["persistentvolumes", "pv", "v1", "false",
                                        "PersistentVolume"]
    assert got["persistentvolumeclaims"] == ["persistentvolumeclaims", "pvc", "v1", "true",
                                             "PersistentVolumeClaim"]


async def test_python_client_reads_the_storage_kinds_typed(server: TestServer) -> None:
    from kubernetes import client

    def work() -> list[Any]:
        api = official_client(server)
        core, storage = client.CoreV1Api(api), client.StorageV1Api(api)
        core.create_persistent_volume(client.V1PersistentVolume(
            metadata=client.V1ObjectMeta(name="pv0"), spec=client.V1PersistentVolumeSpec(
                capacity={"storage": "1Gi"}, access_modes=["ReadWriteOnce"],
                local=client.V1LocalVolumeSource(path="/mnt/disk"),
                node_affinity=client.V1VolumeNodeAffinity(required=client.V1NodeSelector(
                    node_selector_terms=[client.V1NodeSelectorTerm(match_expressions=[
                        client.V1NodeSelectorRequirement(key="kubernetes.io/hostname",
                                                         operator="In", values=["n1"])])])))))
        core.create_namespaced_persistent_volume_claim("default", client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name="data"), spec=client.V1PersistentVolumeClaimSpec(
                access_modes=["ReadWriteOnce"], storage_class_name="",
                resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}))))
        storage.create_csi_driver(client.V1CSIDriver(
            metadata=client.V1ObjectMeta(name="csi.example.com"),
            spec=client.V1CSIDriverSpec()))
        storage.create_csi_node(client.V1CSINode(
            metadata=client.V1ObjectMeta(name="n1"), spec=client.V1CSINodeSpec(drivers=[
                client.V1CSINodeDriver(name="csi.example.com", node_id="n1")])))
        storage.create_volume_attachment(client.V1VolumeAttachment(
            metadata=client.V1ObjectMeta(name="va0"), spec=client.V1VolumeAttachmentSpec(
                attacher="csi.example.com", node_name="n1",
                source=client.V1VolumeAttachmentSource(persistent_volume_name="pv0"))))
        storage.create_namespaced_csi_storage_capacity("default", client.V1CSIStorageCapacity(
            metadata=client.V1ObjectMeta(name="cap0"), storage_class_name="standard",
            capacity="10Gi"))
        claim = core.read_namespaced_persistent_volume_claim("data", "default")
        volumes = core.list_persistent_volume().items
        classes = storage.list_storage_class().items
        return [claim.status.phase, claim.spec.storage_class_name, claim.spec.volume_mode,
                claim.metadata.finalizers,
                [(v.metadata.name, v.spec.persistent_volume_reclaim_policy, v.status.phase,
                  v.spec.local.path) for v in volumes],
                [(c.metadata.name, c.provisioner, c.volume_binding_mode) for c in classes],
                storage.read_csi_driver("csi.example.com").spec.attach_required,
                storage.read_csi_node("n1").spec.drivers[0].node_id,
                storage.read_volume_attachment("va0").status.attached,
                storage.list_namespaced_csi_storage_capacity("default").items[0].capacity]

    out = await asyncio.to_thread(work)
    assert out == ["Pending", "", "Filesystem", [PVC_PROTECTION_FINALIZER],
                   [("pv0", "Retain", "Pending", "/mnt/disk")],
                   [("standard", LOCAL_PATH_PROVISIONER, "WaitForFirstConsumer")],
                   True, "n1", False, "10Gi"]


# --- validation -------------------------------------------------------------------------


async def _invalid(svc: ApiService, resource: Any, body: Obj) -> Causes:
    with pytest.raises(ApiError) as e:
        await svc.create(resource, body, namespace="default" if resource.namespaced else None)
    assert e.value.code == 422, e.value
    return [(c.reason, c.field, c.message) for c in e.value.causes]


async def test_a_volume_needs_one_supported_source(svc: ApiService) -> None:
    body = pv()
    body["spec"]["nfs"] = {"server": "10.0.0.1", "path": "/exports"}
    assert await _invalid(svc, PERSISTENTVOLUMES, body) == [
        ("FieldValueForbidden", "spec.nfs", "Forbidden: may not specify more than 1 volume type")]
    del body["spec"]["hostPath"]
    assert await _invalid(svc, PERSISTENTVOLUMES, body) == [
        ("FieldValueForbidden", "spec.nfs", "Forbidden: volume type nfs is not supported by "
                                            "minikube-py (supported: hostPath, local)")]
    del body["spec"]["nfs"]
    assert await _invalid(svc, PERSISTENTVOLUMES, body) == [
        ("FieldValueRequired", "spec", "Required value: must specify a volume type")]


async def test_a_local_volume_needs_node_affinity(svc: ApiService) -> None:
    body = pv()
    body["spec"]["local"] = {"path": "/mnt/disk"}
    del body["spec"]["hostPath"]
    assert await _invalid(svc, PERSISTENTVOLUMES, body) == [
        ("FieldValueRequired", "spec.nodeAffinity",
         "Required value: Local volume requires node affinity")]
    body["spec"]["nodeAffinity"] = {}
    assert await _invalid(svc, PERSISTENTVOLUMES, body) == [
        ("FieldValueRequired", "spec.nodeAffinity.required",
         "Required value: must specify required node constraints")]


async def test_volume_modes_capacity_and_policy(svc: ApiService) -> None:
    body = pv(accessModes=["ReadWriteOncePod", "ReadWriteOnce"], capacity={},
              persistentVolumeReclaimPolicy="Keep")
    causes = await _invalid(svc, PERSISTENTVOLUMES, body)
    assert causes[0] == ("FieldValueForbidden", "spec.accessModes",
                         "Forbidden: may not use ReadWriteOncePod with other access modes")
    assert ("FieldValueRequired", "spec.capacity", "Required value") in causes
    assert causes[-1] == ("FieldValueNotSupported", "spec.persistentVolumeReclaimPolicy",
                          'Unsupported value: "Keep": supported values: "Delete", '
                          '"Recycle", "Retain"')
    causes = await _invalid(svc, PERSISTENTVOLUMES, pv(accessModes=[], capacity={"storage": "0"}))
    assert causes == [("FieldValueRequired", "spec.accessModes", "Required value"),
                      ("FieldValueInvalid", "spec.capacity[storage]",
                       'Invalid value: "0": must be greater than zero')]


async def test_block_volumes_and_mount_options_are_refused(svc: ApiService) -> None:
    assert await _invalid(svc, PERSISTENTVOLUMES, pv(volumeMode="Block",
                                                     mountOptions=["noatime"])) == [
        ("FieldValueForbidden", "spec.volumeMode", "Forbidden: raw block volumes are not "
                                                   "supported by minikube-py (supported: "
                                                   "Filesystem)"),
        ("FieldValueForbidden", "spec.mountOptions", "Forbidden: mount options are not "
                                                     "supported by minikube-py for hostPath "
                                                     "and local volumes")]
    assert [c[1] for c in await _invalid(svc, PERSISTENTVOLUMECLAIMS, pvc(
        volumeMode="Block", dataSource={"kind": "PersistentVolumeClaim", "name": "src"}))] == [
        "spec.volumeMode", "spec.dataSource"]


async def test_a_volumes_source_is_immutable(svc: ApiService) -> None:
    await svc.create(PERSISTENTVOLUMES, pv())
    stored = await svc.get(PERSISTENTVOLUMES, "pv0")
    stored["spec"]["hostPath"]["path"] = "/elsewhere"
    with pytest.raises(ApiError) as e:
        await svc.update(PERSISTENTVOLUMES, stored)
    assert [(c.field, c.message) for c in e.value.causes] == [
        ("spec.persistentvolumesource",
         "Forbidden: spec.persistentvolumesource is immutable after creation")]


async def test_a_claim_needs_modes_and_a_positive_request(svc: ApiService) -> None:
    body = pvc(accessModes=[])
    del body["spec"]["resources"]
    assert await _invalid(svc, PERSISTENTVOLUMECLAIMS, body) == [
        ("FieldValueRequired", "spec.accessModes",
         "Required value: at least 1 access mode is required"),
        ("FieldValueRequired", "spec.resources[storage]", "Required value")]
    body = pvc(resources={"requests": {"storage": "0"}}, volumeMode="Raw")
    assert await _invalid(svc, PERSISTENTVOLUMECLAIMS, body) == [
        ("FieldValueInvalid", "spec.resources[storage]",
         'Invalid value: "0": must be greater than zero'),
        ("FieldValueNotSupported", "spec.volumeMode",
         'Unsupported value: "Raw": supported values: "Block", "Filesystem"')]


async def test_selectors_and_topologies_are_checked(svc: ApiService) -> None:
    selector = {"matchExpressions": [{"key": "tier", "operator": "Near"}]}
    assert await _invalid(svc, PERSISTENTVOLUMECLAIMS, pvc(selector=selector)) == [
        ("FieldValueInvalid", "spec.selector.matchExpressions[0].operator",
         'Invalid value: "Near": not a valid selector operator')]
    assert [c[1] for c in await _invalid(svc, CSISTORAGECAPACITIES, {
        "metadata": {"name": "c"}, "storageClassName": "fast", "nodeTopology": selector})] == [
        "nodeTopology.matchExpressions[0].operator"]
    zone = {"key": "topology.kubernetes.io/zone", "values": ["a", "a"]}
    causes = await _invalid(svc, STORAGECLASSES, sc(allowedTopologies=[
        {"matchLabelExpressions": [zone, {**zone, "values": []}]},
        {"matchLabelExpressions": [{**zone, "values": ["b"]}]},
        {"matchLabelExpressions": [{**zone, "values": ["b"]}]}]))
    at = "allowedTopologies[0].matchLabelExpressions"
    assert causes == [
        ("FieldValueDuplicate", f"{at}[0].values", 'Duplicate value: "a"'),
        ("FieldValueRequired", f"{at}[1].values",
         "Required value: must specify as least one value"),
        ("FieldValueDuplicate", f"{at}[1].key",
         'Duplicate value: "topology.kubernetes.io/zone"'),
        ("FieldValueDuplicate", "allowedTopologies[2].matchLabelExpressions",
         'Duplicate value: ""')]


async def test_a_claims_spec_is_immutable_but_for_its_volume_name(svc: ApiService) -> None:
    await svc.create(PERSISTENTVOLUMECLAIMS, pvc(), namespace="default")
    stored = await svc.get(PERSISTENTVOLUMECLAIMS, "data", namespace="default")
    stored["spec"]["volumeName"] = "pv0"  # the binder's write
    bound = await svc.update(PERSISTENTVOLUMECLAIMS, stored, namespace="default")
    assert bound["spec"]["volumeName"] == "pv0"
    for change, cause in (
            ({"volumeName": "pv1"}, ("spec", f"Forbidden: {IMMUTABLE_SPEC}")),
            ({"accessModes": ["ReadWriteMany"]}, ("spec", f"Forbidden: {IMMUTABLE_SPEC}")),
            ({"resources": {"requests": {"storage": "2Gi"}}},
             ("spec.resources.requests.storage", f"Forbidden: {NO_EXPANSION}")),
            ({"resources": {"requests": {"storage": "1Mi"}}},
             ("spec.resources.requests.storage",
              "Forbidden: field can not be less than previous value"))):
        body = {**bound, "spec": {**bound["spec"], **change}}
        with pytest.raises(ApiError) as e:
            await svc.update(PERSISTENTVOLUMECLAIMS, body, namespace="default")
        assert [(c.field, c.message) for c in e.value.causes] == [cause]


async def test_storageclass_validation_and_immutability(svc: ApiService) -> None:
    causes = await _invalid(svc, STORAGECLASSES, sc(provisioner="", reclaimPolicy="Recycle",
                                                     volumeBindingMode="Later"))
    assert causes == [
        ("FieldValueRequired", "provisioner", "Required value"),
        ("FieldValueNotSupported", "reclaimPolicy",
         'Unsupported value: "Recycle": supported values: "Delete", "Retain"'),
        ("FieldValueNotSupported", "volumeBindingMode",
         'Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"')]
    made = await svc.create(STORAGECLASSES, sc(parameters={"type": "ssd"}))
    assert (made["reclaimPolicy"], made["volumeBindingMode"]) == ("Delete", "Immediate")
    changed = {**made, "provisioner": "example.com/other", "parameters": {"type": "hdd"},
               "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer"}
    with pytest.raises(ApiError) as e:
        await svc.update(STORAGECLASSES, changed)
    assert [(c.field, c.message) for c in e.value.causes] == [
        ("parameters", "Forbidden: updates to parameters are forbidden."),
        ("provisioner", "Forbidden: updates to provisioner are forbidden."),
        ("reclaimPolicy", "Forbidden: updates to reclaimPolicy are forbidden."),
        ("volumeBindingMode", 'Invalid value: "WaitForFirstConsumer": field is immutable')]
    await svc.update(STORAGECLASSES, {**made, "allowVolumeExpansion": True})


@needs_kubectl
async def test_a_class_allowing_expansion_warns_it_has_no_effect(kubeconfig: Path) -> None:
    rc, _, err = await kubectl(kubeconfig, "create", "-f", "-",
                               stdin=json.dumps(sc(allowVolumeExpansion=True)))
    assert rc == 0, err
    assert f"Warning: {EXPANSION_HAS_NO_EFFECT}" in err
    rc, _, err = await kubectl(kubeconfig, "create", "-f", "-", stdin=json.dumps(sc("plain")))
    assert rc == 0 and "Warning" not in err, err


def test_a_protobuf_volume_decodes_its_inlined_source_and_kept_zeros() -> None:
    capacity = field(1, field(1, "storage") + field(2, field(1, "1Gi")))
    spec = capacity + field(2, field(3, field(1, "/data"))) + field(3, "ReadWriteOnce") + \
        field(8, "Filesystem")
    assert decode_message(spec, "core.PersistentVolumeSpec") == {
        "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/data"},
        "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}
    storage_class = field(1, field(1, "c")) + field(2, "example.com/c") + field(6, 0)
    assert decode_message(storage_class, "storage.StorageClass") == {
        "metadata": {"name": "c"}, "provisioner": "example.com/c",
        "allowVolumeExpansion": False}


async def test_a_protobuf_create_of_a_volume_is_stored(server: TestServer) -> None:
    import aiohttp

    spec = field(1, field(1, "storage") + field(2, field(1, "1Gi"))) + \
        field(2, field(3, field(1, "/data"))) + field(3, "ReadWriteOnce")
    body = envelope("v1", "PersistentVolume", field(1, field(1, "pb")) + field(2, spec))
    url = f"http://127.0.0.1:{server.port}/api/v1/persistentvolumes"
    async with aiohttp.ClientSession() as s, s.post(
            url, data=body, headers={"Content-Type": "application/vnd.kubernetes.protobuf",
                                     "Accept": "application/json"}) as r:
        made = await r.json()
    assert r.status == 201, made
    assert (made["spec"]["hostPath"], made["spec"]["persistentVolumeReclaimPolicy"],
            made["status"]["phase"]) == ({"path": "/data", "type": ""}, "Retain", "Pending")


async def test_csi_kinds_basic_validation(svc: ApiService) -> None:
    driver = await svc.create(CSIDRIVERS, {"metadata": {"name": "csi.example.com"},
                                           "spec": {"fsGroupPolicy": "File"}})
    assert driver["spec"]["attachRequired"] is True
    assert await _invalid(svc, CSIDRIVERS, {"metadata": {"name": "d.example.com"},
                                            "spec": {"volumeLifecycleModes": ["Forever"]}}) == [
        ("FieldValueNotSupported", "spec.volumeLifecycleModes[0]",
         'Unsupported value: "Forever": supported values: "Ephemeral", "Persistent"')]
    assert await _invalid(svc, CSINODES, {"metadata": {"name": "n1"}, "spec": {"drivers": [
        {"name": "a.example.com"}]}}) == [
        ("FieldValueRequired", "spec.drivers[0].nodeID", "Required value")]
    va = {"metadata": {"name": "va0"}, "spec": {"attacher": "csi.example.com",
                                                 "nodeName": "n1", "source": {}}}
    assert await _invalid(svc, VOLUMEATTACHMENTS, va) == [
        ("FieldValueRequired", "spec.source", "Required value: must specify exactly one of "
                                              "inlineVolumeSpec and persistentVolumeName")]
    va["spec"]["source"] = {"inlineVolumeSpec": {"csi": {"driver": "d", "volumeHandle": "h"}}}
    assert (await _invalid(svc, VOLUMEATTACHMENTS, va))[0][1] == "spec.source.inlineVolumeSpec"
    assert await _invalid(svc, CSISTORAGECAPACITIES, {"metadata": {"name": "c"},
                                                      "capacity": "-1"}) == [
        ("FieldValueRequired", "storageClassName", "Required value"),
        ("FieldValueInvalid", "capacity", 'Invalid value: "-1": must be greater than or '
                                          'equal to 0')]


# --- admission --------------------------------------------------------------------------


async def test_the_standard_class_exists_from_the_start(svc: ApiService) -> None:
    standard = await svc.get(STORAGECLASSES, "standard")
    assert standard["metadata"]["annotations"] == {DEFAULT_CLASS_ANNOTATION: "true"}
    assert (standard["provisioner"], standard["reclaimPolicy"],
            standard["volumeBindingMode"]) == (LOCAL_PATH_PROVISIONER, "Delete",
                                               "WaitForFirstConsumer")


async def test_a_claim_without_a_class_gets_the_default(svc: ApiService) -> None:
    made = await svc.create(PERSISTENTVOLUMECLAIMS, pvc("a"), namespace="default")
    assert made["spec"]["storageClassName"] == "standard"
    made = await svc.create(PERSISTENTVOLUMECLAIMS, pvc("b", storageClassName=""),
                            namespace="default")
    assert made["spec"]["storageClassName"] == ""  # "" asks for no class at all
    await svc.delete(STORAGECLASSES, "standard")
    made = await svc.create(PERSISTENTVOLUMECLAIMS, pvc("c"), namespace="default")
    assert "storageClassName" not in made["spec"]


def test_the_newest_default_class_wins_then_the_first_by_name() -> None:
    def at(name: str, ts: str, default: bool = True) -> Obj:
        body = sc(name, default)
        body["metadata"]["creationTimestamp"] = ts
        return body

    classes = [at("old", "2024-01-01T00:00:00Z"), at("b", "2024-02-01T00:00:00Z"),
               at("a", "2024-02-01T00:00:00Z"), at("newest", "2024-03-01T00:00:00Z", False)]
    chosen = newest_default_class(classes)
    assert chosen is not None and chosen["metadata"]["name"] == "a"
    assert newest_default_class([at("x", "2024-01-01T00:00:00Z", False)]) is None


async def test_new_claims_and_volumes_carry_the_protection_finalizer(svc: ApiService) -> None:
    claim = await svc.create(PERSISTENTVOLUMECLAIMS, pvc(), namespace="default")
    volume = await svc.create(PERSISTENTVOLUMES, pv())
    assert claim["metadata"]["finalizers"] == [PVC_PROTECTION_FINALIZER]
    assert volume["metadata"]["finalizers"] == [PV_PROTECTION_FINALIZER]
    # A deleted claim stays, marked, until the finalizer goes.
    await svc.delete(PERSISTENTVOLUMECLAIMS, "data", namespace="default")
    held = await svc.get(PERSISTENTVOLUMECLAIMS, "data", namespace="default")
    assert held["metadata"]["deletionTimestamp"]
    held["metadata"]["finalizers"] = []
    await svc.update(PERSISTENTVOLUMECLAIMS, held, namespace="default")
    with pytest.raises(ApiError) as e:
        await svc.get(PERSISTENTVOLUMECLAIMS, "data", namespace="default")
    assert e.value.code == 404


# --- printers ---------------------------------------------------------------------------


def test_a_bound_claim_prints_its_volumes_capacity_and_modes() -> None:
    claim = {"metadata": {"name": "data"}, "spec": {"volumeName": "pv0",
                                                    "storageClassName": "manual",
                                                    "volumeMode": "Filesystem"},
             "status": {"phase": "Bound", "capacity": {"storage": "2Gi"},
                        "accessModes": ["ReadWriteOncePod"]}}
    assert persistentvolumeclaim_row(claim, 0)[:7] == ["data", "Bound", "pv0", "2Gi", "RWOP",
                                                       "manual", "<unset>"]
    claim["spec"]["volumeName"] = ""
    assert persistentvolumeclaim_row(claim, 0)[2:5] == ["", "", ""]


def test_a_volume_prints_its_claim_and_terminating() -> None:
    volume = {"metadata": {"name": "pv0", "deletionTimestamp": "2024-01-01T00:00:00Z"},
              "spec": {"capacity": {"storage": "1Gi"},
                       "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteMany"],
                       "claimRef": {"namespace": "default", "name": "data"}},
              "status": {"phase": "Bound"}}
    row = persistentvolume_row(volume, 0)
    assert row[:7] == ["pv0", "1Gi", "RWO,RWX", "", "Terminating", "default/data", ""]


def test_the_default_class_prints_default_after_its_name() -> None:
    assert storageclass_row(sc("fast", default=True), 0)[:5] == [
        "fast (default)", "example.com/fast", "Delete", "Immediate", False]


def test_csi_rows() -> None:
    driver = {"metadata": {"name": "d"}, "spec": {
        "attachRequired": True, "tokenRequests": [{"audience": "a"}, {"audience": "b"}],
        "volumeLifecycleModes": ["Persistent", "Ephemeral"]}}
    assert csidriver_row(driver, 0)[:7] == ["d", True, False, False, "a,b", False,
                                            "Persistent,Ephemeral"]
    attachment = {"metadata": {"name": "va"}, "spec": {
        "attacher": "d", "nodeName": "n1", "source": {"persistentVolumeName": "pv0"}},
        "status": {"attached": True}}
    assert volumeattachment_row(attachment, 0)[:5] == ["va", "d", "pv0", "n1", True]
    assert csistoragecapacity_row({"metadata": {"name": "c"}, "storageClassName": "s"},
                                  0)[:3] == ["c", "s", "<unset>"]


@pytest.mark.parametrize(("seconds", "message"), [
    (599, "may not specify a duration less than 10 minutes"),
    (2**32, "may not specify a duration larger than 2^32 seconds"),
])
def test_a_csi_token_lives_ten_minutes_to_2_32_seconds(seconds: int, message: str) -> None:
    driver = {"metadata": {"name": "d"}, "spec": {
        "attachRequired": True, "podInfoOnMount": False, "requiresRepublish": False,
        "storageCapacity": False,
        "tokenRequests": [{"audience": "a", "expirationSeconds": seconds}]}}
    assert [(c.field, c.message) for c in csidriver_errors(driver)] == [
        ("spec.tokenRequests[0].expirationSeconds", f"Invalid value: {seconds}: {message}")]


async def test_attachment_spec_and_capacity_class_are_immutable(svc: ApiService) -> None:
    va = await svc.create(VOLUMEATTACHMENTS, {"metadata": {"name": "va0"}, "spec": {
        "attacher": "csi.example.com", "nodeName": "n1",
        "source": {"persistentVolumeName": "pv0"}}})
    with pytest.raises(ApiError) as e:
        await svc.update(VOLUMEATTACHMENTS, {**va, "spec": {**va["spec"], "nodeName": "n2"}})
    assert [c.field for c in e.value.causes] == ["spec"]
    attached = await svc.update(VOLUMEATTACHMENTS, {**va, "status": {"attached": True}},
                                subresource="status")
    assert attached["status"]["attached"] is True
    cap = await svc.create(CSISTORAGECAPACITIES, {"metadata": {"name": "c"},
                                                  "storageClassName": "fast"},
                           namespace="default")
    grown = await svc.update(CSISTORAGECAPACITIES, {**cap, "capacity": "5Gi"},
                             namespace="default")
    with pytest.raises(ApiError) as e:
        await svc.update(CSISTORAGECAPACITIES, {**grown, "storageClassName": "slow"},
                         namespace="default")
    assert [(c.field, c.message) for c in e.value.causes] == [
        ("storageClassName", 'Invalid value: "slow": field is immutable')]
