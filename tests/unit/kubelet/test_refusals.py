"""What the kubelet refuses, by name, rather than running a pod without it."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.kubelet.refusals import container_refusal, pod_refusal, volume_refusal


@pytest.mark.parametrize(("volume", "refusal"), [
    ({"name": "v", "nfs": {"server": "s", "path": "/"}},
     "nfs volumes are not supported by this kubelet"),
    ({"name": "v", "csi": {"driver": "d"}}, "csi volumes are not supported by this kubelet"),
    ({"name": "v", "ephemeral": {"volumeClaimTemplate": {}}},
     "ephemeral volumes are not supported by this kubelet"),
    ({"name": "v", "image": {"reference": "busybox"}},
     "image volumes are not supported by this kubelet"),
    ({"name": "v", "iscsi": {}}, "iscsi volumes are not supported by this kubelet"),
    ({"name": "v", "emptyDir": {"medium": "HugePages"}},
     "emptyDir medium HugePages is not supported by this kubelet"),
    ({"name": "v", "hostPath": {"path": "/x", "type": "Pipe"}}, "Pipe is an invalid volume type"),
])
def test_unsupported_volumes_are_refused_by_name(volume: dict[str, Any], refusal: str) -> None:
    assert volume_refusal(volume) == refusal


@pytest.mark.parametrize("volume", [
    {"name": "v"}, {"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {"medium": "Memory"}},
    {"name": "v", "hostPath": {"path": "/x", "type": "DirectoryOrCreate"}},
    {"name": "v", "configMap": {"name": "c"}}, {"name": "v", "secret": {"secretName": "s"}},
    {"name": "v", "downwardAPI": {"items": []}},
    {"name": "v", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
    {"name": "v", "persistentVolumeClaim": {"claimName": "c"}},
])
def test_supported_volumes_pass(volume: dict[str, Any]) -> None:
    assert volume_refusal(volume) is None


@pytest.mark.parametrize(("spec", "refusal"), [
    ({"volumes": [{"name": "data", "nfs": {"server": "s", "path": "/"}}]},
     'volume "data": nfs volumes are not supported by this kubelet'),
    ({"os": {"name": "windows"}}, "spec.os.name windows: this node runs Linux"),
    ({"hostUsers": False}, "spec.hostUsers false (user namespaces) is not supported by this "
                           "kubelet"),
    ({"runtimeClassName": "gvisor"},
     "spec.runtimeClassName gvisor: this kubelet has only the runtime's default handler"),
    ({"resourceClaims": [{"name": "gpu"}]},
     "spec.resourceClaims (dynamic resource allocation) is not supported by this kubelet"),
    ({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}},
     'forbidden sysctl: "kernel.msgmax" not allowlisted'),
    ({"hostNetwork": True,
      "securityContext": {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]}},
     '"net.ipv4.tcp_syncookies" not allowed with host net enabled'),
    ({"securityContext": {"supplementalGroupsPolicy": "Strict"}},
     "securityContext.supplementalGroupsPolicy Strict is not supported by this kubelet"),
])
def test_pod_wide_refusals(spec: dict[str, Any], refusal: str) -> None:
    assert pod_refusal({"metadata": {"name": "p"}, "spec": spec}) == refusal


def test_an_ordinary_pod_is_not_refused() -> None:
    assert pod_refusal({"metadata": {"name": "p"}, "spec": {
        "os": {"name": "linux"}, "volumes": [{"name": "c", "configMap": {"name": "c"}}],
        "securityContext": {"sysctls": [{"name": "net.ipv4.ip_local_port_range",
                                         "value": "1024 65535"}]}}}) is None


@pytest.mark.parametrize(("container", "init", "refusal"), [
    ({"name": "c", "volumeDevices": [{"name": "b", "devicePath": "/dev/x"}]}, False,
     "volumeDevices (raw block volumes) is not supported by this kubelet"),
    ({"name": "c", "securityContext": {"procMount": "Unmasked"}}, False,
     "securityContext.procMount Unmasked is not supported by this kubelet"),
    ({"name": "c", "resources": {"claims": [{"name": "gpu"}]}}, False,
     "resources.claims (dynamic resource allocation) is not supported by this kubelet"),
    ({"name": "c", "resources": {"limits": {"hugepages-2Mi": "2Mi"}}}, False,
     "resources.limits.hugepages-2Mi is not supported by this kubelet"),
    ({"name": "c", "restartPolicy": "Always"}, True,
     "restartPolicy Always on an init container (a sidecar) is not supported by this kubelet"),
])
def test_container_refusals(container: dict[str, Any], init: bool, refusal: str) -> None:
    assert container_refusal(container, init=init) == refusal
