"""pods/ephemeralcontainers: ephemeral containers are added through their subresource only,
never changed or removed, with kube's rules for what one may be (and `kubectl debug`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PODS
from minikube_py.apiserver.service import ApiService
from minikube_py.client.interface import STRATEGIC_MERGE_PATCH
from tests.unit.apiserver.conftest import pod_body
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl

NS = "default"
DEBUG = {"name": "debug", "image": "busybox", "targetContainerName": "c",
         "command": ["sh"], "stdin": True, "tty": True}


async def add(svc: ApiService, name: str, *containers: dict[str, Any]) -> dict[str, Any]:
    return await svc.patch(PODS, name, {"spec": {"ephemeralContainers": list(containers)}},
                           patch_type=STRATEGIC_MERGE_PATCH, namespace=NS,
                           subresource="ephemeralcontainers")


def causes(e: ApiError) -> list[tuple[str, str]]:
    return [(c.field, c.message) for c in e.causes]


async def test_an_ephemeral_container_is_added_to_the_pod_and_nothing_else_changes(
        svc: ApiService) -> None:
    await svc.create(PODS, pod_body("web"), namespace=NS)
    pod = await svc.patch(PODS, "web", {"metadata": {"labels": {"x": "y"}}, "spec": {
        "ephemeralContainers": [DEBUG]}}, patch_type=STRATEGIC_MERGE_PATCH, namespace=NS,
        subresource="ephemeralcontainers")
    [debug] = pod["spec"]["ephemeralContainers"]
    assert debug["targetContainerName"] == "c"
    assert debug["imagePullPolicy"] == "Always"  # defaulted as any container
    assert "x" not in pod["metadata"]["labels"]  # only the ephemeral containers are taken
    again = await add(svc, "web", {"name": "second", "image": "busybox"})
    assert [c["name"] for c in again["spec"]["ephemeralContainers"]] == ["debug", "second"]
    read = await svc.get(PODS, "web", namespace=NS, subresource="ephemeralcontainers")
    assert read["spec"]["ephemeralContainers"] == again["spec"]["ephemeralContainers"]


async def test_existing_ephemeral_containers_are_never_changed_or_removed(
        svc: ApiService) -> None:
    await svc.create(PODS, pod_body("web"), namespace=NS)
    pod = await add(svc, "web", DEBUG)
    pod["spec"]["ephemeralContainers"][0]["image"] = "other"
    with pytest.raises(ApiError) as changed:
        await svc.update(PODS, pod, namespace=NS, subresource="ephemeralcontainers")
    assert changed.value.code == 422
    assert causes(changed.value) == [("spec.ephemeralContainers[0]", 'Forbidden: existing '
                                      'ephemeral containers "debug" may not be changed')]
    pod["spec"]["ephemeralContainers"] = []
    with pytest.raises(ApiError) as removed:
        await svc.update(PODS, pod, namespace=NS, subresource="ephemeralcontainers")
    assert causes(removed.value) == [("spec.ephemeralContainers", 'Forbidden: existing '
                                      'ephemeral containers "debug" may not be removed')]


async def test_the_pod_itself_cannot_add_them(svc: ApiService) -> None:
    pod = await svc.create(PODS, pod_body("web"), namespace=NS)
    pod["spec"]["ephemeralContainers"] = [DEBUG]
    with pytest.raises(ApiError) as refused:
        await svc.update(PODS, pod, namespace=NS)
    assert refused.value.code == 422
    assert causes(refused.value)[0][0] == "spec"


@pytest.mark.parametrize(("container", "cause"), [
    ({"name": "c", "image": "busybox"},
     ("spec.ephemeralContainers[0].name", 'Duplicate value: "c"')),
    ({"name": "d", "image": "busybox", "targetContainerName": "nope"},
     ("spec.ephemeralContainers[0].targetContainerName", 'Not found: "nope"')),
    ({"name": "d", "image": "busybox", "ports": [{"containerPort": 80}]},
     ("spec.ephemeralContainers[0].ports",
      "Forbidden: cannot be set for an Ephemeral Container")),
    ({"name": "d", "image": "busybox", "readinessProbe": {"exec": {"command": ["true"]}}},
     ("spec.ephemeralContainers[0].readinessProbe",
      "Forbidden: cannot be set for an Ephemeral Container")),
    ({"name": "d"}, ("spec.ephemeralContainers[0].image", "Required value")),
])
async def test_what_an_ephemeral_container_may_not_be(svc: ApiService, container: dict[str, Any],
                                                      cause: tuple[str, str]) -> None:
    await svc.create(PODS, pod_body("web"), namespace=NS)
    with pytest.raises(ApiError) as refused:
        await add(svc, "web", container)
    assert refused.value.code == 422
    assert cause in causes(refused.value)


@needs_kubectl
async def test_kubectl_debug_adds_an_ephemeral_container_targeting_a_container(
        svc: ApiService, kubeconfig: Path) -> None:
    await svc.create(PODS, pod_body("web"), namespace=NS)
    rc, _out, err = await kubectl(kubeconfig, "debug", "web", "--image=busybox", "--target=c",
                                 "-c", "dbg", "--", "sleep", "3600")
    assert rc == 0, err
    pod = await svc.get(PODS, "web", namespace=NS)
    [dbg] = pod["spec"]["ephemeralContainers"]
    assert (dbg["name"], dbg["image"], dbg["targetContainerName"], dbg["command"]) == (
        "dbg", "busybox", "c", ["sleep", "3600"])
