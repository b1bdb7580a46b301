"""Every active namespace gets a default ServiceAccount, and keeps it."""

from __future__ import annotations

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import NAMESPACES, SERVICEACCOUNTS
from minikube_py.controllers.serviceaccount import ServiceAccountController
from tests.integration.harness import ControlPlane, control_plane, eventually


async def has_default(plane: ControlPlane, ns: str) -> bool:
    try:
        await plane.api.get(SERVICEACCOUNTS, "default", namespace=ns)
    except ApiError:
        return False
    return True


async def test_a_new_namespace_gets_a_default_service_account() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("serviceaccount", ServiceAccountController(plane.ctx).run)
        await plane.api.create(NAMESPACES, {"metadata": {"name": "fresh"}})
        await eventually(lambda: has_default(plane, "fresh"), plane=plane, what="default SA")
        assert await has_default(plane, "kube-system")


async def test_a_deleted_default_service_account_is_recreated() -> None:
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("serviceaccount", ServiceAccountController(plane.ctx).run)
        await eventually(lambda: has_default(plane, "default"), plane=plane, what="default SA")
        before = await plane.api.get(SERVICEACCOUNTS, "default", namespace="default")
        await plane.api.delete(SERVICEACCOUNTS, "default", namespace="default")

        async def recreated() -> bool:
            try:
                sa = await plane.api.get(SERVICEACCOUNTS, "default", namespace="default")
            except ApiError:
                return False
            return bool(sa["metadata"]["uid"] != before["metadata"]["uid"])

        await eventually(recreated, plane=plane, what="default SA recreated")
