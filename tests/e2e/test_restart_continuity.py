"""Stopping and restarting `serve` does not disturb running workloads: containers keep
running in their shims, service rules stay in the kernel, and the next `serve` adopts
everything without creating a single new pod."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for

pytestmark = NEEDS_CONTAINERD


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("restart") / "data", 13) as serve:
        yield serve


def answer(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # a service on this machine
            return str(resp.read().decode())
    except OSError:
        return None


def test_services_answer_while_serve_is_down_and_nothing_is_recreated(
        cluster: ServeProcess) -> None:
    cluster.kubectl("create", "deployment", "web", "--image=busybox", "--replicas=2", "--",
                    "sh", "-c", "echo hi $(hostname) > /tmp/index.html; "
                    "exec httpd -f -p 8080 -h /tmp")
    cluster.kubectl("expose", "deployment/web", "--port=80", "--target-port=8080")
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    ip = cluster.kubectl_json("get", "service", "web")["spec"]["clusterIP"]
    url = f"http://{ip}/"
    wait_for(lambda: answer(url), timeout=30, what="the service to answer")
    pods = sorted(p["metadata"]["uid"] for p in
                  cluster.kubectl_json("get", "pods", "-l", "app=web")["items"])

    assert cluster.stop() == 0
    assert (answer(url) or "").startswith("hi web-")  # the kernel still routes the service

    cluster.start()
    after = cluster.kubectl_json("get", "pods", "-l", "app=web")["items"]
    assert sorted(p["metadata"]["uid"] for p in after) == pods
    assert all(p["status"]["phase"] == "Running" for p in after)
    creates = cluster.kubectl_json("get", "events", "--field-selector",
                                   "reason=SuccessfulCreate")["items"]
    assert len(creates) == 2  # the two from before the restart, none after
    assert (answer(url) or "").startswith("hi web-")
