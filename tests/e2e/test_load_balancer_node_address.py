"""LoadBalancer Services without a pool (serve without --lb-cidr, as k3s's ServiceLB): the
Service's EXTERNAL-IP is the node's address and an HTTP GET from the host to it at the
Service's port answers from a pod; a second Service on the same port is refused with an
event; the node's own ports (cluster DNS) are refused. Traffic only to this test's node."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, wait_for
from tests.e2e.test_load_balancer import APP_YAML, external_ip, get, serving

pytestmark = NEEDS_CONTAINERD

SLOT = 77
NODE_IP = f"10.244.{100 + SLOT}.1"  # the first of the node's pod range, on its bridge


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serving(tmp_path_factory.mktemp("lb-node") / "data", SLOT, pool="") as serve:
        serve.kubectl("apply", "-f", "-", input=APP_YAML)
        serve.kubectl("rollout", "status", "deployment/web", "--timeout=120s", timeout=150)
        yield serve


def events(cluster: ServeProcess, name: str) -> list[str]:
    return cluster.kubectl("get", "events", "--field-selector",
                           f"involvedObject.name={name},involvedObject.kind=Service",
                           "-o", "jsonpath={.items[*].message}").stdout.split("Failed")


def test_the_external_ip_is_the_node_address_and_answers_from_a_pod(
        cluster: ServeProcess) -> None:
    assert wait_for(lambda: external_ip(cluster), timeout=30, what="EXTERNAL-IP") == NODE_IP
    body = wait_for(lambda: get(f"http://{NODE_IP}/"), timeout=30, what="an answer")
    assert body.startswith("hello from web-")


def test_a_second_service_on_the_same_port_is_refused(cluster: ServeProcess) -> None:
    cluster.kubectl("create", "service", "loadbalancer", "web2", "--tcp=80:8080")
    found = wait_for(lambda: [m for m in events(cluster, "web2") if "port 80/TCP" in m],
                     timeout=30, what="the refusal")
    assert "Service default/web's" in found[0]
    assert cluster.kubectl("get", "svc", "web2", "--no-headers").stdout.split()[3] == \
        "<pending>"


def test_the_nodes_own_dns_port_is_refused(cluster: ServeProcess) -> None:
    cluster.kubectl("apply", "-f", "-", input=(
        "apiVersion: v1\nkind: Service\nmetadata: {name: dns}\nspec:\n  type: LoadBalancer\n"
        "  selector: {app: web}\n  ports: [{port: 53, protocol: UDP}]\n"))
    found = wait_for(lambda: [m for m in events(cluster, "dns") if "53/UDP" in m],
                     timeout=30, what="the refusal")
    assert "the node's own" in found[0]
