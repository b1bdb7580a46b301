"""What `minikube-py encryption ...` does: on a running cluster, through its serve's control
socket (serve holds the store and the keys, and re-encrypts while it goes on serving); on a
stopped one, on its data dir directly, holding the data dir's lock meanwhile."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from minikube_py import control
from minikube_py.api.errors import ApiError
from minikube_py.apiserver.encryption import EncryptionConfigError
from minikube_py.apiserver.encryptionkeys import SecretsEncryption, open_encryption
from minikube_py.clustersettings import read_remembered_datastore
from minikube_py.datalock import DataDirBusy, DataDirLock
from minikube_py.store.node import RaftStore
from minikube_py.store.types import StoreError
from minikube_py.store.wal import WalCorruptError

ROTATE_KEY = "POST /encryption/rotate-key"
STATUS = "GET /encryption/status"
# What a command may fail with that its message explains (no traceback needed).
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    ApiError, EncryptionConfigError, StoreError, WalCorruptError, OSError)
# A rotation rewrites every Secret: give a large store time.
TIMEOUT = 600.0

Action = Callable[[SecretsEncryption], Awaitable[dict[str, Any]]]


class CommandFailed(Exception):
    """The command did not run or did not finish; the message says why."""


async def _rotate(encryption: SecretsEncryption) -> dict[str, Any]:
    return (await encryption.rotate_key()).to_json()


async def _status(encryption: SecretsEncryption) -> dict[str, Any]:
    return await encryption.status()


ACTIONS: dict[str, Action] = {ROTATE_KEY: _rotate, STATUS: _status}


def control_commands(encryption: SecretsEncryption) -> dict[str, control.Command]:
    """The commands serve answers on its control socket."""
    return {name: functools.partial(action, encryption) for name, action in ACTIONS.items()}


async def run_command(data_dir: Path, command: str) -> dict[str, Any]:
    """Run `command` (ROTATE_KEY, STATUS) on the cluster in `data_dir`, running or not."""
    try:
        holder = DataDirLock(data_dir).holder()
    except OSError as e:
        raise CommandFailed(f"cannot read {data_dir}: {e.strerror} (run it as the user that "
                            "runs serve)") from e
    if holder is not None:
        method, route = command.split(" ", 1)
        try:
            return await control.call(control.control_socket(data_dir), method, route,
                                      timeout=TIMEOUT)
        except control.ControlError as e:
            raise CommandFailed(f"the cluster's serve (pid {holder}): {e}") from e
    return await _on_stopped_cluster(data_dir, ACTIONS[command])


async def _on_stopped_cluster(data_dir: Path, action: Action) -> dict[str, Any]:
    external = read_remembered_datastore(data_dir)
    if external is not None:
        raise CommandFailed(f"the cluster in {data_dir} is kept in etcd at "
                            f"{external.endpoints}: run this while its serve runs")
    if not (data_dir / "store").is_dir():
        raise CommandFailed(f"no cluster in {data_dir}")
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirBusy as e:
        raise CommandFailed(str(e)) from e
    try:
        store = RaftStore(data_dir / "store")
        await store.start()
        try:
            encryption, _ = await open_encryption(data_dir, store,
                                                  purge=store.purge_history)
            return await action(encryption)
        finally:
            await store.close()
    except EXPECTED_ERRORS as e:
        raise CommandFailed(str(e)) from e
    finally:
        lock.release()
