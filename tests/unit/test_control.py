"""serve's control socket: commands answered with one JSON object, errors with their message
and never a traceback, only for root or serve's own user; and `minikube-py encryption ...`
going through it while the data dir's serve runs."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from minikube_py.api.resources import SECRETS
from minikube_py.apiserver.encryptionkeys import open_encryption
from minikube_py.apiserver.service import ApiService
from minikube_py.control import ControlError, ControlServer, call, control_socket
from minikube_py.datalock import DataDirLock
from minikube_py.encryption_commands import (
    EXPECTED_ERRORS,
    ROTATE_KEY,
    STATUS,
    control_commands,
    run_command,
)
from minikube_py.store.node import RaftStore


class Refused(Exception):
    pass


async def answer() -> dict[str, Any]:
    return {"done": True}


async def refuse() -> dict[str, Any]:
    raise Refused("the key file is not writable")


async def crash() -> dict[str, Any]:
    raise RuntimeError("internal detail")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ControlServer]:
    s = ControlServer(control_socket(tmp_path),
                      {"POST /ok": answer, "POST /refuse": refuse, "POST /crash": crash},
                      (Refused,))
    await s.start()
    yield s
    await s.stop()


async def test_a_command_answers_its_object(server: ControlServer) -> None:
    assert await call(server.path, "POST", "/ok", timeout=10) == {"done": True}


async def test_the_socket_is_private_to_its_owner(server: ControlServer) -> None:
    assert stat.S_IMODE(server.path.stat().st_mode) == 0o600


async def test_an_unknown_command_is_refused_by_name(server: ControlServer) -> None:
    with pytest.raises(ControlError, match="no command GET /ok"):
        await call(server.path, "GET", "/ok", timeout=10)


async def test_an_expected_failure_answers_its_message(server: ControlServer) -> None:
    with pytest.raises(ControlError, match=r"^the key file is not writable$"):
        await call(server.path, "POST", "/refuse", timeout=10)


async def test_an_unexpected_failure_is_logged_and_answered_without_its_details(
        server: ControlServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="minikube_py.control"), \
            pytest.raises(ControlError, match="failed unexpectedly; see serve's log") as e:
        await call(server.path, "POST", "/crash", timeout=10)
    assert "internal detail" not in str(e.value)
    assert "internal detail" in caplog.text


async def test_no_socket_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ControlError, match="no control socket at"):
        await call(control_socket(tmp_path), "POST", "/ok", timeout=10)


async def test_a_peer_of_another_user_is_refused(tmp_path: Path) -> None:
    others = ControlServer(control_socket(tmp_path), {"POST /ok": answer},
                           allowed_uids=[os.getuid() + 1])
    await others.start()
    try:
        with pytest.raises(ControlError, match="only root or serve's user may control it"):
            await call(others.path, "POST", "/ok", timeout=10)
    finally:
        await others.stop()


async def test_the_encryption_commands_go_to_the_running_serve(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    lock = DataDirLock(data)  # as serve holds it
    lock.acquire()
    store = RaftStore(data / "store")
    await store.start()
    encryption, _ = await open_encryption(data, store, purge=store.purge_history)
    api = ApiService(encryption.kv)
    await api.start()
    server = ControlServer(control_socket(data), control_commands(encryption), EXPECTED_ERRORS)
    await server.start()
    try:
        await api.create(SECRETS, {"apiVersion": "v1", "kind": "Secret",
                                   "metadata": {"name": "db"}, "stringData": {"a": "b"}},
                         namespace="default")
        old = encryption.config.key_names
        rotated = await run_command(data, ROTATE_KEY)
        assert rotated["removed"] == list(old) and rotated["reencrypted"] == 1
        assert encryption.config.key_names == (rotated["key"],)  # serve's own, in memory
        status = await run_command(data, STATUS)
        assert status["secrets"] == {rotated["key"]: 1}
        assert (await api.get(SECRETS, "db", namespace="default"))["data"] == {"a": "Yg=="}
    finally:
        await server.stop()
        await api.stop()
        await store.close()
        lock.release()
