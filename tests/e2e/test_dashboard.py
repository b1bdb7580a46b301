"""`minikube-py dashboard --url` against a real serve, in a real headless Chromium: the page
fills from watches without a reload as kubectl creates a Deployment, shows its rollout reach
2/2, follows a pod's log and a Service's endpoints, and a screenshot is kept as an artifact.
The dashboard answers only on loopback and never hands the browser the admin credentials."""

from __future__ import annotations

import base64
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.e2e.chromium import NEEDS_CHROMIUM, Page, artifacts_dir, headless_chromium
from tests.e2e.cluster import NEEDS_CONTAINERD, ServeProcess, running_serve

pytestmark = [*NEEDS_CONTAINERD, NEEDS_CHROMIUM]

SLOT = 74
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sleepers
spec:
  replicas: 2
  selector:
    matchLabels: {app: sleepers}
  template:
    metadata:
      labels: {app: sleepers}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: sleep
        image: busybox
        command: ["sleep", "3600"]
---
apiVersion: v1
kind: Service
metadata:
  name: sleepers
spec:
  selector: {app: sleepers}
  ports:
  - port: 80
"""
# An event whose message is markup: the page must show it as text.
MARKUP_EVENT = """
apiVersion: v1
kind: Event
metadata:
  name: markup
involvedObject: {kind: Pod, name: echoer, namespace: default}
reason: Markup
type: Warning
message: "<img id=injected src=x>"
"""
ECHOER = """
apiVersion: v1
kind: Pod
metadata:
  name: echoer
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: echo
    image: busybox
    command: ["sh", "-c", "i=0; while [ $i -lt 900 ]; do i=$((i+1)); echo line $i; sleep 0.2; done; sleep 3600"]
"""


class DashboardProcess:
    def __init__(self, cluster: ServeProcess, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        # Its log (warnings while the API is away) goes to a file: a pipe nobody reads
        # would fill and block it.
        self.log_path = cluster.data_dir.parent / f"dashboard-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "minikube_py", "dashboard", *(args or ("--url",)),
                 "--data-dir", str(cluster.data_dir)], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=log, env=env)
        assert self.proc.stdout is not None
        self.url = self._first_line(timeout=30)

    def _first_line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        seen = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in seen and (left := deadline - time.monotonic()) > 0:
            if not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
        assert b"\n" in seen, f"dashboard printed no URL: {seen!r}; its log:\n" \
            f"{self.log_path.read_text(errors='replace')}"
        return seen.split(b"\n", 1)[0].decode()

    def stop(self) -> int:
        """Ctrl-C, and the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the dashboard did not stop on Ctrl-C") from None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("dashboard") / "data", SLOT,
                       "--housekeeping-interval", "1") as serve:
        yield serve


@pytest.fixture(scope="module")
def dashboard(cluster: ServeProcess) -> Iterator[DashboardProcess]:
    process = DashboardProcess(cluster)
    try:
        yield process
    finally:
        process.stop()


def test_the_url_alone_is_the_first_line(dashboard: DashboardProcess) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", dashboard.url), dashboard.url


def rows(table: str, prefix: str) -> str:
    return (f"document.querySelectorAll('table[data-table={table}] "
            f"tr[data-key^=\"{prefix}\"]').length")


def cell(table: str, key: str, col: str) -> str:
    return (f"document.querySelector('table[data-table={table}] tr[data-key=\"{key}\"] "
            f"td[data-col={col}]')?.textContent")


async def newest_line(page: Page) -> int:
    text = await page.evaluate("document.getElementById('log-lines').textContent")
    numbers = [int(n) for n in re.findall(r"^line (\d+)$", text, re.M)]
    return max(numbers, default=0)


async def test_the_page_follows_the_cluster_live(cluster: ServeProcess,
                                                 dashboard: DashboardProcess,
                                                 tmp_path: Path) -> None:
    node = cluster.node_name()
    async with headless_chromium() as page:
        await page.navigate(dashboard.url)
        await page.wait_for("document.getElementById('connection')?.textContent === 'live'",
                            timeout=20, what="the page's stream to open")
        await page.wait_for(f"{cell('nodes', node, 'ready')} === 'Ready'", timeout=20,
                            what="the node, Ready")
        await page.evaluate("window.__marker = 'not reloaded'")

        cluster.kubectl("apply", "-f", "-", input=DEPLOYMENT)
        await page.wait_for(f"{rows('pods', 'default/sleepers-')} === 2", timeout=30,
                            what="the Deployment's two pods in the pods table")
        await page.wait_for(f"{cell('workloads', 'Deployment/default/sleepers', 'ready')}"
                            " === '2/2'", timeout=60, what="the rollout at 2/2")
        assert await page.evaluate(cell("workloads", "Deployment/default/sleepers",
                                        "state")) == "Complete"
        running = await page.evaluate(
            "[...document.querySelectorAll('table[data-table=pods] "
            "tr[data-key^=\"default/sleepers-\"] td[data-col=status]')]"
            ".map(td => td.textContent)")
        assert running == ["Running", "Running"]

        await page.evaluate("document.querySelector('table[data-table=services] "
                            "tr[data-key=\"default/sleepers\"]').click()")
        addresses = await page.wait_for(
            "[...document.querySelectorAll('table[data-table=endpointslices] tbody tr')]"
            ".filter(tr => !tr.hidden).map(tr => tr.querySelector('td[data-col=endpoints]')"
            ".textContent).join(';').match(/\\d+\\.\\d+\\.\\d+\\.\\d+/g)?.length === 2",
            timeout=30, what="the Service's two endpoints")
        assert addresses

        cluster.kubectl("apply", "-f", "-", input=ECHOER)
        await page.wait_for(f"{cell('pods', 'default/echoer', 'status')} === 'Running'",
                            timeout=30, what="the echoing pod, Running")
        await page.evaluate("document.querySelector('table[data-table=pods] "
                            "tr[data-key=\"default/echoer\"]').click()")
        deadline = time.monotonic() + 20
        first = 0
        while (first := await newest_line(page)) < 3 and time.monotonic() < deadline:
            await page.evaluate("new Promise(r => setTimeout(r, 100))")
        assert first >= 3, "no log lines of the echoing pod"
        deadline = time.monotonic() + 20
        while await newest_line(page) < first + 5 and time.monotonic() < deadline:
            await page.evaluate("new Promise(r => setTimeout(r, 100))")
        assert await newest_line(page) >= first + 5, "the log is not followed"

        cluster.kubectl("apply", "-f", "-", input=MARKUP_EVENT)
        await page.wait_for(f"{cell('events', 'default/markup', 'message')} === "
                            "'<img id=injected src=x>'", timeout=20,
                            what="the event's message, as text")
        assert await page.evaluate("document.getElementById('injected') === null")

        assert await page.evaluate("window.__marker") == "not reloaded"
        shot = await page.screenshot(artifacts_dir(tmp_path) / "dashboard.png")
        print(f"screenshot: {shot}")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 10_000


