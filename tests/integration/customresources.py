"""A CRD for integration tests: created, and waited for until its resource is served."""

from __future__ import annotations

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import CUSTOMRESOURCEDEFINITIONS, Resource
from tests.integration.harness import ControlPlane, eventually

WIDGETS = Resource("example.com", "v1", "widgets", "Widget", True)


async def serve_widgets(plane: ControlPlane) -> Resource:
    """widgets.example.com/v1, namespaced, any content kept; returns once it is served."""
    await plane.api.create(CUSTOMRESOURCEDEFINITIONS, {
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {
                                   "type": "object",
                                   "x-kubernetes-preserve-unknown-fields": True}}}]}})

    async def served() -> bool:
        try:
            await plane.api.list(WIDGETS, namespace="default")
        except ApiError:
            return False
        return True

    await eventually(served, plane=plane, what="widgets served")
    return WIDGETS
