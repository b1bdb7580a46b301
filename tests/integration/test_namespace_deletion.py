"""Deleting a namespace empties it (pods leave through their kubelet), then removes it."""

from __future__ import annotations

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import (
    CONFIGMAPS,
    NAMESPACES,
    PODS,
    SERVICES,
)
from minikube_py.controllers.namespace import NamespaceController
from tests.integration.customresources import serve_widgets
from tests.integration.harness import ControlPlane, control_plane, eventually


async def namespace_gone(plane: ControlPlane, name: str) -> bool:
    try:
        await plane.api.get(NAMESPACES, name)
    except ApiError as e:
        return e.code == 404
    return False


async def test_deleting_a_namespace_deletes_its_content_then_the_namespace() -> None:
    async with control_plane(nodes=1) as plane:
        plane.start("namespace", NamespaceController(plane.ctx, recheck_interval=0.1).run)
        await plane.api.create(NAMESPACES, {"metadata": {"name": "team"}})
        await plane.api.create(PODS, {"metadata": {"name": "p"}, "spec": {
            "containers": [{"name": "c", "image": "busybox"}]}}, namespace="team")
        await plane.api.create(SERVICES, {"metadata": {"name": "s"}, "spec": {
            "ports": [{"port": 80}]}}, namespace="team")
        await plane.api.create(CONFIGMAPS, {"metadata": {"name": "c"}}, namespace="team")

        async def running() -> bool:
            pod = await plane.api.get(PODS, "p", namespace="team")
            return bool(pod["status"].get("phase") == "Running")

        await eventually(running, plane=plane, what="pod running")
        await plane.api.delete(NAMESPACES, "team")
        await eventually(lambda: namespace_gone(plane, "team"), plane=plane,
                         what="namespace gone")
        for resource in (PODS, SERVICES, CONFIGMAPS):
            assert (await plane.api.list(resource, namespace="team"))["items"] == []


async def test_a_namespace_waits_for_content_held_by_a_finalizer() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("namespace", NamespaceController(plane.ctx, recheck_interval=0.1).run)
        await plane.api.create(NAMESPACES, {"metadata": {"name": "held"}})
        await plane.api.create(CONFIGMAPS, {"metadata": {
            "name": "c", "finalizers": ["example.com/hold"]}}, namespace="held")
        await plane.api.delete(NAMESPACES, "held")

        async def reported() -> dict[str, str] | None:
            ns = await plane.api.get(NAMESPACES, "held")
            conds = {c["type"]: c for c in (ns.get("status") or {}).get("conditions") or []}
            c = conds.get("NamespaceFinalizersRemaining")
            return c if c and c["status"] == "True" else None

        cond = await eventually(reported, plane=plane, what="finalizers remaining condition")
        assert cond["message"] == ("Some content in the namespace has finalizers remaining: "
                                   "example.com/hold in 1 resource instances")
        await plane.api.patch(CONFIGMAPS, "c", {"metadata": {"finalizers": None}},
                              namespace="held")

        async def gone() -> bool:
            try:
                await plane.api.get(NAMESPACES, "held")
            except ApiError as e:
                return e.code == 404
            return False

        await eventually(gone, plane=plane, what="namespace gone")


async def test_deleting_a_namespace_deletes_its_custom_resources() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("namespace", NamespaceController(plane.ctx, recheck_interval=0.1).run)
        widgets = await serve_widgets(plane)
        await plane.api.create(NAMESPACES, {"metadata": {"name": "team"}})
        await plane.api.create(widgets, {"apiVersion": "example.com/v1", "kind": "Widget",
                                         "metadata": {"name": "w"}}, namespace="team")
        await plane.api.delete(NAMESPACES, "team")
        await eventually(lambda: namespace_gone(plane, "team"), plane=plane,
                         what="namespace gone")
        assert (await plane.api.list(widgets, namespace="team"))["items"] == []
