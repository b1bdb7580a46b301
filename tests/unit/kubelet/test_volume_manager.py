"""A pod's volumes on disk: set up from the API, refreshed in place, Secrets on tmpfs, subPath
kept inside its volume, everything removed with the pod."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from minikube_py.api.resources import CONFIGMAPS, PODS, SECRETS, SERVICEACCOUNTS
from minikube_py.apiserver.service import ApiService
from minikube_py.kubelet.mounts import is_mounted
from minikube_py.kubelet.pod_objects import ConfigError, ObjectReader
from minikube_py.kubelet.tokens import TokenManager
from minikube_py.kubelet.volume_manager import Volume, VolumeManager, refreshed_in_place
from minikube_py.kubelet.volume_mounts import container_mounts, resolve_sub_path

UID = "pod-uid-1"


def pod(*volumes: dict[str, Any], fs_group: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"volumes": list(volumes), "containers": [{"name": "c"}]}
    if fs_group is not None:
        spec["securityContext"] = {"fsGroup": fs_group}
    return {"metadata": {"name": "web", "namespace": "default", "uid": UID,
                         "labels": {"app": "web"}}, "spec": spec}


@pytest.fixture
async def manager(tmp_path: Path) -> AsyncIterator[VolumeManager]:
    vm = VolumeManager(tmp_path / "pod-volumes", clock=lambda: 1_700_000_000.0)
    yield vm
    await vm.tear_down(UID)


async def set_up(vm: VolumeManager, api: ApiService, p: dict[str, Any]) -> Any:
    return await vm.set_up(p, ObjectReader(api, "default"), allocatable={"memory": "1Gi"})


async def test_a_configmap_volume_follows_its_configmap(api: ApiService,
                                                        manager: VolumeManager) -> None:
    await api.create(CONFIGMAPS, {"metadata": {"name": "cfg"}, "data": {"a": "1"}},
                     namespace="default")
    p = pod({"name": "conf", "configMap": {"name": "cfg"}})
    setup = await set_up(manager, api, p)
    path = Path(setup.volumes["conf"].host_path)
    assert (path / "a").read_text() == "1" and not setup.failures
    cm = await api.get(CONFIGMAPS, "cfg", namespace="default")
    cm["data"] = {"a": "2", "b": "3"}
    await api.update(CONFIGMAPS, cm, namespace="default")
    await set_up(manager, api, p)
    assert (path / "a").read_text() == "2" and (path / "b").read_text() == "3"


async def test_a_missing_configmap_fails_the_mount_in_kubes_words(
        api: ApiService, manager: VolumeManager) -> None:
    setup = await set_up(manager, api, pod({"name": "conf", "configMap": {"name": "nope"}}))
    assert setup.failures == ('MountVolume.SetUp failed for volume "conf" : configmap "nope" '
                              "not found",)
    assert "conf" not in setup.volumes


async def test_a_volume_whose_configmap_went_keeps_its_files(api: ApiService,
                                                             manager: VolumeManager) -> None:
    await api.create(CONFIGMAPS, {"metadata": {"name": "cfg"}, "data": {"a": "1"}},
                     namespace="default")
    p = pod({"name": "conf", "configMap": {"name": "cfg"}})
    await set_up(manager, api, p)
    await api.delete(CONFIGMAPS, "cfg", namespace="default")
    setup = await set_up(manager, api, p)
    assert not setup.failures and len(setup.stale) == 1
    assert (Path(setup.volumes["conf"].host_path) / "a").read_text() == "1"


async def test_a_secret_volume_is_on_tmpfs_with_its_mode_and_goes_with_the_pod(
        api: ApiService, manager: VolumeManager) -> None:
    await api.create(SECRETS, {"metadata": {"name": "s"},
                               "data": {"pw": base64.b64encode(b"hunter2").decode()}},
                     namespace="default")
    setup = await set_up(manager, api, pod({"name": "sec", "secret": {"secretName": "s",
                                                                      "defaultMode": 0o400}}))
    path = Path(setup.volumes["sec"].host_path)
    assert is_mounted(path)
    assert (path / "pw").read_bytes() == b"hunter2"
    assert os.stat(path / "pw").st_mode & 0o777 == 0o400
    await manager.tear_down(UID)
    assert not is_mounted(path) and not manager.pod_dir(UID).exists()


async def test_fs_group_owns_the_files_and_the_group_may_read(api: ApiService,
                                                               manager: VolumeManager) -> None:
    await api.create(CONFIGMAPS, {"metadata": {"name": "cfg"}, "data": {"a": "1"}},
                     namespace="default")
    setup = await set_up(manager, api, pod({"name": "conf", "configMap": {
        "name": "cfg", "defaultMode": 0o600}}, fs_group=2000))
    st = os.stat(Path(setup.volumes["conf"].host_path) / "a")
    assert st.st_gid == 2000 and st.st_mode & 0o777 == 0o640


async def test_a_downward_api_volume_holds_the_labels(api: ApiService,
                                                      manager: VolumeManager) -> None:
    setup = await set_up(manager, api, pod({"name": "info", "downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}))
    assert (Path(setup.volumes["info"].host_path) / "labels").read_text() == 'app="web"'


async def test_an_empty_dir_is_writable_by_anyone_and_kept_across_syncs(
        api: ApiService, manager: VolumeManager) -> None:
    p = pod({"name": "scratch", "emptyDir": {}})
    path = Path((await set_up(manager, api, p)).volumes["scratch"].host_path)
    (path / "kept").write_text("x")
    assert os.stat(path).st_mode & 0o777 == 0o777
    await set_up(manager, api, p)
    assert (path / "kept").read_text() == "x"


@pytest.mark.parametrize(("volumes", "refreshed"), [
    ([{"name": "a", "emptyDir": {}}], False),
    ([{"name": "a", "hostPath": {"path": "/tmp"}}], False),
    ([{"name": "a", "configMap": {"name": "c"}}], True),
    ([{"name": "a", "projected": {"sources": []}}], True),
    ([], False),
])
def test_which_pods_are_synced_again_for_their_volumes(volumes: list[dict[str, Any]],
                                                       refreshed: bool) -> None:
    assert refreshed_in_place(pod(*volumes)) is refreshed


def test_sub_path_is_made_inside_the_volume(tmp_path: Path) -> None:
    assert resolve_sub_path(str(tmp_path), "a/b", mount="v", container="c") == str(
        tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()


@pytest.mark.parametrize(("sub_path", "message"), [
    ("/etc", "must not be an absolute path"),
    ("a/../../etc", "must not contain '..'"),
    ("out", 'failed to prepare subPath for volumeMount "v" of container "c"'),
    ("out/deeper", 'failed to prepare subPath for volumeMount "v" of container "c"'),
])
def test_sub_path_may_not_leave_the_volume(tmp_path: Path, sub_path: str, message: str) -> None:
    volume = tmp_path / "vol"
    volume.mkdir()
    os.symlink("/etc", volume / "out")
    with pytest.raises(ConfigError, match=message):
        resolve_sub_path(str(volume), sub_path, mount="v", container="c")


def test_mounts_of_api_volumes_are_read_only_and_unknown_volumes_are_refused(
        tmp_path: Path) -> None:
    volumes = {"conf": Volume("configMap", str(tmp_path)),
               "data": Volume("emptyDir", str(tmp_path))}
    mounts = container_mounts({"name": "c", "volumeMounts": [
        {"name": "conf", "mountPath": "/etc/conf"},
        {"name": "data", "mountPath": "/data"}]}, volumes, {}, privileged=False)
    assert [(m.container_path, m.readonly) for m in mounts] == [("/etc/conf", True),
                                                                ("/data", False)]
    with pytest.raises(ConfigError, match='cannot find volume "nope" to mount into container '
                                          '"c"'):
        container_mounts({"name": "c", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]},
                         volumes, {}, privileged=False)


def test_bidirectional_propagation_needs_a_privileged_container(tmp_path: Path) -> None:
    volumes = {"data": Volume("hostPath", str(tmp_path))}
    spec = {"name": "c", "volumeMounts": [{"name": "data", "mountPath": "/d",
                                           "mountPropagation": "Bidirectional"}]}
    with pytest.raises(ConfigError, match="available only to privileged containers"):
        container_mounts(spec, volumes, {}, privileged=False)
    assert len(container_mounts(spec, volumes, {}, privileged=True)) == 1


def kube_api_access() -> dict[str, Any]:
    """The volume ServiceAccount admission adds to every pod (as kube's)."""
    return {"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt",
                                                              "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}


async def test_the_kube_api_access_volume_holds_the_token_the_ca_and_the_namespace(
        api: ApiService, tmp_path: Path) -> None:
    await api.create(CONFIGMAPS, {"metadata": {"name": "kube-root-ca.crt"},
                                  "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n"}},
                     namespace="default")
    await api.create(SERVICEACCOUNTS, {"metadata": {"name": "default"}}, namespace="default")
    created = await api.create(PODS, {"metadata": {"name": "web"}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}], "volumes": [kube_api_access()]}},
        namespace="default")
    vm = VolumeManager(tmp_path / "pod-volumes", clock=time.time,
                       tokens=TokenManager(api, clock=time.time))
    try:
        setup = await vm.set_up(created, ObjectReader(api, "default"), allocatable={})
        path = Path(setup.volumes["kube-api-access-x7k2p"].host_path)
        assert sorted(n for n in os.listdir(path) if not n.startswith("..")) == [
            "ca.crt", "namespace", "token"]
        assert (path / "namespace").read_text() == "default"
        assert (path / "ca.crt").read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert (path / "token").read_text().count(".") == 2
        assert os.stat(path / "token").st_mode & 0o777 == 0o644
    finally:
        await vm.tear_down(created["metadata"]["uid"])


