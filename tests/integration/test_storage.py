"""Storage over the real API service, scheduler and simulated nodes: static volumes bound to
claims, the default class's local-path provisioning at the first consumer, the scheduler
following a volume's node, claim protection, reclaim, and StatefulSet claims. The test plays
the kubelet's part for the provisioner's helper pods (simulated nodes run nothing): it
finishes them."""

from __future__ import annotations

from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    EVENTS,
    PERSISTENTVOLUMECLAIMS,
    PERSISTENTVOLUMES,
    PODS,
    STATEFULSETS,
)
from minikube_py.api.storage import (
    LOCAL_PATH_PROVISIONER,
    PROVISIONED_BY_ANNOTATION,
    SELECTED_NODE_ANNOTATION,
)
from minikube_py.controllers.garbagecollector import GarbageCollector
from minikube_py.controllers.localpath import LocalPathProvisioner
from minikube_py.controllers.persistentvolume import PersistentVolumeController
from minikube_py.controllers.statefulset import StatefulSetController
from minikube_py.controllers.volumeprotection import VolumeProtectionController
from tests.integration.harness import ControlPlane, control_plane, eventually

Obj = dict[str, Any]
NS = "default"


def start_storage(plane: ControlPlane) -> None:
    plane.start("pv-binder", PersistentVolumeController(plane.ctx.for_controller()).run)
    plane.start("pv-protection", VolumeProtectionController(plane.ctx.for_controller()).run)
    plane.start("local-path", LocalPathProvisioner(plane.ctx.for_controller()).run)


def host_volume(name: str, *, size: str = "1Gi", cls: str = "", node: str | None = None,
                claim: str | None = None, policy: str = "Retain") -> Obj:
    spec: Obj = {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
                 "storageClassName": cls, "persistentVolumeReclaimPolicy": policy,
                 "hostPath": {"path": f"/srv/{name}"}}
    if node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    if claim:
        spec["claimRef"] = {"namespace": NS, "name": claim}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": spec}


def claim_body(name: str, *, size: str = "1Gi", cls: str | None = None) -> Obj:
    spec: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": spec}


def pod_body(name: str, claim: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "volumeMounts": [{"name": "d", "mountPath": "/d"}]}],
                     "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}}


async def claim_of(plane: ControlPlane, name: str) -> Obj:
    return await plane.api.get(PERSISTENTVOLUMECLAIMS, name, namespace=NS)


async def phase_of(plane: ControlPlane, resource: Any, name: str) -> str | None:
    try:
        obj = await plane.api.get(resource, name, namespace=NS if resource.namespaced else None)
    except ApiError as e:
        if e.code == 404:
            return "gone"
        raise
    return str((obj.get("status") or {}).get("phase") or "")


async def wait_phase(plane: ControlPlane, resource: Any, name: str, phase: str) -> None:
    async def reached() -> bool:
        return await phase_of(plane, resource, name) == phase

    await eventually(reached, plane=plane, what=f"{resource.kind} {name} {phase}")


async def event_reasons(plane: ControlPlane, name: str) -> list[str]:
    items = (await plane.api.list(EVENTS, namespace=NS))["items"]
    return [e["reason"] for e in items if e["involvedObject"].get("name") == name]


async def finish_helper(plane: ControlPlane, action: str, volume: str) -> Obj:
    """Play the node's kubelet: once the helper pod runs, it succeeds."""
    name = f"helper-{action}-{volume}"

    async def running() -> Obj | None:
        try:
            pod = await plane.api.get(PODS, name, namespace="kube-system")
        except ApiError:
            return None
        return pod if (pod.get("status") or {}).get("phase") == "Running" else None

    pod = await eventually(running, plane=plane, what=f"helper pod {name} running")
    await plane.api.patch(PODS, name, {"status": {"phase": "Succeeded"}},
                          namespace="kube-system", subresource="status")
    return pod


async def delete_claim(plane: ControlPlane, name: str) -> None:
    await plane.api.delete(PERSISTENTVOLUMECLAIMS, name, namespace=NS)
    await wait_phase(plane, PERSISTENTVOLUMECLAIMS, name, "gone")


