"""Where a persistentVolumeClaim volume is on this node, or why the kubelet cannot mount it."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.kubelet.pod_objects import ClaimedVolume, ConfigError, claimed_volume

Obj = dict[str, Any]


def claim(phase: str = "Bound", volume: str = "pv1") -> Obj:
    return {"spec": {"volumeName": volume}, "status": {"phase": phase}}


def volume(**spec: Any) -> Obj:
    return {"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "1Gi"}, **spec}}


def test_host_path_and_local_volumes_give_their_directory() -> None:
    assert claimed_volume("ns/data", claim(), volume(hostPath={
        "path": "/srv/a", "type": "DirectoryOrCreate"})) == ClaimedVolume(
        "pv1", "/srv/a", "DirectoryOrCreate")
    assert claimed_volume("ns/data", claim(), volume(local={"path": "/mnt/disk"})) == (
        ClaimedVolume("pv1", "/mnt/disk", "Directory"))


@pytest.mark.parametrize(("the_claim", "the_volume", "message"), [
    (None, None, 'error processing PVC ns/data: failed to fetch PVC from API server: '
                 'persistentvolumeclaims "data" not found'),
    (claim("Pending", ""), None, 'error processing PVC ns/data: PVC ns/data has non-bound '
                                 'phase ("Pending") or empty pvc.Spec.VolumeName ("")'),
    (claim(), None, 'error processing PVC ns/data: failed to fetch PV pv1 from API server: '
                    'persistentvolumes "pv1" not found'),
    (claim(), volume(nfs={"server": "s", "path": "/"}),
     "volume pv1 of PVC ns/data: nfs volumes are not supported by this kubelet (supported: "
     "hostPath, local)"),
    (claim(), volume(volumeMode="Block", local={"path": "/dev/sdb"}),
     "volume pv1 of PVC ns/data has volumeMode Block: block volumes are not supported by this "
     "kubelet"),
])
def test_what_cannot_be_mounted_says_why(the_claim: Obj | None, the_volume: Obj | None,
                                         message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        claimed_volume("ns/data", the_claim, the_volume)
    assert str(caught.value) == message
