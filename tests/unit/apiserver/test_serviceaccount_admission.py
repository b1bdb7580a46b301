"""ServiceAccount admission: what a new pod becomes (the account, the token volume and its
mounts, image pull secrets), and pods refused for an account that does not exist."""

from __future__ import annotations

import copy
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PODS, SERVICEACCOUNTS
from minikube_py.apiserver.admissionapi import Attributes, Operation
from minikube_py.apiserver.options import RequestOptions
from minikube_py.apiserver.service import ApiService
from minikube_py.apiserver.serviceaccountadmission import (
    TOKEN_MOUNT_PATH,
    ServiceAccountAdmission,
    admit_pod,
    should_automount,
    token_volume,
)
from minikube_py.store.memory import MemoryKV

Obj = dict[str, Any]
VOLUME = "kube-api-access-abcde"
MOUNT = {"name": VOLUME, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}
ACCOUNT: Obj = {"metadata": {"name": "default", "namespace": "default"}}
# A volume as kube 1.32 serializes it (kubectl get pod -o json from a kind cluster).
KUBE_TOKEN_VOLUME = {
    "name": VOLUME,
    "projected": {
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt",
                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ],
        "defaultMode": 420,
    },
}


def spec_of(*containers: Obj, **fields: Any) -> Obj:
    return {"containers": [copy.deepcopy(c) for c in containers], **fields}


def c(name: str, *mounts: Obj) -> Obj:
    return {"name": name, "image": "busybox", **({"volumeMounts": list(mounts)} if mounts else {})}


def test_the_token_volume_is_kubes_field_for_field_and_in_order() -> None:
    volume = token_volume(VOLUME)
    assert volume == KUBE_TOKEN_VOLUME
    assert list(volume["projected"]) == ["sources", "defaultMode"]


@pytest.mark.parametrize(("pod_choice", "account_choice", "mounted"), [
    (None, None, True),
    (None, True, True),
    (None, False, False),
    (True, False, True),
    (False, True, False),
    (False, None, False),
])
def test_the_pods_automount_choice_wins_then_the_accounts(
        pod_choice: bool | None, account_choice: bool | None, mounted: bool) -> None:
    spec = spec_of(c("app"))
    if pod_choice is not None:
        spec["automountServiceAccountToken"] = pod_choice
    account = copy.deepcopy(ACCOUNT)
    if account_choice is not None:
        account["automountServiceAccountToken"] = account_choice
    assert should_automount(spec, account) is mounted
    admit_pod(spec, account, VOLUME)
    assert ("volumes" in spec) is mounted
    assert ("volumeMounts" in spec["containers"][0]) is mounted


OTHER_MOUNT = {"name": "data", "mountPath": "/data"}
OWN_TOKEN_MOUNT = {"name": "mine", "mountPath": TOKEN_MOUNT_PATH}


@pytest.mark.parametrize(("spec", "want_containers", "want_volumes"), [
    pytest.param(spec_of(c("app")), [c("app", MOUNT)], [KUBE_TOKEN_VOLUME],
                 id="one container gets the mount and the pod the volume"),
    pytest.param(spec_of(c("a"), c("b"), initContainers=[c("init")]),
                 [c("a", MOUNT), c("b", MOUNT)], [KUBE_TOKEN_VOLUME],
                 id="every container gets the mount"),
    pytest.param(spec_of(c("app", OTHER_MOUNT), volumes=[{"name": "data", "emptyDir": {}}]),
                 [c("app", OTHER_MOUNT, MOUNT)],
                 [{"name": "data", "emptyDir": {}}, KUBE_TOKEN_VOLUME],
                 id="the mount and volume come after the pod's own"),
    pytest.param(spec_of(c("app", OWN_TOKEN_MOUNT),
                         volumes=[{"name": "mine", "secret": {"secretName": "s"}}]),
                 [c("app", OWN_TOKEN_MOUNT)], [{"name": "mine", "secret": {"secretName": "s"}}],
                 id="a container mounting the token path itself is left alone"),
    pytest.param(spec_of(c("mine", OWN_TOKEN_MOUNT), c("other"),
                         volumes=[{"name": "mine", "emptyDir": {}}]),
                 [c("mine", OWN_TOKEN_MOUNT), c("other", MOUNT)],
                 [{"name": "mine", "emptyDir": {}}, KUBE_TOKEN_VOLUME],
                 id="only the containers without a mount there get one"),
    pytest.param(spec_of(c("app"), volumes=[{"name": "kube-api-access-zzzzz", "emptyDir": {}}]),
                 [c("app", {**MOUNT, "name": "kube-api-access-zzzzz"})],
                 [{"name": "kube-api-access-zzzzz", "emptyDir": {}}],
                 id="an existing kube-api-access volume is reused, not added again"),
])
def test_the_token_is_mounted_where_kube_mounts_it(spec: Obj, want_containers: list[Obj],
                                                   want_volumes: list[Obj]) -> None:
    admit_pod(spec, ACCOUNT, VOLUME)
    assert spec["containers"] == want_containers
    assert spec["volumes"] == want_volumes


def test_init_containers_get_the_mount_too() -> None:
    spec = spec_of(c("app"), initContainers=[c("init")])
    admit_pod(spec, ACCOUNT, VOLUME)
    assert spec["initContainers"] == [c("init", MOUNT)]


def test_a_pod_without_an_account_runs_as_default() -> None:
    spec = spec_of(c("app"))
    admit_pod(spec, ACCOUNT, VOLUME)
    assert spec["serviceAccountName"] == "default"