async def test_a_claim_binds_the_smallest_fitting_static_volume_and_releases_it() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start_storage(plane)
        for name, size in (("big", "10Gi"), ("fits", "2Gi"), ("small", "1Mi")):
            await plane.api.create(PERSISTENTVOLUMES, host_volume(name, size=size))
        await wait_phase(plane, PERSISTENTVOLUMES, "fits", "Available")
        await plane.api.create(PERSISTENTVOLUMECLAIMS, claim_body("data", size="1Gi", cls=""),
                               namespace=NS)
        await wait_phase(plane, PERSISTENTVOLUMECLAIMS, "data", "Bound")
        claim = await claim_of(plane, "data")
        assert claim["spec"]["volumeName"] == "fits"
        assert claim["status"]["capacity"] == {"storage": "2Gi"}
        volume = await plane.api.get(PERSISTENTVOLUMES, "fits")
        assert volume["status"]["phase"] == "Bound"
        assert volume["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
        assert await phase_of(plane, PERSISTENTVOLUMES, "big") == "Available"
        # Retain: the claim goes (nothing uses it: its protection lets go), the data stays.
        await delete_claim(plane, "data")
        await wait_phase(plane, PERSISTENTVOLUMES, "fits", "Released")


async def test_a_volume_pre_bound_to_a_claim_name_waits_for_that_claim() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start_storage(plane)
        await plane.api.create(PERSISTENTVOLUMES, host_volume("reserved", claim="mine"))
        await plane.api.create(PERSISTENTVOLUMECLAIMS, claim_body("other", cls=""), namespace=NS)

        async def said() -> bool:
            return "FailedBinding" in await event_reasons(plane, "other")

        await eventually(said, plane=plane, what="FailedBinding on the other claim")
        assert await phase_of(plane, PERSISTENTVOLUMECLAIMS, "other") == "Pending"
        await plane.api.create(PERSISTENTVOLUMECLAIMS, claim_body("mine", cls=""), namespace=NS)
        await wait_phase(plane, PERSISTENTVOLUMECLAIMS, "mine", "Bound")
        assert (await claim_of(plane, "mine"))["spec"]["volumeName"] == "reserved"


async def test_the_default_class_provisions_on_the_node_the_first_pod_runs_on() -> None:
    async with control_plane(nodes=2) as plane:
        start_storage(plane)
        await plane.api.create(PERSISTENTVOLUMECLAIMS, claim_body("data"), namespace=NS)
        claim = await claim_of(plane, "data")
        assert claim["spec"]["storageClassName"] == "standard"  # DefaultStorageClass

        async def waiting() -> bool:
            return "WaitForFirstConsumer" in await event_reasons(plane, "data")

        await eventually(waiting, plane=plane, what="WaitForFirstConsumer")
        await plane.api.create(PODS, pod_body("app", "data"), namespace=NS)
        volume = f"pvc-{claim['metadata']['uid']}"
        helper = await finish_helper(plane, "create", volume)
        await wait_phase(plane, PERSISTENTVOLUMECLAIMS, "data", "Bound")
        node = (await claim_of(plane, "data"))["metadata"]["annotations"][SELECTED_NODE_ANNOTATION]
        assert helper["spec"]["nodeName"] == node

        async def scheduled() -> str | None:
            pod = await plane.api.get(PODS, "app", namespace=NS)
            return pod["spec"].get("nodeName")

        assert await eventually(scheduled, plane=plane, what="the pod bound") == node
        pv = await plane.api.get(PERSISTENTVOLUMES, volume)
        assert pv["metadata"]["annotations"][PROVISIONED_BY_ANNOTATION] == LOCAL_PATH_PROVISIONER
        assert pv["spec"]["hostPath"]["path"].startswith(f"/var/lib/minikube-py-sim/{node}/")
        assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
        assert {"Provisioning", "ProvisioningSucceeded"} <= set(
            await event_reasons(plane, "data"))

        # The claim is in use: deleting it waits for the pod.
        await plane.api.delete(PERSISTENTVOLUMECLAIMS, "data", namespace=NS)
        assert (await claim_of(plane, "data"))["metadata"]["deletionTimestamp"]
        await plane.api.delete(PODS, "app", namespace=NS)
        await wait_phase(plane, PERSISTENTVOLUMECLAIMS, "data", "gone")
        # Delete: a helper removes the directory on that node, then the volume goes.
        remover = await finish_helper(plane, "delete", volume)
        assert remover["spec"]["nodeName"] == node
        await wait_phase(plane, PERSISTENTVOLUMES, volume, "gone")


async def test_the_scheduler_follows_a_bound_volumes_node() -> None:
    async with control_plane(nodes=2) as plane:
        start_storage(plane)
        await plane.api.create(PERSISTENTVOLUMES, host_volume("on-1", node="sim-1", claim="pinned"))
        await plane.api.create(PERSISTENTVOLUMECLAIMS, claim_body("pinned", cls=""), namespace=NS)
        await wait_phase(plane, PERSISTENTVOLUMECLAIMS, "pinned", "Bound")
        for i in range(3):
            await plane.api.create(PODS, pod_body(f"p{i}", "pinned"), namespace=NS)

        async def placed() -> set[str] | None:
            items = (await plane.api.list(PODS, namespace=NS))["items"]
            nodes = {p["spec"].get("nodeName") for p in items}
            return nodes if len(items) == 3 and None not in nodes else None

        assert await eventually(placed, plane=plane, what="three pods placed") == {"sim-1"}
        # A claim that does not exist keeps a pod Pending, and says so.
        await plane.api.create(PODS, pod_body("lost", "nope"), namespace=NS)

        async def unschedulable() -> str | None:
            pod = await plane.api.get(PODS, "lost", namespace=NS)
            for c in (pod.get("status") or {}).get("conditions") or []:
                if c["type"] == "PodScheduled" and c["status"] == "False":
                    return str(c["message"])
            return None

        message = await eventually(unschedulable, plane=plane, what="lost pod unschedulable")
        assert 'persistentvolumeclaim "nope" not found' in message


async def test_statefulset_claims_outlive_their_pods_and_go_with_a_scale_down() -> None:
    async with control_plane(nodes=1) as plane:
        start_storage(plane)
        plane.start("sts", StatefulSetController(plane.ctx.for_controller()).run)
        plane.start("gc", GarbageCollector(plane.ctx.for_controller()).run)
        for i in range(2):
            await plane.api.create(PERSISTENTVOLUMES, host_volume(f"disk{i}", size="1Gi",
                                                                  cls="manual"))
        sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
               "spec": {"replicas": 2, "serviceName": "db", "podManagementPolicy": "Parallel",
                        "selector": {"matchLabels": {"app": "db"}},
                        "persistentVolumeClaimRetentionPolicy": {"whenScaled": "Delete"},
                        "template": {"metadata": {"labels": {"app": "db"}}, "spec": {
                            "containers": [{"name": "c", "image": "busybox", "volumeMounts": [
                                {"name": "data", "mountPath": "/data"}]}]}},
                        "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                            "accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                            "resources": {"requests": {"storage": "1Gi"}}}}]}}
        await plane.api.create(STATEFULSETS, sts, namespace=NS)
        for i in range(2):
            await wait_phase(plane, PERSISTENTVOLUMECLAIMS, f"data-db-{i}", "Bound")
        pod = await plane.api.get(PODS, "db-0", namespace=NS)
        assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}} in (
            pod["spec"]["volumes"])
        volume = (await claim_of(plane, "data-db-0"))["spec"]["volumeName"]
        await plane.api.delete(PODS, "db-0", namespace=NS)

        async def replaced() -> bool:
            try:
                again = await plane.api.get(PODS, "db-0", namespace=NS)
            except ApiError:
                return False
            return again["metadata"]["uid"] != pod["metadata"]["uid"]

        await eventually(replaced, plane=plane, what="db-0 recreated")
        assert (await claim_of(plane, "data-db-0"))["spec"]["volumeName"] == volume
        await plane.api.patch(STATEFULSETS, "db", {"spec": {"replicas": 1}}, namespace=NS)
        await wait_phase(plane, PODS, "db-1", "gone")
        await wait_phase(plane, PERSISTENTVOLUMECLAIMS, "data-db-1", "gone")
        assert await phase_of(plane, PERSISTENTVOLUMECLAIMS, "data-db-0") == "Bound"
