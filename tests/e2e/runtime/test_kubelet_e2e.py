"""The real kubelet against a real containerd and the real API service (over the in-memory
store): pods run, serve, log, crash-loop, survive a kubelet restart (adoption) and the
deletion of their Node, and are torn down on deletion."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from click.testing import CliRunner

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import LEASES, NODES, PODS
from minikube_py.apiserver.service import ApiService
from minikube_py.cli import main
from minikube_py.client.interface import STRATEGIC_MERGE_PATCH
from minikube_py.kubelet.config import KubeletConfig
from minikube_py.kubelet.kubelet import Kubelet
from minikube_py.kubelet.specs import CONTAINER_NAME_LABEL, POD_NAME_LABEL
from minikube_py.store.memory import MemoryKV
from tests.certs import TrialPki
from tests.e2e.runtime.containerd_fixture import RuntimeFixture

NODE = "node-e2e"
NODE_IP = "10.244.250.1"  # the bridge gateway: pods and the host both reach it


@contextlib.asynccontextmanager
async def api_service(pki: TrialPki) -> AsyncIterator[Any]:
    service = ApiService(MemoryKV(), kubelet_tls=pki.client(pki.layout.kubelet_client))
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met in {timeout}s (last: {result!r})")
        await asyncio.sleep(0.05)


class RunningKubelet:
    def __init__(self, api: Any, runtime: RuntimeFixture, pki: TrialPki, *,
                 node_ip: str = NODE_IP) -> None:
        self.api = api
        self.runtime = runtime
        self.pki = pki
        self.node_ip = node_ip
        self.kubelet: Kubelet | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Kubelet:
        serving = self.pki.layout.kubelet(NODE)
        config = KubeletConfig(node_name=NODE, data_dir=self.runtime.data_dir,
                               node_ip=self.node_ip, tls_cert_file=serving.cert,
                               tls_private_key_file=serving.key,
                               client_ca_file=self.pki.layout.ca.cert,
                               pod_cidr="10.244.250.0/24", server_host="127.0.0.1",
                               relist_interval=0.2, node_status_check_interval=0.2)
        self.kubelet = Kubelet(self.api, self.runtime.cri, config)
        self.task = asyncio.create_task(self.kubelet.run())
        ready = asyncio.create_task(self.kubelet.ready.wait())
        await asyncio.wait([ready, self.task], timeout=20, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            self.task.result()
        assert self.kubelet.ready.is_set()
        return self.kubelet

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


@pytest.fixture
async def api(pki: TrialPki) -> AsyncIterator[Any]:
    async with api_service(pki) as service:
        yield service


@pytest.fixture
async def node(api: Any, runtime: RuntimeFixture,
               pki: TrialPki) -> AsyncIterator[RunningKubelet]:
    running = RunningKubelet(api, runtime, pki)
    await running.start()
    yield running
    await running.stop()


def pod_body(name: str, command: list[str], *, restart_policy: str = "Always",
             ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": NODE, "restartPolicy": restart_policy,
                     "terminationGracePeriodSeconds": 5,
                     "containers": [{"name": "main", "image": "busybox", "command": command,
                                     "ports": ports or [],
                                     "env": [{"name": "POD_NAME", "valueFrom": {
                                         "fieldRef": {"fieldPath": "metadata.name"}}}]}]}}


async def pod_status(api: Any, name: str) -> dict[str, Any]:
    return (await api.get(PODS, name, namespace="default")).get("status") or {}


async def test_node_registers_ready_with_a_lease(api: Any, node: RunningKubelet) -> None:
    n = await api.get(NODES, NODE)
    ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "True"
    assert n["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://1.6")
    assert n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == node.kubelet.port  # type: ignore[union-attr]
    assert n["spec"]["podCIDR"] == "10.244.250.0/24"
    lease = await api.get(LEASES, NODE, namespace="kube-node-lease")
    assert lease["spec"]["holderIdentity"] == NODE


async def test_pod_runs_serves_logs_and_is_deleted(api: Any, node: RunningKubelet,
                                                   runtime: RuntimeFixture,
                                                   pki: TrialPki) -> None:
    t0 = time.monotonic()
    await api.create(PODS, pod_body(
        "web", ["sh", "-c", "echo hello $POD_NAME; exec httpd -f -p 8080 -h /var/www"]))
    status = await eventually(lambda: _phase_is(api, "web", "Running"))
    print(f"\npod created -> Running in API: {(time.monotonic() - t0) * 1000:.0f} ms")
    cs = status["containerStatuses"][0]
    assert cs["ready"] and cs["restartCount"] == 0 and cs["imageID"].startswith("sha256:")
    ip = status["podIP"]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://{ip}:8080/") as resp:
            assert await resp.text() == "hello from minikube-py\n"
        port = node.kubelet.port  # type: ignore[union-attr]
        url = f"https://127.0.0.1:{port}/containerLogs/default/web/main"
        as_api_server = pki.client(pki.layout.kubelet_client)
        async with http.get(url, ssl=as_api_server) as resp:
            assert await resp.text() == "hello web\n"
        async with http.get(url.replace("/main", "/nope"), ssl=as_api_server) as resp:
            assert resp.status == 404
        async with http.get(url, ssl=pki.client(None)) as resp:
            assert resp.status == 401  # no client certificate

    await api.delete(PODS, "web", namespace="default")
    await eventually(lambda: _gone(api, "web"))
    assert await runtime.cri.list_pod_sandboxes() == []


async def test_previous_logs_without_a_previous_container_are_a_bad_request(
        api: Any, runtime: RuntimeFixture, pki: TrialPki) -> None:
    # The API service reaches the kubelet at its node address: loopback for this one.
    running = RunningKubelet(api, runtime, pki, node_ip="127.0.0.1")
    await running.start()
    try:
        await api.create(PODS, pod_body("fresh", ["sleep", "3600"]))
        await eventually(lambda: _phase_is(api, "fresh", "Running"))
        with pytest.raises(ApiError) as refused:
            await api.read_log("default", "fresh", previous=True)
        assert (refused.value.code, refused.value.reason, refused.value.message) == (
            400, "BadRequest", 'previous terminated container "main" in pod "fresh" not found')
        await api.delete(PODS, "fresh", namespace="default", grace_period_seconds=1)
        await eventually(lambda: _gone(api, "fresh"))
    finally:
        await running.stop()


async def test_a_log_follower_that_leaves_ends_its_stream_quietly(
        api: Any, node: RunningKubelet, caplog: pytest.LogCaptureFixture,
        pki: TrialPki) -> None:
    caplog.set_level(logging.ERROR, logger="aiohttp.server")
    await api.create(PODS, pod_body(
        "chatty", ["sh", "-c", "while true; do echo tick; sleep 0.2; done"]))
    await eventually(lambda: _phase_is(api, "chatty", "Running"))
    server = node.kubelet.server  # type: ignore[union-attr]
    url = f"https://127.0.0.1:{server.port}/containerLogs/default/chatty/main?follow=true"
    async with aiohttp.ClientSession() as http:
        resp = await http.get(url, ssl=pki.client(pki.layout.kubelet_client))
        assert await resp.content.readline() == b"tick\n"
        assert server.log_streams == 1
        resp.close()  # kubectl logs -f stopped mid-stream

    async def stream_ended() -> bool:
        return server.log_streams == 0

    await eventually(stream_ended)
    assert not [r.getMessage() for r in caplog.records if r.name == "aiohttp.server"]
    await api.delete(PODS, "chatty", namespace="default", grace_period_seconds=1)
    await eventually(lambda: _gone(api, "chatty"))


async def test_crashing_container_restarts_with_back_off(api: Any, node: RunningKubelet,
                                                         runtime: RuntimeFixture) -> None:
    await api.create(PODS, pod_body("crash", ["sh", "-c", "echo boom; exit 3"]))

    async def backing_off() -> bool:
        st = await pod_status(api, "crash")
        for cs in st.get("containerStatuses") or []:
            waiting = cs["state"].get("waiting") or {}
            if waiting.get("reason") == "CrashLoopBackOff":
                assert cs["lastState"]["terminated"]["exitCode"] == 3
                assert "back-off 10s restarting failed container=main" in waiting["message"]
                return cs["restartCount"] >= 1
        return False

    await eventually(backing_off)
    await api.delete(PODS, "crash", namespace="default", grace_period_seconds=1)
    await eventually(lambda: _gone(api, "crash"))


# A window of a crash loop: the first start and, after the 10 s back-off, one restart (the
# next waits 20 s more).
CRASH_WINDOW = 16.0
STARTS_IN_WINDOW = 2
# What one start of a crashing container may change in the pod's status: created, running
# (ready), exited, backing off; and one more for the sandbox becoming ready.
WRITES_PER_START = 5


async def _status_writes(api: Any, names: set[str], window: float) -> dict[str, int]:
    """The pod writes (creation included) seen through a watch, per pod, until `window`
    seconds have passed."""
    writes = dict.fromkeys(names, 0)
    deadline = time.monotonic() + window
    stream = api.watch(PODS, namespace="default")
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = await asyncio.wait_for(anext(stream), left)
            except TimeoutError:
                break
            name = event.object["metadata"]["name"]
            if name in writes:
                writes[name] += 1
    finally:
        await stream.aclose()
    return writes


async def test_a_crash_looping_pod_is_synced_when_its_back_off_ends_not_all_the_time(
        api: Any, node: RunningKubelet) -> None:
    """A pod in CrashLoopBackOff is synced on its own changes and when its back-off ends:
    its status is written a few times per start, not in a loop of the kubelet's own writes
    (one sync every ~20 ms, hundreds of writes in this window, before status was compared
    as the API stores it)."""
    bodies = [pod_body("crash-exit", ["sh", "-c", "exit 3"]),
              pod_body("crash-on-failure", ["sh", "-c", "exit 3"], restart_policy="OnFailure"),
              pod_body("crash-no-binary", ["/no/such/binary"])]
    watching = asyncio.create_task(_status_writes(api, {b["metadata"]["name"] for b in bodies},
                                                  CRASH_WINDOW))
    for body in bodies:
        await api.create(PODS, body)
    writes = await watching
    bound = STARTS_IN_WINDOW * WRITES_PER_START + 1  # + 1: the creation
    assert all(n <= bound for n in writes.values()), f"{writes} (at most {bound} each)"
    for body in bodies:
        await api.delete(PODS, body["metadata"]["name"], namespace="default",
                         grace_period_seconds=1)
    for body in bodies:
        await eventually(lambda name=body["metadata"]["name"]: _gone(api, name))


async def test_init_containers_run_in_order_before_the_app(
        api: Any, node: RunningKubelet, pki: TrialPki) -> None:
    body = pod_body("init", ["sh", "-c", "cat /work/order; exec sleep 3600"])
    mount = [{"name": "work", "mountPath": "/work"}]
    body["spec"]["volumes"] = [{"name": "work", "emptyDir": {}}]
    body["spec"]["containers"][0]["volumeMounts"] = mount
    body["spec"]["initContainers"] = [
        {"name": step, "image": "busybox", "volumeMounts": mount,
         "command": ["sh", "-c", f"echo {step} >> /work/order"]} for step in ("one", "two")]
    await api.create(PODS, body)
    status = await eventually(lambda: _phase_is(api, "init", "Running"))
    assert [(s["name"], s["state"]["terminated"]["reason"])
            for s in status["initContainerStatuses"]] == [("one", "Completed"),
                                                          ("two", "Completed")]
    port = node.kubelet.port  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http, http.get(
            f"https://127.0.0.1:{port}/containerLogs/default/init/main",
            ssl=pki.client(pki.layout.kubelet_client)) as resp:
        assert await resp.text() == "one\ntwo\n"
    await api.delete(PODS, "init", namespace="default", grace_period_seconds=1)
    await eventually(lambda: _gone(api, "init"))


async def test_a_dead_sandbox_is_replaced_and_the_pod_runs_again(
        api: Any, node: RunningKubelet, runtime: RuntimeFixture) -> None:
    await api.create(PODS, pod_body("phoenix", ["sleep", "3600"]))
    before = await eventually(lambda: _phase_is(api, "phoenix", "Running"))
    [first] = await runtime.cri.list_pod_sandboxes()
    await runtime.cri.stop_pod_sandbox(first.id)  # its network and containers die with it

    async def running_in_a_new_sandbox() -> dict[str, Any] | None:
        ready = [s for s in await runtime.cri.list_pod_sandboxes() if s.state == 0]
        cs = (await pod_status(api, "phoenix"))["containerStatuses"][0]
        replaced = cs.get("containerID") != before["containerStatuses"][0]["containerID"]
        if [s.metadata.attempt for s in ready] == [1] and replaced and "running" in cs["state"]:
            return cs
        return None

    cs = await eventually(running_in_a_new_sandbox)
    # restartCount counts the earlier runs that started: one, or two when the kubelet
    # restarted the container inside the dying sandbox before the runtime marked it
    # stopped (containerd kills the containers first, tears the network down, then stops
    # the sandbox; kube's kubelet races the same way). A restart that failed to start in
    # the dying sandbox is not a run and must not count.
    runs = await runtime.cri.list_containers(labels={CONTAINER_NAME_LABEL: "main", POD_NAME_LABEL: "phoenix"})
    statuses = [await runtime.cri.container_status(c.id) for c in runs]
    current = cs["containerID"].removeprefix("containerd://")
    earlier = [s for s in statuses if s.id != current and s.started_at]
    assert len(earlier) >= 1
    assert cs["restartCount"] == len(earlier)
    await api.delete(PODS, "phoenix", namespace="default", grace_period_seconds=1)
    await eventually(lambda: _gone(api, "phoenix"))


async def test_a_changed_image_restarts_the_container(api: Any, node: RunningKubelet) -> None:
    await api.create(PODS, pod_body("swap", ["sleep", "3600"]))
    before = await eventually(lambda: _phase_is(api, "swap", "Running"))
    pod = await api.get(PODS, "swap", namespace="default")
    pod["spec"]["containers"][0]["image"] = "docker.io/library/busybox:latest"  # set image
    await api.update(PODS, pod, namespace="default")

    async def restarted() -> dict[str, Any] | None:
        cs = (await pod_status(api, "swap"))["containerStatuses"][0]
        changed = cs["containerID"] != before["containerStatuses"][0]["containerID"]
        return cs if changed and "running" in cs["state"] else None

    cs = await eventually(restarted)
    assert cs["restartCount"] == 1 and cs["image"] == "docker.io/library/busybox:latest"
    await api.delete(PODS, "swap", namespace="default", grace_period_seconds=1)
    await eventually(lambda: _gone(api, "swap"))


async def test_never_restart_pod_succeeds(api: Any, node: RunningKubelet) -> None:
    await api.create(PODS, pod_body("once", ["true"], restart_policy="Never"))
    status = await eventually(lambda: _phase_is(api, "once", "Succeeded"))
    assert status["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    await api.delete(PODS, "once", namespace="default")
    await eventually(lambda: _gone(api, "once"))


async def test_restarted_kubelet_adopts_running_pod(api: Any, node: RunningKubelet,
                                                    runtime: RuntimeFixture) -> None:
    await api.create(PODS, pod_body("keep", ["sleep", "3600"]))
    before = await eventually(lambda: _phase_is(api, "keep", "Running"))
    sandboxes = [s.id for s in await runtime.cri.list_pod_sandboxes()]
    await node.stop()
    await node.start()
    # A pod created after the restart running proves the new kubelet has worked through its
    # pods (the adopted one came first in its list): had it wanted a second sandbox for
    # "keep", it would have made it by now.
    await api.create(PODS, pod_body("probe", ["sleep", "3600"]))
    await eventually(lambda: _phase_is(api, "probe", "Running"))
    probe_uid = (await api.get(PODS, "probe", namespace="default"))["metadata"]["uid"]
    keep_sandboxes = [s.id for s in await runtime.cri.list_pod_sandboxes()
                      if s.metadata.uid != probe_uid]
    assert keep_sandboxes == sandboxes
    after = await pod_status(api, "keep")
    assert after["containerStatuses"][0]["containerID"] == before["containerStatuses"][0][
        "containerID"]
    for name in ("keep", "probe"):
        await api.delete(PODS, name, namespace="default", grace_period_seconds=1)
        await eventually(lambda name=name: _gone(api, name))  # type: ignore[misc]


async def test_a_terminating_pod_reports_not_ready_before_it_is_gone(
        api: Any, node: RunningKubelet) -> None:
    # `sleep` as PID 1 ignores SIGTERM: the pod stays terminating for its 5 s grace period.
    await api.create(PODS, pod_body("leaving", ["sleep", "3600"]))

    async def ready() -> bool:
        st = await pod_status(api, "leaving")
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in st.get("conditions") or [])

    await eventually(ready)
    await api.delete(PODS, "leaving", namespace="default")

    async def not_ready_while_terminating() -> bool:
        try:
            pod = await api.get(PODS, "leaving", namespace="default")
        except ApiError as e:
            raise AssertionError("deleted while it still reported Ready") from e
        st = pod["status"]
        assert pod["metadata"].get("deletionTimestamp")
        cond = {c["type"]: c["status"] for c in st.get("conditions") or []}
        return (cond.get("Ready") == "False" and cond.get("ContainersReady") == "False"
                and st["containerStatuses"][0]["ready"] is False)

    await eventually(not_ready_while_terminating)
    await eventually(lambda: _gone(api, "leaving"))


async def test_a_deleted_node_is_registered_again_and_its_pods_keep_running(
        api: Any, node: RunningKubelet) -> None:
    await api.create(PODS, pod_body("stay", ["sleep", "3600"]))
    before = await eventually(lambda: _phase_is(api, "stay", "Running"))
    old_uid = (await api.get(NODES, NODE))["metadata"]["uid"]
    await api.delete(NODES, NODE)

    async def registered_again() -> dict[str, Any] | None:
        try:
            n: dict[str, Any] = await api.get(NODES, NODE)
        except ApiError as e:
            assert e.code == 404
            return None
        return n if n["metadata"]["uid"] != old_uid else None

    again = await eventually(registered_again)
    ready = [c for c in again["status"]["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "True"

    async def lease_owned_by_the_new_node() -> bool:
        lease = await api.get(LEASES, NODE, namespace="kube-node-lease")
        owners = lease["metadata"].get("ownerReferences") or []
        return bool([o["uid"] for o in owners] == [again["metadata"]["uid"]])

    await eventually(lease_owned_by_the_new_node)
    after = await pod_status(api, "stay")
    assert after["phase"] == "Running"
    assert after["containerStatuses"][0]["containerID"] == before["containerStatuses"][0][
        "containerID"]
    await api.delete(PODS, "stay", namespace="default", grace_period_seconds=1)
    await eventually(lambda: _gone(api, "stay"))


async def test_sandbox_of_a_pod_deleted_while_away_is_removed(
        api: Any, node: RunningKubelet, runtime: RuntimeFixture) -> None:
    await api.create(PODS, pod_body("lost", ["sleep", "3600"]))
    await eventually(lambda: _phase_is(api, "lost", "Running"))
    await node.stop()
    await api.delete(PODS, "lost", namespace="default", grace_period_seconds=0)
    await node.start()

    async def no_sandboxes() -> bool:
        return not await runtime.cri.list_pod_sandboxes()

    await eventually(no_sandboxes)


async def _phase_is(api: Any, name: str, phase: str) -> dict[str, Any] | None:
    st = await pod_status(api, name)
    return st if st.get("phase") == phase else None


async def _gone(api: Any, name: str) -> bool:
    try:
        await api.get(PODS, name, namespace="default")
    except Exception as e:  # ApiError 404
        return getattr(e, "code", 0) == 404
    return False


async def test_an_image_no_registry_serves_backs_off_saying_how_to_load_it(
        api: Any, node: RunningKubelet, runtime: RuntimeFixture) -> None:
    # A registry on loopback that is not there: the pull is refused without leaving the
    # machine, as an offline laptop's pull of a public image is.
    image = "127.0.0.1:9/shop/api:1.0"
    body = pod_body("offline", ["sleep", "3600"])
    body["spec"]["containers"][0]["image"] = image
    await api.create(PODS, body)

    async def waiting(reason: str) -> dict[str, Any] | None:
        statuses = (await pod_status(api, "offline")).get("containerStatuses") or []
        state = (statuses[0].get("state") or {}).get("waiting") if statuses else None
        return state if state and state.get("reason") == reason else None

    # ErrImagePull lasts until the next sync; the back-off repeats what it said.
    backing_off = await eventually(lambda: waiting("ImagePullBackOff"), timeout=30)
    assert backing_off["message"].startswith(
        f'Back-off pulling image "{image}": ErrImagePull: ')
    assert "connection refused: no registry was reachable for image 127.0.0.1:9/shop/api:1.0; " \
        "bring the image onto this node with `minikube-py image load FILE`" in (
            backing_off["message"])
    await api.delete(PODS, "offline", namespace="default", grace_period_seconds=0)
    await eventually(lambda: _gone(api, "offline"))


async def test_image_ls_lists_what_the_node_holds(runtime: RuntimeFixture) -> None:
    # The command runs its own event loop: off this one.
    result = await asyncio.to_thread(CliRunner().invoke, main, [
        "image", "ls", "--containerd-socket", str(runtime.socket)])
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == ["IMAGE", "IMAGE", "ID", "SIZE"]
    assert any(r.split()[0] == "docker.io/library/busybox:latest" for r in rows)


async def test_an_ephemeral_container_runs_once_in_its_targets_process_namespace(
        api: Any, node: RunningKubelet, pki: TrialPki, runtime: RuntimeFixture) -> None:
    await api.create(PODS, pod_body("debuggee", ["sleep", "3600"]))
    await eventually(lambda: _phase_is(api, "debuggee", "Running"))
    await api.patch(PODS, "debuggee", {"spec": {"ephemeralContainers": [{
        "name": "dbg", "image": "busybox", "targetContainerName": "main",
        "command": ["sh", "-c", "ps -o pid,args; exit 3"]}]}},
        patch_type=STRATEGIC_MERGE_PATCH, namespace="default",
        subresource="ephemeralcontainers")

    async def finished() -> dict[str, Any] | None:
        statuses = (await pod_status(api, "debuggee")).get("ephemeralContainerStatuses") or []
        term = (statuses[0].get("state") or {}).get("terminated") if statuses else None
        return term

    term = await eventually(finished)
    assert term["exitCode"] == 3
    port = node.kubelet.port  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http, http.get(
            f"https://127.0.0.1:{port}/containerLogs/default/debuggee/dbg",
            ssl=pki.client(pki.layout.kubelet_client)) as resp:
        processes = await resp.text()
    # The target's process is there to debug: the same PID namespace.
    assert any(line.split()[1:] == ["sleep", "3600"] for line in processes.splitlines()[1:])
    status = await pod_status(api, "debuggee")
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["restartCount"] == 0
    # It ran once: the syncs that reported its exit did not start it again.
    runs = await runtime.cri.list_containers(labels={CONTAINER_NAME_LABEL: "dbg",
                                                     POD_NAME_LABEL: "debuggee"})
    assert len(runs) == 1
    await api.delete(PODS, "debuggee", namespace="default", grace_period_seconds=1)
    await eventually(lambda: _gone(api, "debuggee"))