async def test_without_kube_root_ca_the_access_volume_waits(api: ApiService,
                                                            tmp_path: Path) -> None:
    vm = VolumeManager(tmp_path / "pod-volumes", clock=time.time,
                       tokens=TokenManager(api, clock=time.time))
    setup = await vm.set_up(pod(kube_api_access()), ObjectReader(api, "default"),
                            allocatable={})
    # Both what is missing are said: the ConfigMap and the token (no ServiceAccount).
    assert setup.failures == ('MountVolume.SetUp failed for volume "kube-api-access-x7k2p" : '
                              '[failed to fetch token: serviceaccounts "default" not found, '
                              'configmap "kube-root-ca.crt" not found]',)


async def test_the_token_file_is_rewritten_once_the_token_is_due(api: ApiService,
                                                                 tmp_path: Path) -> None:
    await api.create(SERVICEACCOUNTS, {"metadata": {"name": "default"}}, namespace="default")
    created = await api.create(PODS, {"metadata": {"name": "web"}, "spec": {
        "containers": [{"name": "c", "image": "busybox"}], "volumes": [
            {"name": "t", "projected": {"sources": [{"serviceAccountToken": {
                "path": "token", "expirationSeconds": 600}}]}}]}}, namespace="default")
    now = [time.time()]
    vm = VolumeManager(tmp_path / "pod-volumes", clock=lambda: now[0],
                       tokens=TokenManager(api, clock=lambda: now[0]))
    try:
        async def token_file() -> str:
            setup = await vm.set_up(created, ObjectReader(api, "default"), allocatable={})
            return (Path(setup.volumes["t"].host_path) / "token").read_text()

        first = await token_file()
        now[0] += 0.7 * 600
        assert await token_file() == first
        now[0] += 0.1 * 600
        assert await token_file() != first
    finally:
        await vm.tear_down(created["metadata"]["uid"])


async def test_a_downward_api_file_follows_the_pods_labels(api: ApiService,
                                                           manager: VolumeManager) -> None:
    p = pod({"name": "info", "downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}})
    path = Path((await set_up(manager, api, p)).volumes["info"].host_path) / "labels"
    p["metadata"]["labels"] = {"app": "web", "version": "2"}
    await set_up(manager, api, p)
    assert path.read_text() == 'app="web"\nversion="2"'
