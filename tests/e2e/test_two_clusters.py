"""Two clusters on one machine keep each other's traffic working: in each, a pod reaches
itself through its Service (hairpin, which needs masquerading) and the host reaches the
Service's ClusterIP. Each cluster masquerades with a mark bit of its own; with a shared one,
the POSTROUTING chain of whichever cluster comes first cleared the other's mark."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve, wait_for
from tests.e2e.network import remembered

pytestmark = NEEDS_CONTAINERD

WEB = "echo $(hostname) > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"


@dataclass
class Web:
    """One pod behind one Service in one cluster."""

    serve: ServeProcess
    cluster_ip: str
    pod: str


def deploy_web(serve: ServeProcess) -> Web:
    serve.kubectl("create", "deployment", "web", "--image=busybox", "--replicas=1", "--",
                  "sh", "-c", WEB)
    serve.kubectl("expose", "deployment/web", "--port=80", "--target-port=8080")
    serve.kubectl("rollout", "status", "deployment/web", "--timeout=90s", timeout=120)
    (pod,) = serve.kubectl_json("get", "pods", "-l", "app=web")["items"]
    ip = serve.kubectl_json("get", "service", "web")["spec"]["clusterIP"]
    return Web(serve, ip, pod["metadata"]["name"])


@pytest.fixture(scope="module")
def webs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Web, Web]]:
    base = tmp_path_factory.mktemp("two")
    with running_serve(base / "one", 18) as one, running_serve(base / "two", 19) as two:
        yield deploy_web(one), deploy_web(two)


def from_host(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # a Service of this machine
            return str(resp.read().decode().strip())
    except OSError:
        return None


def from_pod(web: Web, url: str) -> str | None:
    # Bounded by `timeout`, not wget's -T: Debian's busybox 1.35 wget crashes with -T.
    out = web.serve.kubectl("exec", web.pod, "--", "timeout", "5", "wget", "-qO-", url,
                            check=False)
    return out.stdout.strip() if out.returncode == 0 else None


def test_the_two_clusters_masquerade_with_different_mark_bits(webs: tuple[Web, Web]) -> None:
    marks = {remembered(web.serve)["host"]["masqueradeMark"] for web in webs}
    assert len(marks) == 2 and "0x4000" not in marks


@pytest.mark.parametrize("which", [0, 1], ids=["first", "second"])
def test_a_pod_reaches_itself_through_its_service(webs: tuple[Web, Web], which: int) -> None:
    web = webs[which]
    answer = wait_for(lambda: from_pod(web, f"http://{web.cluster_ip}/"), timeout=30,
                      what=f"{web.pod} to reach itself through {web.cluster_ip}")
    assert answer == web.pod


@pytest.mark.parametrize("which", [0, 1], ids=["first", "second"])
def test_the_host_reaches_the_cluster_ip(webs: tuple[Web, Web], which: int) -> None:
    web = webs[which]
    answer = wait_for(lambda: from_host(f"http://{web.cluster_ip}/"), timeout=30,
                      what=f"the host to reach {web.cluster_ip}")
    assert answer == web.pod
