"""The managed /etc/hosts, the pod's hostname, and the CRI resources of a container."""

from __future__ import annotations

from typing import Any

import pytest

from minikube_py.kubelet.etc_hosts import host_network_hosts, managed_hosts, pod_hostname
from minikube_py.kubelet.pod_objects import ConfigError
from minikube_py.kubelet.specs import container_resources, cpu_shares, sandbox_hostname

GI = 2**30


def pod(spec: dict[str, Any], name: str = "web") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "shop"}, "spec": spec}


def test_managed_hosts_name_the_pod_on_its_ips_with_its_aliases() -> None:
    text = managed_hosts(pod({"subdomain": "db", "hostAliases": [
        {"ip": "10.1.1.1", "hostnames": ["foo.local", "bar.local"]}]}),
        ["10.244.0.5"], "cluster.local").decode()
    assert text.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert "10.244.0.5\tweb.db.shop.svc.cluster.local\tweb\n" in text
    assert text.endswith("# Entries added by HostAliases.\n10.1.1.1\tfoo.local\tbar.local\n")


def test_a_host_network_pod_gets_the_nodes_file() -> None:
    text = host_network_hosts(pod({"hostNetwork": True}), b"127.0.0.1 node\n")
    assert text == b"# Kubernetes-managed hosts file (host network).\n127.0.0.1 node\n"


@pytest.mark.parametrize(("spec", "name", "hostname"), [
    ({}, "web", "web"), ({"hostname": "h"}, "web", "h"),
    ({}, "a" * 62 + "-b", "a" * 62), ({}, "a" * 70, "a" * 63),
])
def test_pod_hostname(spec: dict[str, Any], name: str, hostname: str) -> None:
    assert pod_hostname(pod(spec, name)) == hostname


def test_set_hostname_as_fqdn_and_its_limit() -> None:
    assert sandbox_hostname(pod({"subdomain": "db", "setHostnameAsFQDN": True}),
                            "cluster.local") == "web.db.shop.svc.cluster.local"
    with pytest.raises(ConfigError, match="is too long"):
        sandbox_hostname(pod({"subdomain": "d" * 40, "setHostnameAsFQDN": True}),
                         "cluster.local")


@pytest.mark.parametrize(("milli", "shares"), [(0, 2), (1, 2), (250, 256), (1000, 1024),
                                                (10**6, 262144)])
def test_cpu_shares(milli: int, shares: int) -> None:
    assert cpu_shares(milli) == shares


@pytest.mark.parametrize(("qos", "resources", "expected"), [
    ("Guaranteed", {"requests": {"cpu": "500m", "memory": "1Gi"},
                    "limits": {"cpu": "500m", "memory": "1Gi"}},
     (512, 50_000, GI, -997)),
    ("BestEffort", {}, (2, 0, 0, 1000)),
    # Burstable: 1000 - 1000 * request / capacity (8 GiB).
    ("Burstable", {"requests": {"memory": "2Gi"}}, (2, 0, 0, 750)),
    ("Burstable", {"requests": {"cpu": "100m"}, "limits": {"cpu": "2"}},
     (102, 200_000, 0, 999)),
])
def test_container_resources(qos: str, resources: dict[str, Any],
                             expected: tuple[int, int, int, int]) -> None:
    p = {**pod({}), "status": {"qosClass": qos}}
    got = container_resources(p, {"name": "c", "resources": resources},
                              memory_capacity=8 * GI)
    assert (got.cpu_shares, got.cpu_quota, got.memory_limit_in_bytes,
            got.oom_score_adj) == expected
