"""The files of configMap, secret, downwardAPI and projected volumes: keys, items, modes,
optional sources, tokens, and kube's messages when something is missing."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from minikube_py.kubelet.downward import format_map, go_quote
from minikube_py.kubelet.pod_objects import CONFIGMAP, SECRET, ConfigError, Fetched, ObjectRef
from minikube_py.kubelet.tokens import token_key
from minikube_py.kubelet.volume_payloads import token_keys, volume_payload

OBJECTS = {
    ObjectRef(CONFIGMAP, "cfg"): Fetched({"metadata": {"name": "cfg"},
                                          "data": {"app.conf": "port=80", "mode": "prod"},
                                          "binaryData": {"logo": base64.b64encode(b"\x00\xff")
                                                         .decode()}}),
    ObjectRef(SECRET, "tls"): Fetched({"metadata": {"name": "tls"},
                                       "data": {"key": base64.b64encode(b"KEY").decode()}}),
    ObjectRef(CONFIGMAP, "gone"): Fetched(missing=True),
    ObjectRef(SECRET, "gone"): Fetched(missing=True),
}
POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1",
                 "labels": {"tier": "front", "app": "web"}, "annotations": {"a": "x\ny"}},
    "spec": {"serviceAccountName": "builder", "containers": [
        {"name": "main", "resources": {"limits": {"memory": "64Mi"}}}]},
}


def payload(volume: dict[str, Any], tokens: dict[Any, str] | None = None
            ) -> dict[str, tuple[bytes, int]]:
    files = volume_payload(volume, POD, OBJECTS, {"cpu": "2", "memory": "1Gi"}, tokens)
    return {path: (f.data, f.mode) for path, f in files.items()}


@pytest.mark.parametrize(("volume", "expected"), [
    ({"configMap": {"name": "cfg"}},
     {"app.conf": (b"port=80", 0o644), "mode": (b"prod", 0o644), "logo": (b"\x00\xff", 0o644)}),
    ({"configMap": {"name": "cfg", "defaultMode": 0o440,
                    "items": [{"key": "mode", "path": "etc/mode"},
                              {"key": "app.conf", "path": "app.conf", "mode": 0o600}]}},
     {"etc/mode": (b"prod", 0o440), "app.conf": (b"port=80", 0o600)}),
    ({"secret": {"secretName": "tls", "defaultMode": 0o400}}, {"key": (b"KEY", 0o400)}),
    ({"secret": {"secretName": "tls", "items": [{"key": "key", "path": "tls.key"}]}},
     {"tls.key": (b"KEY", 0o644)}),
    ({"configMap": {"name": "gone", "optional": True}}, {}),
    ({"secret": {"secretName": "gone", "optional": True}}, {}),
    ({"configMap": {"name": "cfg", "optional": True,
                    "items": [{"key": "nope", "path": "x"}, {"key": "mode", "path": "m"}]}},
     {"m": (b"prod", 0o644)}),
    ({"downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}, "mode": 0o600},
        {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "main",
                                             "resource": "limits.memory", "divisor": "1Mi"}},
        {"path": "cpu", "resourceFieldRef": {"containerName": "main",
                                             "resource": "limits.cpu"}}]}},
     {"labels": (b'app="web"\ntier="front"', 0o644), "name": (b"web", 0o600),
      "tier": (b"front", 0o644), "annotations": (b'a="x\\ny"', 0o644),
      "mem": (b"64", 0o644), "cpu": (b"2", 0o644)}),
    ({"projected": {"defaultMode": 0o440, "sources": [
        {"configMap": {"name": "cfg", "items": [{"key": "mode", "path": "mode"}]}},
        {"secret": {"name": "tls"}},
        {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {
            "fieldPath": "metadata.namespace"}}]}}]}},
     {"mode": (b"prod", 0o440), "key": (b"KEY", 0o440), "ns": (b"shop", 0o440)}),
])
def test_volume_files(volume: dict[str, Any], expected: dict[str, tuple[bytes, int]]) -> None:
    assert payload(volume) == expected


@pytest.mark.parametrize(("volume", "message"), [
    ({"configMap": {"name": "gone"}}, 'configmap "gone" not found'),
    ({"secret": {"secretName": "gone"}}, 'secret "gone" not found'),
    ({"configMap": {"name": "cfg", "items": [{"key": "nope", "path": "x"}]}},
     "configmap references non-existent config key: nope"),
    ({"secret": {"secretName": "tls", "items": [{"key": "nope", "path": "x"}]}},
     "secret references non-existent secret key: nope"),
    ({"downwardAPI": {"items": [{"path": "x", "fieldRef": {"fieldPath": "spec.nodeName"}}]}},
     "unsupported fieldPath: spec.nodeName"),
    ({"projected": {"sources": [{"configMap": {"name": "gone"}},
                                {"secret": {"name": "gone"}}]}},
     '[configmap "gone" not found, secret "gone" not found]'),
    ({"projected": {"sources": [{"clusterTrustBundle": {"name": "b", "path": "ca"}}]}},
     "projected source clusterTrustBundle is not supported by this kubelet yet"),
])
def test_what_a_volume_cannot_be_given(volume: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        payload(volume)
    assert str(e.value) == message


def test_a_projected_token_is_the_file_at_its_path() -> None:
    volume = {"projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
        {"configMap": {"name": "cfg", "items": [{"key": "mode", "path": "ca.crt"}]}}]}}
    keys = token_keys(volume, POD)
    assert keys == [token_key(POD, {"expirationSeconds": 3607})]
    assert keys[0].account == "builder" and keys[0].pod_uid == "u-1"
    assert payload(volume, {keys[0]: "jwt"}) == {"token": (b"jwt", 0o644),
                                                 "ca.crt": (b"prod", 0o644)}


@pytest.mark.parametrize(("text", "quoted"), [
    ("plain", '"plain"'), ('a"b', '"a\\"b"'), ("tab\there", '"tab\\there"'),
    ("\x01", '"\\x01"'), ("é", '"é"'), ("back\\slash", '"back\\\\slash"'),
])
def test_labels_are_quoted_as_go_does(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


def test_a_map_is_key_ordered_lines() -> None:
    assert format_map({"b": "2", "a": "1"}) == 'a="1"\nb="2"'



@pytest.mark.parametrize(("security", "expected"), [
    ({}, (0o644, None)),
    ({"pod": {"runAsUser": 1000}}, (0o600, 1000)),
    ({"pod": {"fsGroup": 2000}}, (0o600, None)),
    ({"pod": {"runAsUser": 1000}, "container": {"runAsUser": 0}}, (0o600, 0)),
])
def test_a_token_for_one_user_or_a_group_is_theirs_alone(security: dict[str, Any],
                                                         expected: tuple[int, int | None]) -> None:
    pod = {"metadata": POD["metadata"], "spec": {
        "serviceAccountName": "builder", "securityContext": security.get("pod", {}),
        "containers": [{"name": "main", "securityContext": security.get("container", {})}]}}
    source = {"path": "token"}
    files = volume_payload({"projected": {"sources": [{"serviceAccountToken": source}]}}, pod,
                           {}, {}, {token_key(pod, source): "jwt"})
    assert (files["token"].mode, files["token"].fs_user) == expected