def get(url: str, host: str | None = None, limit: int = 1 << 22) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # loopback only
            return resp.status, resp.read1(limit) if resp.headers.get(
                "Content-Type") == "text/event-stream" else resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


async def test_node_usage_is_the_kubelets_sample(cluster: ServeProcess,
                                                 dashboard: DashboardProcess) -> None:
    """The node's usage comes from the real kubelet through metrics.k8s.io, as kubectl top
    nodes reads it (the kubelet samples every second here)."""
    node = cluster.node_name()
    async with headless_chromium() as page:
        await page.navigate(dashboard.url)
        usage = await page.wait_for(
            f"(t => /^\\d+m of \\d+(\\.\\d+)? cores \\(\\d+%\\)$/.test(t ?? '') && t)"
            f"({cell('nodes', node, 'cpu')})", timeout=30, what="the node's CPU usage")
        assert int(usage.split("m", 1)[0]) > 0, usage
        memory = await page.evaluate(cell("nodes", node, "memory"))
        assert re.match(r"^\d+(\.\d+)?[KMG]i of ", memory), memory
        assert (await page.evaluate("document.getElementById('metrics-note').textContent")
                ) == "Usage from metrics.k8s.io, refreshed every 1 s (metrics cannot be watched)."


def test_the_browser_is_never_sent_the_admin_credentials(cluster: ServeProcess,
                                                         dashboard: DashboardProcess) -> None:
    user = yaml.safe_load(cluster.kubeconfig.read_text())["users"][0]["user"]
    secrets = [user["client-key-data"], user["client-certificate-data"]]
    secrets += [line for field in secrets for line in base64.b64decode(field).decode()
                .splitlines() if "-----" not in line and len(line) > 20]
    sent = b"".join(get(dashboard.url + path)[1] for path in (
        "", "static/dashboard.js", "static/dashboard.css", "stream"))
    assert b"event: reset" in sent  # the stream's first frames were read
    for secret in secrets:
        assert secret.encode() not in sent


def test_it_answers_only_on_loopback_to_its_own_address(cluster: ServeProcess,
                                                        dashboard: DashboardProcess) -> None:
    port = int(dashboard.url.rsplit(":", 1)[1].rstrip("/"))
    assert get(dashboard.url, host=f"rebound.example:{port}")[0] == 403
    node = cluster.kubectl_json("get", "node", cluster.node_name())
    address = next(a["address"] for a in node["status"]["addresses"]
                   if a["type"] == "InternalIP")
    with pytest.raises(OSError):  # the node's own address: nothing listens there
        urllib.request.urlopen(f"http://{address}:{port}/", timeout=5)


def test_without_a_display_it_says_where_to_open_it_and_ctrl_c_stops_it(
        cluster: ServeProcess) -> None:
    process = DashboardProcess(cluster, "--port", "0")
    try:
        assert re.fullmatch(r"Open http://127\.0\.0\.1:\d+/ in a browser on this machine "
                            r"\(no display to open one here; Ctrl-C stops the dashboard\)",
                            process.url), process.url
    finally:
        assert process.stop() == 0


def test_a_busy_port_is_refused(cluster: ServeProcess, dashboard: DashboardProcess) -> None:
    port = dashboard.url.rsplit(":", 1)[1].rstrip("/")
    result = subprocess.run([sys.executable, "-m", "minikube_py", "dashboard", "--url",
                             "--port", port, "--data-dir", str(cluster.data_dir)],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert result.stdout == ""


async def test_the_page_carries_on_across_a_restart_of_serve(
        cluster: ServeProcess, dashboard: DashboardProcess) -> None:
    """Last: it restarts the module's cluster. The dashboard's watches list again when the
    API is back; the open page never reloads."""
    async with headless_chromium() as page:
        await page.navigate(dashboard.url)
        await page.wait_for(f"{cell('nodes', cluster.node_name(), 'ready')} === 'Ready'",
                            timeout=20, what="the node, Ready")
        await page.evaluate("window.__marker = 'not reloaded'")
        assert cluster.stop() == 0
        cluster.start()
        cluster.kubectl("run", "after-restart", "--image=busybox", "--restart=Never",
                        "--", "sleep", "3600")
        await page.wait_for(f"{cell('pods', 'default/after-restart', 'name')} === "
                            "'after-restart'", timeout=60, what="a pod made after the restart")
        assert await page.evaluate("window.__marker") == "not reloaded"
    assert dashboard.proc.poll() is None
