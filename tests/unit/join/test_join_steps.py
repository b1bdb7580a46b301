"""The agent's steps that talk to the API, against a scripted client: waiting for the
server (refuse a certificate it will never take, retry one that is away, saying so once),
waiting for the node's pod range, saying when the server goes and comes back; a signal while
starting; a data dir that holds the other command's state."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from minikube_py.api.errors import ApiError
from minikube_py.client.http import ApiUnreachable
from minikube_py.clustersettings import data_dir_in_use_by_other
from minikube_py.joinagent import register_for_pod_cidr, wait_for_api, watch_api
from minikube_py.nodebootstrap import JoinRefused
from minikube_py.startup import Progress, start_unless_stopped

SERVER = "https://10.200.0.1:6443"


class Scripted:
    """Answers each GET with the next of `answers` (an exception is raised); other calls
    are recorded."""

    def __init__(self, *answers: Any, wake_after: int = 0) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []
        self.wake_after = wake_after
        self.woken = asyncio.Event()  # set once `wake_after` GETs were answered

    async def get(self, _resource: Any, name: str, **_: Any) -> dict[str, Any]:
        self.calls.append(f"get {name}")
        if self.wake_after and len(self.calls) >= self.wake_after:
            self.woken.set()
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return dict(answer)

    async def create(self, _resource: Any, body: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.calls.append(f"create {body['metadata']['name']}")
        return body

    async def patch(self, _resource: Any, name: str, patch: Any, **_: Any) -> dict[str, Any]:
        self.calls.append(f"patch {name} {sorted(patch['status'])}")
        return {}


def progress() -> Progress:
    return Progress(out=io.StringIO())


def said(p: Progress) -> list[str]:
    assert isinstance(p.out, io.StringIO)
    return [line.split("] ", 1)[1] for line in p.out.getvalue().splitlines() if "] " in line]


def away() -> ApiUnreachable:
    return ApiUnreachable(SERVER, aiohttp.ClientConnectionError("refused"))


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    real_sleep = asyncio.sleep
    monkeypatch.setattr("minikube_py.joinagent.asyncio.sleep", lambda _s: real_sleep(0))


async def test_a_server_that_is_away_is_waited_for_and_said_once() -> None:
    p = progress()
    client = Scripted(away(), away(), away(), ApiError(404, "NotFound", "nodes \"-\""))
    await wait_for_api(client, SERVER, p)  # type: ignore[arg-type]
    assert len(client.calls) == 4
    assert [line for line in said(p) if line.startswith("waiting for the API server")] == [
        f"waiting for the API server at {SERVER} (the API server at {SERVER} did not "
        "answer: ClientConnectionError: refused); retrying with backoff"]


async def test_a_certificate_the_server_will_never_take_is_refused_at_once() -> None:
    client = Scripted(ApiError(401, "Unauthorized", "Unauthorized"))
    with pytest.raises(JoinRefused, match="refused the node's certificate"):
        await wait_for_api(client, SERVER, progress())  # type: ignore[arg-type]
    assert len(client.calls) == 1


async def test_the_pod_range_is_waited_for_through_a_busy_server() -> None:
    client = Scripted({"spec": {}}, away(), {"spec": {"podCIDR": "10.244.7.0/24"}})
    cidr = await register_for_pod_cidr(client, "n2", {}, "10.200.0.11")  # type: ignore[arg-type]
    assert cidr == "10.244.7.0/24"
    assert client.calls[:2] == ["create n2", "patch n2 ['addresses']"]


async def test_no_pod_range_in_time_names_the_node_and_where_to_look() -> None:
    client = Scripted({"spec": {}})
    with pytest.raises(JoinRefused, match=r"gave node n2 no pod range within 0\.05s"):
        await register_for_pod_cidr(client, "n2", {}, "10.200.0.11",  # type: ignore[arg-type]
                                    timeout=0.05)


async def test_losing_and_regaining_the_server_is_said_once_each() -> None:
    p = progress()
    client = Scripted(away(), away(), {}, {}, away(), {}, wake_after=8)
    task = asyncio.create_task(watch_api(client, SERVER, p, every=0))  # type: ignore[arg-type]
    await asyncio.wait_for(client.woken.wait(), 5)
    task.cancel()
    lines = [line.split(" (")[0] for line in said(p)]
    assert lines == [f"lost the API server at {SERVER}", f"the API server at {SERVER} is back",
                     f"lost the API server at {SERVER}", f"the API server at {SERVER} is back"]


async def test_a_signal_while_starting_stops_the_start_and_its_cleanup_runs() -> None:
    cleaned = asyncio.Event()

    async def start_forever() -> str:
        try:
            await asyncio.Event().wait()  # a server that never answers
        finally:
            cleaned.set()
        return "never"

    stop = asyncio.Event()
    stop.set()
    p = progress()
    assert await start_unless_stopped(start_forever(), stop, p) is None
    assert cleaned.is_set()
    assert said(p) == ["stopping (signal received while starting)", "stopped"]


async def test_a_start_that_ends_first_is_its_result() -> None:
    async def quick() -> str:
        return "agent"

    assert await start_unless_stopped(quick(), asyncio.Event(), progress()) == "agent"


def test_serve_and_join_never_share_a_data_dir(tmp_path: Path) -> None:
    assert data_dir_in_use_by_other(tmp_path, "join") is None
    (tmp_path / "store").mkdir()
    assert data_dir_in_use_by_other(tmp_path, "join") == (
        f"{tmp_path} holds the cluster `serve` made: join with another --data-dir, or remove "
        f"it first (minikube-py delete --data-dir {tmp_path})")
    node = tmp_path / "node"
    (node / "pki").mkdir(parents=True)
    (node / "pki" / "kubelet-client.crt").write_text("x")
    assert "holds a node `join` made: serve with another --data-dir" in (
        data_dir_in_use_by_other(node, "serve") or "")
    assert data_dir_in_use_by_other(node, "join") is None
