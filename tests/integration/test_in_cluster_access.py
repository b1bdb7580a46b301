"""What pods need to reach the API from inside, on the in-process control plane: every
namespace gets a `default` ServiceAccount and the cluster CA in `kube-root-ca.crt` (put back
when deleted or edited); a new pod gets the service-account volume."""

from __future__ import annotations

from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS, NAMESPACES, PODS
from minikube_py.controllers.rootcacertpublisher import RootCaCertPublisher
from minikube_py.controllers.serviceaccount import ServiceAccountController
from tests.integration.harness import ControlPlane, control_plane, eventually

CA = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n"
Obj = dict[str, Any]


def start_controllers(plane: ControlPlane) -> None:
    plane.start("serviceaccount", ServiceAccountController(plane.ctx).run)
    plane.start("root-ca", RootCaCertPublisher(plane.ctx, root_ca=CA).run)


async def root_ca(plane: ControlPlane, ns: str) -> Obj | None:
    try:
        return await plane.api.get(CONFIGMAPS, "kube-root-ca.crt", namespace=ns)
    except ApiError:
        return None


async def test_a_new_namespace_gets_the_root_ca_configmap() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start_controllers(plane)
        await plane.api.create(NAMESPACES, {"metadata": {"name": "fresh"}})
        cm = await eventually(lambda: root_ca(plane, "fresh"), plane=plane,
                              what="kube-root-ca.crt in fresh")
        assert cm["data"] == {"ca.crt": CA}
        assert cm["metadata"]["annotations"]["kubernetes.io/description"].startswith(
            "Contains a CA bundle")
        assert await root_ca(plane, "kube-system") is not None


async def test_a_deleted_root_ca_configmap_is_made_again() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start_controllers(plane)
        before = await eventually(lambda: root_ca(plane, "default"), plane=plane,
                                  what="kube-root-ca.crt")
        await plane.api.delete(CONFIGMAPS, "kube-root-ca.crt", namespace="default")

        async def made_again() -> bool:
            cm = await root_ca(plane, "default")
            return cm is not None and cm["metadata"]["uid"] != before["metadata"]["uid"]

        await eventually(made_again, plane=plane, what="kube-root-ca.crt made again")


async def test_an_edited_root_ca_configmap_is_put_back() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start_controllers(plane)
        cm = await eventually(lambda: root_ca(plane, "default"), plane=plane,
                              what="kube-root-ca.crt")
        cm["data"] = {"ca.crt": "not the CA"}
        await plane.api.update(CONFIGMAPS, cm, namespace="default")

        async def put_back() -> bool:
            now = await root_ca(plane, "default")
            return now is not None and now["data"] == {"ca.crt": CA}

        await eventually(put_back, plane=plane, what="the CA back in kube-root-ca.crt")


async def test_a_pod_in_a_new_namespace_gets_the_service_account_volume() -> None:
    async with control_plane(nodes=1, service_account_admission=True) as plane:
        start_controllers(plane)
        await plane.api.create(NAMESPACES, {"metadata": {"name": "apps"}})
        # Right after its namespace: admission waits for the default account's controller.
        pod = await plane.api.create(PODS, {
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}, namespace="apps")
        spec = pod["spec"]
        assert spec["serviceAccountName"] == "default"
        (volume,) = spec["volumes"]
        assert volume["name"].startswith("kube-api-access-")
        assert [s for source in volume["projected"]["sources"] for s in source] == [
            "serviceAccountToken", "configMap", "downwardAPI"]
        assert spec["containers"][0]["volumeMounts"] == [
            {"name": volume["name"], "readOnly": True,
             "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]


async def test_a_pod_opting_out_gets_no_token() -> None:
    async with control_plane(nodes=0, scheduler=False, service_account_admission=True) as plane:
        start_controllers(plane)
        pod = await plane.api.create(PODS, {
            "metadata": {"name": "quiet"},
            "spec": {"automountServiceAccountToken": False,
                     "containers": [{"name": "c", "image": "busybox"}]}}, namespace="default")
        assert "volumes" not in pod["spec"]
        assert "volumeMounts" not in pod["spec"]["containers"][0]