@pytest.mark.parametrize(("pod_secrets", "want"), [
    (None, [{"name": "registry"}]),
    ([{"name": "own"}], [{"name": "own"}]),
])
def test_the_accounts_image_pull_secrets_are_used_unless_the_pod_has_some(
        pod_secrets: list[Obj] | None, want: list[Obj]) -> None:
    spec = spec_of(c("app"), **({"imagePullSecrets": pod_secrets} if pod_secrets else {}))
    admit_pod(spec, {**ACCOUNT, "imagePullSecrets": [{"name": "registry"}]}, VOLUME)
    assert spec["imagePullSecrets"] == want


def test_an_account_without_image_pull_secrets_adds_none() -> None:
    spec = spec_of(c("app"))
    admit_pod(spec, ACCOUNT, VOLUME)
    assert "imagePullSecrets" not in spec


# --- the plugin in the API server -------------------------------------------------------

@pytest.fixture
async def api() -> AsyncIterator[ApiService]:
    kv = MemoryKV()
    svc = ApiService(kv, service_account_admission=True)
    await svc.start()
    yield svc
    await svc.stop()
    await kv.close()


POD: Obj = {"metadata": {"name": "web"}, "spec": {"containers": [c("app")]}}


async def test_a_new_pod_gets_a_generated_token_volume(api: ApiService) -> None:
    await api.create(SERVICEACCOUNTS, {"metadata": {"name": "default"}}, namespace="default")
    pod = await api.create(PODS, copy.deepcopy(POD), namespace="default")
    (volume,) = pod["spec"]["volumes"]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == 21
    assert volume["projected"] == KUBE_TOKEN_VOLUME["projected"]
    assert pod["spec"]["containers"][0]["volumeMounts"] == [{**MOUNT, "name": volume["name"]}]


async def test_a_pod_naming_a_missing_account_is_refused_as_kube_does(api: ApiService) -> None:
    body = copy.deepcopy(POD)
    body["spec"]["serviceAccountName"] = "robot"
    with pytest.raises(ApiError) as e:
        await api.create(PODS, body, namespace="default")
    assert e.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "web" is forbidden: error looking up service account default/robot: '
                   'serviceaccount "robot" not found',
        "reason": "Forbidden", "details": {"name": "web", "kind": "pods"}, "code": 403}


async def test_a_pod_named_by_generate_name_is_refused_by_its_prefix_as_kube_does(
        api: ApiService) -> None:
    """kube makes the name after mutating admission, so its refusal names the prefix."""
    body = {"metadata": {"generateName": "web-"},
            "spec": {"containers": [c("app")], "serviceAccountName": "robot"}}
    with pytest.raises(ApiError) as e:
        await api.create(PODS, body, namespace="default")
    assert e.value.message == ('pods "web-" is forbidden: error looking up service account '
                               'default/robot: serviceaccount "robot" not found')


async def test_a_generated_name_is_made_once_admission_has_mutated_the_pod(
        api: ApiService) -> None:
    await api.create(SERVICEACCOUNTS, {"metadata": {"name": "default"}}, namespace="default")
    pod = await api.create(PODS, {"metadata": {"generateName": "web-"},
                                  "spec": {"containers": [c("app")]}}, namespace="default")
    assert pod["metadata"]["name"].startswith("web-") and len(pod["metadata"]["name"]) == 9
    assert pod["spec"]["volumes"][0]["name"].startswith("kube-api-access-")


def pod_attrs(api: ApiService, name: str = "web") -> Attributes:
    pod = copy.deepcopy(POD)
    pod["metadata"]["name"] = name
    return Attributes(Operation.CREATE, api.strategy(PODS), "default", name, pod, None,
                      RequestOptions())


async def test_a_missing_default_account_is_looked_up_ten_times_then_refused(
        api: ApiService) -> None:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    plugin = ServiceAccountAdmission(api.objects, rng=random.Random(7), sleep=sleep)
    with pytest.raises(ApiError) as e:
        await plugin.admit(pod_attrs(api))
    assert e.value.code == 403
    assert len(pauses) == 9 and all(0.1 <= p <= 0.2 for p in pauses)


async def test_a_missing_named_account_is_refused_at_once(api: ApiService) -> None:
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    plugin = ServiceAccountAdmission(api.objects, rng=random.Random(7), sleep=sleep)
    attrs = pod_attrs(api)
    assert attrs.obj is not None
    attrs.obj["spec"]["serviceAccountName"] = "robot"
    with pytest.raises(ApiError):
        await plugin.admit(attrs)
    assert pauses == []


async def test_a_pod_is_admitted_once_its_default_account_is_made(api: ApiService) -> None:
    async def controller_catches_up(_seconds: float) -> None:
        await api.create(SERVICEACCOUNTS, {"metadata": {"name": "default"}},
                         namespace="default")

    plugin = ServiceAccountAdmission(api.objects, rng=random.Random(7),
                                     sleep=controller_catches_up)
    attrs = pod_attrs(api)
    await plugin.admit(attrs)
    assert attrs.obj is not None and attrs.obj["spec"]["volumes"][0]["name"].startswith(
        "kube-api-access-")


async def test_mirror_pods_are_left_as_they_are(api: ApiService) -> None:
    plugin = ServiceAccountAdmission(api.objects, rng=random.Random(7))
    attrs = pod_attrs(api)
    assert attrs.obj is not None
    attrs.obj["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "hash"}
    before = copy.deepcopy(attrs.obj)
    await plugin.admit(attrs)
    assert attrs.obj == before


async def test_pod_updates_are_not_mutated(api: ApiService) -> None:
    await api.create(SERVICEACCOUNTS, {"metadata": {"name": "default"}}, namespace="default")
    body = copy.deepcopy(POD)
    body["spec"]["automountServiceAccountToken"] = False
    pod = await api.create(PODS, body, namespace="default")
    pod["metadata"]["labels"] = {"tier": "web"}
    updated = await api.update(PODS, pod, namespace="default")
    assert "volumes" not in updated["spec"]
