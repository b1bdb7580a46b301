"""A container's security settings as the CRI gets them, and runAsNonRoot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cri_api.v1 import api_pb2 as cri

from minikube_py.kubelet.pod_objects import ConfigError
from minikube_py.kubelet.security_context import (
    container_security_context,
    fs_user_from,
    supplemental_groups,
    verify_run_as_non_root,
)

ROOT = Path("/var/lib/kubelet/seccomp")


def pod(psc: dict[str, Any] | None = None, *containers: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
            "spec": {"securityContext": psc or {},
                     "containers": list(containers) or [{"name": "c"}]}}


def context(psc: dict[str, Any] | None, sc: dict[str, Any]) -> cri.LinuxContainerSecurityContext:
    p = pod(psc, {"name": "c", "securityContext": sc})
    return container_security_context(p, p["spec"]["containers"][0],
                                      namespace_options=cri.NamespaceOption(),
                                      seccomp_root=ROOT)


def test_container_fields_override_the_pods() -> None:
    got = context({"runAsUser": 1000, "runAsGroup": 3000}, {"runAsUser": 2000})
    assert got.run_as_user.value == 2000 and got.run_as_group.value == 3000


def test_capabilities_privileged_read_only_root_and_no_new_privs() -> None:
    got = context(None, {"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                         "privileged": True, "readOnlyRootFilesystem": True,
                         "allowPrivilegeEscalation": False})
    assert list(got.capabilities.add_capabilities) == ["NET_ADMIN"]
    assert list(got.capabilities.drop_capabilities) == ["ALL"]
    assert got.privileged and got.readonly_rootfs and got.no_new_privs


def test_no_new_privs_only_when_escalation_is_explicitly_refused() -> None:
    assert not context(None, {}).no_new_privs


@pytest.mark.parametrize(("profile", "kind", "ref", "legacy"), [
    ({"type": "RuntimeDefault"}, cri.SecurityProfile.RuntimeDefault, "", "runtime/default"),
    ({"type": "Unconfined"}, cri.SecurityProfile.Unconfined, "", "unconfined"),
    ({"type": "Localhost", "localhostProfile": "audit.json"}, cri.SecurityProfile.Localhost,
     str(ROOT / "audit.json"), f"localhost/{ROOT / 'audit.json'}"),
])
def test_seccomp_profiles(profile: dict[str, Any], kind: int, ref: str, legacy: str) -> None:
    got = context({"seccompProfile": profile}, {})
    assert got.seccomp.profile_type == kind and got.seccomp.localhost_ref == ref
    assert got.seccomp_profile_path == legacy


def test_a_localhost_profile_without_its_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="localhostProfile must be set"):
        context(None, {"seccompProfile": {"type": "Localhost"}})


def test_selinux_options_reach_the_runtime() -> None:
    got = context({"seLinuxOptions": {"level": "s0:c1,c2"}}, {})
    assert got.selinux_options.level == "s0:c1,c2"


@pytest.mark.parametrize(("psc", "groups"), [
    ({}, []), ({"supplementalGroups": [5, 6]}, [5, 6]),
    ({"supplementalGroups": [5], "fsGroup": 2000}, [5, 2000]),
    ({"supplementalGroups": [2000], "fsGroup": 2000}, [2000]),
])
def test_supplemental_groups_include_the_fs_group(psc: dict[str, Any], groups: list[int]) -> None:
    assert supplemental_groups(pod(psc)) == groups


@pytest.mark.parametrize(("sc", "image_uid", "image_user", "message"), [
    ({"runAsNonRoot": True}, 0, "", "container has runAsNonRoot and image will run as root"),
    ({"runAsNonRoot": True}, None, "", "container has runAsNonRoot and image will run as root"),
    ({"runAsNonRoot": True}, None, "nobody",
     "container has runAsNonRoot and image has non-numeric user (nobody)"),
    ({"runAsNonRoot": True, "runAsUser": 0}, 1000, "",
     "container's runAsUser breaks non-root policy"),
])
def test_run_as_non_root_refuses_root(sc: dict[str, Any], image_uid: int | None,
                                      image_user: str, message: str) -> None:
    p = pod(None, {"name": "c", "securityContext": sc})
    with pytest.raises(ConfigError) as e:
        verify_run_as_non_root(p, p["spec"]["containers"][0], image_uid, image_user)
    assert str(e.value).startswith(message)
    assert str(e.value).endswith('(pod: "web_shop(u1)", container: c)')


@pytest.mark.parametrize(("sc", "image_uid"), [
    ({"runAsNonRoot": True}, 1000), ({"runAsNonRoot": True, "runAsUser": 1000}, 0), ({}, 0),
])
def test_run_as_non_root_lets_a_user_in(sc: dict[str, Any], image_uid: int) -> None:
    p = pod(None, {"name": "c", "securityContext": sc})
    verify_run_as_non_root(p, p["spec"]["containers"][0], image_uid, "")


@pytest.mark.parametrize(("psc", "containers", "user"), [
    ({}, [{"name": "a"}], None),
    ({"runAsUser": 1000}, [{"name": "a"}, {"name": "b"}], 1000),
    ({"runAsUser": 1000}, [{"name": "a"}, {"name": "b", "securityContext": {"runAsUser": 7}}],
     None),
    ({}, [{"name": "a", "securityContext": {"runAsUser": 7}}, {"name": "b"}], None),
])
def test_the_one_user_of_a_pod(psc: dict[str, Any], containers: list[dict[str, Any]],
                               user: int | None) -> None:
    assert fs_user_from(pod(psc, *containers)) == user
