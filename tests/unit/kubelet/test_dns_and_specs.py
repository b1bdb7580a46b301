"""Pod DNS settings and the CRI config builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cri_api.v1 import api_pb2 as cri

from minikube_py.kubelet.dns import DnsSettings, parse_resolv_conf, pod_dns_settings
from minikube_py.kubelet.specs import container_config, sandbox_config

HOST = parse_resolv_conf("nameserver 10.255.255.53\nsearch corp.example\noptions edns0\n")


@pytest.mark.parametrize(("spec", "cluster_dns", "expected"), [
    ({}, ("10.96.0.10",), DnsSettings(
        ("10.96.0.10",), ("ns1.svc.cluster.local", "svc.cluster.local", "cluster.local",
                          "corp.example"), ("ndots:5",))),
    ({}, (), HOST),
    ({"dnsPolicy": "Default"}, ("10.96.0.10",), HOST),
    ({"hostNetwork": True}, ("10.96.0.10",), HOST),
    ({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.1.1.1"], "searches": ["a"],
                                         "options": [{"name": "ndots", "value": "2"}]}},
     ("10.96.0.10",), DnsSettings(("1.1.1.1",), ("a",), ("ndots:2",))),
])
def test_pod_dns_settings(spec: dict[str, Any], cluster_dns: tuple[str, ...],
                          expected: DnsSettings) -> None:
    assert pod_dns_settings(spec, "ns1", cluster_dns=cluster_dns,
                            cluster_domain="cluster.local", host=HOST) == expected


POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "default", "uid": "u1", "labels": {"app": "w"}},
    "spec": {"containers": [{
        "name": "main", "image": "busybox", "command": ["sh", "-c"], "args": ["echo $(NAME)"],
        "ports": [{"containerPort": 80, "hostPort": 8080}],
        "env": [{"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}]},
}


def test_sandbox_config_labels_ports_and_log_dir() -> None:
    cfg = sandbox_config(POD, log_dir=Path("/d/pods/x"), dns=HOST, attempt=1, node_name="n1")
    assert cfg.metadata.uid == "u1" and cfg.metadata.attempt == 1 and cfg.hostname == "web"
    assert cfg.labels["io.kubernetes.pod.uid"] == "u1" and cfg.labels["app"] == "w"
    assert [(p.container_port, p.host_port, p.protocol) for p in cfg.port_mappings] == [
        (80, 8080, cri.TCP)]
    assert cfg.log_directory == "/d/pods/x"


def test_container_config_env_args_and_restart_count() -> None:
    cfg = container_config(POD, POD["spec"]["containers"][0], restart_count=3,
                           env={"NAME": "web", "IP": "10.0.0.5"}, mounts=[])
    assert [(kv.key, kv.value) for kv in cfg.envs] == [("NAME", "web"), ("IP", "10.0.0.5")]
    assert list(cfg.args) == ["echo web"]
    assert cfg.log_path == "main/3.log" and cfg.metadata.attempt == 3
    assert cfg.annotations["io.kubernetes.container.restartCount"] == "3"
