"""The garbage collector over the real API service: background, foreground and orphan
deletion of hand-made owners and dependents."""

from __future__ import annotations

from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CONFIGMAPS
from minikube_py.controllers.garbagecollector import GarbageCollector
from tests.integration.customresources import serve_widgets
from tests.integration.harness import ControlPlane, control_plane, eventually


def ref(owner: dict[str, Any], block: bool = False) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "blockOwnerDeletion": block}


async def cm(plane: ControlPlane, name: str, *owners: dict[str, Any],
             block: bool = False, finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name,
                            "ownerReferences": [ref(o, block) for o in owners]}
    if finalizers:
        meta["finalizers"] = finalizers
    return await plane.api.create(CONFIGMAPS, {"metadata": meta}, namespace="default")


async def exists(plane: ControlPlane, name: str) -> dict[str, Any] | None:
    try:
        return await plane.api.get(CONFIGMAPS, name, namespace="default")
    except ApiError:
        return None


def start(plane: ControlPlane) -> None:
    plane.start("gc", GarbageCollector(plane.ctx).run)


async def test_background_deletion_removes_dependents_and_their_dependents() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start(plane)
        owner = await cm(plane, "owner")
        child = await cm(plane, "child", owner)
        await cm(plane, "grandchild", child)
        await plane.api.delete(CONFIGMAPS, "owner", namespace="default")

        async def all_gone() -> bool:
            return not await exists(plane, "child") and not await exists(plane, "grandchild")

        await eventually(all_gone, plane=plane, what="dependents collected")


async def test_a_dependent_with_a_remaining_owner_survives_and_loses_the_dead_ref() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start(plane)
        a, b = await cm(plane, "a"), await cm(plane, "b")
        await cm(plane, "shared", a, b)
        await plane.api.delete(CONFIGMAPS, "a", namespace="default")

        async def one_ref() -> list[Any] | None:
            shared = await exists(plane, "shared")
            refs = shared["metadata"].get("ownerReferences") if shared else None
            return refs if refs is not None and len(refs) == 1 else None

        refs = await eventually(one_ref, plane=plane, what="dangling ref removed")
        assert refs[0]["name"] == "b"
        await plane.api.delete(CONFIGMAPS, "b", namespace="default")

        async def gone() -> bool:
            return await exists(plane, "shared") is None

        await eventually(gone, plane=plane, what="shared collected with its last owner")


async def test_foreground_deletion_removes_blocking_dependents_before_the_owner() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        # A finalizer holds the dependent, so the owner is seen waiting for it.
        owner = await cm(plane, "owner")
        await cm(plane, "child", owner, block=True, finalizers=["example.com/hold"])
        start(plane)
        await plane.api.delete(CONFIGMAPS, "owner", namespace="default",
                               propagation_policy="Foreground")

        async def child_deleting() -> bool:
            child = await exists(plane, "child")
            return bool(child and child["metadata"].get("deletionTimestamp"))

        await eventually(child_deleting, plane=plane, what="child being deleted")
        waiting = await exists(plane, "owner")
        assert waiting is not None and "foregroundDeletion" in waiting["metadata"]["finalizers"]
        await plane.api.patch(CONFIGMAPS, "child", {"metadata": {"finalizers": None}},
                              namespace="default")

        async def owner_gone() -> bool:
            return await exists(plane, "owner") is None and await exists(plane, "child") is None

        await eventually(owner_gone, plane=plane, what="owner gone after child")


async def test_orphan_deletion_keeps_dependents_without_the_owner_ref() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start(plane)
        owner = await cm(plane, "owner")
        await cm(plane, "child", owner)
        await plane.api.delete(CONFIGMAPS, "owner", namespace="default",
                               propagation_policy="Orphan")

        async def orphaned() -> dict[str, Any] | None:
            child = await exists(plane, "child")
            if await exists(plane, "owner") is None and child is not None and \
                    not child["metadata"].get("ownerReferences"):
                return child
            return None

        child = await eventually(orphaned, plane=plane, what="owner gone, child orphaned")
        assert not child["metadata"].get("deletionTimestamp")


async def test_custom_resources_own_and_are_owned() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        start(plane)
        widgets = await serve_widgets(plane)
        owner = await plane.api.create(widgets, {
            "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
            namespace="default")
        await plane.api.create(CONFIGMAPS, {"metadata": {"name": "of-widget", "ownerReferences": [
            {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w",
             "uid": owner["metadata"]["uid"]}]}}, namespace="default")
        cm_owner = await cm(plane, "cm-owner")
        await plane.api.create(widgets, {
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "of-cm", "ownerReferences": [ref(cm_owner)]}},
            namespace="default")
        await plane.api.delete(widgets, "w", namespace="default")
        await plane.api.delete(CONFIGMAPS, "cm-owner", namespace="default")

        async def collected() -> bool:
            left = (await plane.api.list(widgets, namespace="default"))["items"]
            return not left and not await exists(plane, "of-widget")

        await eventually(collected, plane=plane, what="dependents of and on widgets collected")
