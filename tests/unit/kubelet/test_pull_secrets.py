"""Which imagePullSecrets credentials a pull of an image uses."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from minikube_py.kubelet.pull_secrets import image_location, normalize_registry, pull_auths


def docker_config(auths: dict[str, Any], *, legacy: bool = False) -> dict[str, Any]:
    if legacy:
        raw, kind, key = json.dumps(auths), "kubernetes.io/dockercfg", ".dockercfg"
    else:
        raw = json.dumps({"auths": auths})
        kind, key = "kubernetes.io/dockerconfigjson", ".dockerconfigjson"
    return {"metadata": {"name": "s"}, "type": kind,
            "data": {key: base64.b64encode(raw.encode()).decode()}}


@pytest.mark.parametrize(("image", "location"), [
    ("busybox", "docker.io/library/busybox"),
    ("busybox:1.36", "docker.io/library/busybox"),
    ("user/app:v1", "docker.io/user/app"),
    ("registry.local:5000/team/app:v1", "registry.local:5000/team/app"),
    ("localhost/app", "localhost/app"),
    ("ghcr.io/o/app@sha256:abc", "ghcr.io/o/app"),
])
def test_image_location(image: str, location: str) -> None:
    assert image_location(image) == location


@pytest.mark.parametrize(("key", "registry"), [
    ("https://index.docker.io/v1/", "docker.io"), ("registry.local:5000/", "registry.local:5000"),
    ("http://ghcr.io/o", "ghcr.io/o"),
])
def test_registry_keys_normalize(key: str, registry: str) -> None:
    assert normalize_registry(key) == registry


def test_the_most_specific_matching_registry_comes_first() -> None:
    secrets = [docker_config({"ghcr.io": {"username": "any", "password": "1"},
                              "ghcr.io/team": {"auth": base64.b64encode(b"team:2").decode()},
                              "quay.io": {"username": "other", "password": "3"}})]
    auths = pull_auths("ghcr.io/team/app:v1", secrets)
    assert [(a.username, a.password) for a in auths] == [("team", "2"), ("any", "1")]


def test_docker_hub_credentials_match_short_names_and_legacy_secrets_count() -> None:
    secrets = [docker_config({"https://index.docker.io/v1/": {"username": "u", "password": "p"}},
                             legacy=True)]
    assert [a.username for a in pull_auths("busybox", secrets)] == ["u"]


def test_other_secrets_and_other_registries_give_nothing() -> None:
    secrets = [{"metadata": {"name": "o"}, "type": "Opaque", "data": {}},
               docker_config({"quay.io": {"username": "u"}})]
    assert pull_auths("ghcr.io/o/app", secrets) == []
