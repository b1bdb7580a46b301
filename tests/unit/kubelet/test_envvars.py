"""A container's environment as kube's kubelet makes it: sources, order, expansion, Service
link variables and the CreateContainerConfigError messages."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from minikube_py.kubelet.downward import FieldContext
from minikube_py.kubelet.envvars import (
    container_env,
    expand,
    expand_command,
    expand_sub_path,
    is_env_var_name,
    lookup_in,
    service_env,
)
from minikube_py.kubelet.pod_objects import (
    CONFIGMAP,
    SECRET,
    ConfigError,
    Fetched,
    ObjectRef,
)

CTX = FieldContext(pod_ips=("10.244.0.5", "fd00::5"), host_ips=("10.0.0.1",),
                   allocatable={"cpu": "4", "memory": "8Gi", "ephemeral-storage": "100Gi"})


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


OBJECTS = {
    ObjectRef(CONFIGMAP, "cfg"): Fetched({"metadata": {"name": "cfg"},
                                          "data": {"mode": "prod", "LEVEL": "debug",
                                                   "1bad": "x", "ok.key": "y"}}),
    ObjectRef(SECRET, "creds"): Fetched({"metadata": {"name": "creds"},
                                         "data": {"user": b64("admin"), "pass": b64("s3cret")}}),
    ObjectRef(CONFIGMAP, "gone"): Fetched(missing=True),
    ObjectRef(SECRET, "gone"): Fetched(missing=True),
    ObjectRef(CONFIGMAP, "denied"): Fetched(error='configmaps "denied" is forbidden'),
}

POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1",
                 "labels": {"app": "web", "tier": "front"}, "annotations": {"note": "a\"b"}},
    "spec": {"nodeName": "node-1", "serviceAccountName": "builder", "containers": [
        {"name": "main", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"},
                                       "limits": {"memory": "128Mi"}}},
        {"name": "side"}]},
}


def env_of(container: dict[str, Any], services: dict[str, str] | None = None) -> dict[str, str]:
    container = {"name": "main", "resources": POD["spec"]["containers"][0]["resources"],
                 **container}
    return container_env(POD, container, objects=OBJECTS, services=services or {},
                         ctx=CTX).env


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("$(A)-$(B)", {"A": "1"}, "1-$(B)"),          # undefined: left as written
    ("$$(A)", {"A": "1"}, "$(A)"),                # $$ escapes
    ("$$$(A)", {"A": "1"}, "$1"),
    ("$A $(A", {"A": "1"}, "$A $(A"),             # not references
    ("trailing $", {}, "trailing $"),
    ("$(A)$(A)", {"A": "x"}, "xx"),
    ("$()", {}, "$()"),
    ("$(A B)", {"A B": "sp"}, "sp"),              # any name between the parentheses
    ("$$$$", {}, "$$"),
    ("", {}, ""),
])
def test_expansion_follows_kube(text: str, env: dict[str, str], expected: str) -> None:
    assert expand(text, lookup_in(env)) == expected


def test_command_and_args_expand_with_the_environment() -> None:
    assert expand_command(["echo", "$(NAME)", "$$(NAME)", "$(NOPE)"], {"NAME": "w"}) == [
        "echo", "w", "$(NAME)", "$(NOPE)"]


@pytest.mark.parametrize(("expr", "expected"), [
    ("logs/$(POD)", "logs/web"), ("$(POD)/$(NS)", "web/shop"), ("plain", "plain"),
])
def test_sub_path_expr_expands(expr: str, expected: str) -> None:
    assert expand_sub_path(expr, {"POD": "web", "NS": "shop"}) == expected


def test_sub_path_expr_with_an_unset_variable_is_refused() -> None:
    with pytest.raises(ConfigError, match="missing value for NOPE"):
        expand_sub_path("a/$(NOPE)", {})


@pytest.mark.parametrize(("name", "valid"), [
    ("A", True), ("a.b-c_d", True), ("_x", True), ("1x", False), ("..x", False),
    (".", False), ("a b", False), ("", False), (".x", True), ("x=y", False),
])
def test_env_var_names(name: str, valid: bool) -> None:
    assert is_env_var_name(name) is valid


@pytest.mark.parametrize(("var", "expected"), [
    ({"value": "plain"}, "plain"),
    ({"valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, "web"),
    ({"valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}, "shop"),
    ({"valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}}, "u-1"),
    ({"valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['tier']"}}}, "front"),
    ({"valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['none']"}}}, ""),
    ({"valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['note']"}}}, 'a"b'),
    ({"valueFrom": {"fieldRef": {"fieldPath": "metadata.labels"}}},
     'app="web"\ntier="front"'),
    ({"valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}, "node-1"),
    ({"valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}}, "builder"),
    ({"valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}, "10.244.0.5"),
    ({"valueFrom": {"fieldRef": {"fieldPath": "status.podIPs"}}}, "10.244.0.5,fd00::5"),
    ({"valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}, "10.0.0.1"),
    ({"valueFrom": {"fieldRef": {"fieldPath": "status.hostIPs"}}}, "10.0.0.1"),
    ({"valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
     "250"),
    ({"valueFrom": {"resourceFieldRef": {"resource": "requests.cpu"}}}, "1"),  # rounded up
    ({"valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
     "128"),
    ({"valueFrom": {"resourceFieldRef": {"resource": "requests.memory"}}}, str(64 * 2**20)),
    # An unset limit is the node's allocatable.
    ({"valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}, "4"),
    ({"valueFrom": {"resourceFieldRef": {"resource": "limits.ephemeral-storage",
                                         "divisor": "1Gi"}}}, "100"),
    ({"valueFrom": {"resourceFieldRef": {"containerName": "side",
                                         "resource": "limits.memory", "divisor": "1Gi"}}}, "8"),
    ({"valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}}, "prod"),
    ({"valueFrom": {"secretKeyRef": {"name": "creds", "key": "pass"}}}, "s3cret"),
])
def test_each_env_source(var: dict[str, Any], expected: str) -> None:
    assert env_of({"env": [{"name": "X", **var}]}) == {"X": expected}


@pytest.mark.parametrize(("var", "message"), [
    ({"configMapKeyRef": {"name": "gone", "key": "k"}}, 'configmap "gone" not found'),
    ({"configMapKeyRef": {"name": "cfg", "key": "k"}}, "couldn't find key k in ConfigMap shop/cfg"),
    ({"secretKeyRef": {"name": "gone", "key": "k"}}, 'secret "gone" not found'),
    ({"secretKeyRef": {"name": "creds", "key": "k"}}, "couldn't find key k in Secret shop/creds"),
    ({"configMapKeyRef": {"name": "denied", "key": "k", "optional": True}},
     'configmaps "denied" is forbidden'),
    ({"fieldRef": {"fieldPath": "spec.hostname"}}, "field label not supported: spec.hostname"),
    ({"fieldRef": {"fieldPath": "spec.nodeName['x']"}},
     "field label does not support subscript: spec.nodeName['x']"),
    ({"fieldRef": {"apiVersion": "v2", "fieldPath": "metadata.name"}},
     "unsupported pod version: v2"),
    ({"resourceFieldRef": {"resource": "limits.gpu"}}, "unsupported container resource : limits.gpu"),
    ({"resourceFieldRef": {"containerName": "nope", "resource": "limits.cpu"}},
     "container nope not found"),
    ({"fileKeyRef": {"path": "x", "key": "k", "volumeName": "v"}},
     "env X: valueFrom.fileKeyRef is not supported by this kubelet"),
])
def test_what_cannot_be_given_is_an_error_in_kubes_words(var: dict[str, Any],
                                                         message: str) -> None:
    with pytest.raises(ConfigError) as e:
        env_of({"env": [{"name": "X", "valueFrom": var}]})
    assert str(e.value) == message


@pytest.mark.parametrize("var", [
    {"configMapKeyRef": {"name": "gone", "key": "k", "optional": True}},
    {"configMapKeyRef": {"name": "cfg", "key": "k", "optional": True}},
    {"secretKeyRef": {"name": "gone", "key": "k", "optional": True}},
    {"secretKeyRef": {"name": "creds", "key": "k", "optional": True}},
])
def test_an_optional_source_that_is_missing_sets_no_variable(var: dict[str, Any]) -> None:
    assert env_of({"env": [{"name": "X", "valueFrom": var}]}) == {}


def test_env_from_with_prefix_skips_invalid_names_and_says_so() -> None:
    resolved = container_env(POD, {"name": "main", "envFrom": [
        {"configMapRef": {"name": "cfg"}}, {"prefix": "DB_", "secretRef": {"name": "creds"}}]},
        objects=OBJECTS, services={}, ctx=CTX)
    assert resolved.env == {"mode": "prod", "LEVEL": "debug", "ok.key": "y",
                            "DB_user": "admin", "DB_pass": "s3cret"}
    assert resolved.skipped == [
        "Keys [1bad] from the EnvFrom configMap shop/cfg were skipped since they are "
        "considered invalid environment variable names."]


@pytest.mark.parametrize(("source", "message"), [
    ({"configMapRef": {"name": "gone"}}, 'configmap "gone" not found'),
    ({"secretRef": {"name": "gone"}}, 'secret "gone" not found'),
    ({"prefix": "X"}, "envFrom source (empty) is not supported by this kubelet"),
])
def test_env_from_a_missing_object(source: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        env_of({"envFrom": [source]})
    assert str(e.value) == message


def test_env_from_an_optional_missing_object_gives_nothing() -> None:
    assert env_of({"envFrom": [{"configMapRef": {"name": "gone", "optional": True}},
                               {"secretRef": {"name": "gone", "optional": True}}]}) == {}


def test_env_overrides_env_from_and_references_earlier_entries_and_services() -> None:
    env = env_of({"envFrom": [{"configMapRef": {"name": "cfg"}}],
                  "env": [{"name": "mode", "value": "dev"},
                          {"name": "URL", "value": "http://$(DB_SERVICE_HOST):$(PORT)/$(mode)"},
                          {"name": "PORT", "value": "5432"},
                          {"name": "ESC", "value": "$$(mode)"}]},
                 services={"DB_SERVICE_HOST": "10.96.0.7", "DB_SERVICE_PORT": "5432"})
    # PORT came after URL: not expanded. Service variables nothing overrode come last.
    assert env["URL"] == "http://10.96.0.7:$(PORT)/dev"
    assert env["ESC"] == "$(mode)" and env["mode"] == "dev"
    assert list(env)[-2:] == ["DB_SERVICE_HOST", "DB_SERVICE_PORT"]


def test_an_explicit_variable_overrides_a_service_variable() -> None:
    env = env_of({"env": [{"name": "DB_SERVICE_HOST", "value": "mine"}]},
                 services={"DB_SERVICE_HOST": "10.96.0.7"})
    assert env == {"DB_SERVICE_HOST": "mine"}


def svc(name: str, namespace: str, ip: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": ip, "ports": ports}}


SERVICES = [
    svc("kubernetes", "default", "10.96.0.1", [{"name": "https", "port": 443,
                                                "protocol": "TCP"}]),
    svc("redis-primary", "shop", "10.96.0.20", [{"port": 6379}]),
    svc("dns", "shop", "10.96.0.30", [{"name": "dns-udp", "port": 53, "protocol": "UDP"},
                                      {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]),
    svc("headless", "shop", "None", [{"port": 80}]),
    svc("other", "elsewhere", "10.96.0.40", [{"port": 80}]),
]


def test_service_link_variables_of_the_pods_namespace() -> None:
    env = service_env(SERVICES, "shop", enable_service_links=True)
    assert {k: v for k, v in env.items() if k.startswith("REDIS_PRIMARY")} == {
        "REDIS_PRIMARY_SERVICE_HOST": "10.96.0.20", "REDIS_PRIMARY_SERVICE_PORT": "6379",
        "REDIS_PRIMARY_PORT": "tcp://10.96.0.20:6379",
        "REDIS_PRIMARY_PORT_6379_TCP": "tcp://10.96.0.20:6379",
        "REDIS_PRIMARY_PORT_6379_TCP_PROTO": "tcp",
        "REDIS_PRIMARY_PORT_6379_TCP_PORT": "6379",
        "REDIS_PRIMARY_PORT_6379_TCP_ADDR": "10.96.0.20"}
    assert env["DNS_SERVICE_PORT"] == "53" and env["DNS_SERVICE_PORT_DNS_UDP"] == "53"
    assert env["DNS_PORT"] == "udp://10.96.0.30:53"
    assert env["DNS_PORT_53_TCP_PROTO"] == "tcp" and env["DNS_PORT_53_UDP_PROTO"] == "udp"
    assert not any(k.startswith(("HEADLESS", "OTHER")) for k in env)


def test_the_kubernetes_service_is_given_to_every_pod() -> None:
    expected = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
                "KUBERNETES_SERVICE_PORT_HTTPS": "443",
                "KUBERNETES_PORT": "tcp://10.96.0.1:443",
                "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
                "KUBERNETES_PORT_443_TCP_PROTO": "tcp", "KUBERNETES_PORT_443_TCP_PORT": "443",
                "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1"}
    assert service_env(SERVICES, "shop", enable_service_links=False) == expected
    everything = service_env(SERVICES, "shop", enable_service_links=True)
    assert expected.items() <= everything.items()


def test_in_default_a_pod_with_service_links_gets_all_of_defaults_services() -> None:
    services = [*SERVICES, svc("web", "default", "10.96.0.50", [{"port": 80}])]
    assert "WEB_SERVICE_HOST" in service_env(services, "default", enable_service_links=True)
    off = service_env(services, "default", enable_service_links=False)
    assert "WEB_SERVICE_HOST" not in off and "KUBERNETES_SERVICE_HOST" in off
