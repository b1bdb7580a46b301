"""`minikube-py token create|list|delete` against a running cluster's HTTPS API, as the
admin of DATA/kubeconfig (the data dir locked, as a running serve holds it); without a
running cluster, or with bad input, one line and no traceback."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from minikube_py.apiserver.authn import standard_authenticators
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.service import ApiService
from minikube_py.cli import main
from minikube_py.datalock import DataDirLock
from minikube_py.kubeconfig import KubeconfigCredentials, write_kubeconfig
from minikube_py.pki.jointoken import NODE_TOKEN_GROUP
from tests.certs import make_test_pki

JOIN_TOKEN = re.compile(r"K10([0-9a-f]{64})::([a-z0-9]{6})\.[a-z0-9]{16}")


async def token(*args: str) -> tuple[int, str]:
    """The command, in a thread of its own (it runs its own event loop), while this loop
    serves the API."""
    result = await asyncio.to_thread(CliRunner().invoke, main, ["token", *args])
    return result.exit_code, result.output


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A data dir a running serve holds."""
    lock = DataDirLock(tmp_path)
    lock.acquire()
    yield tmp_path
    lock.release()


@pytest.fixture
async def running(api: ApiService, locked: Path) -> AsyncIterator[Path]:
    """A data dir with a running cluster: its HTTPS API, with serve's authenticators, and
    the kubeconfig serve writes."""
    pki = make_test_pki(locked)
    server = TestServer(build_app(api, authenticators=standard_authenticators(
        api.token_authenticators())), host="127.0.0.1")
    await server.start_server(ssl=pki.api_server_context())
    write_kubeconfig(locked / "kubeconfig", f"https://127.0.0.1:{server.port}",
                     KubeconfigCredentials.read(pki.layout.ca.cert, pki.layout.admin))
    yield locked
    await server.close()


async def test_create_prints_a_join_token_naming_the_clusters_ca(running: Path) -> None:
    code, out = await token("create", "--data-dir", str(running))
    assert code == 0, out
    m = JOIN_TOKEN.fullmatch(out.strip())
    assert m is not None, out
    assert m.group(1) == hashlib.sha256((running / "pki/ca.crt").read_bytes()).hexdigest()


async def test_list_shows_a_created_token_in_kubeadms_columns(running: Path) -> None:
    _, out = await token("create", "--data-dir", str(running), "--ttl", "2h",
                         "--description", "for ci")
    credentials = out.strip().split("::")[1]
    code, listed = await token("list", "--data-dir", str(running))
    assert code == 0, listed
    header, row = listed.splitlines()
    assert header.split() == ["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA",
                              "GROUPS"]
    assert re.fullmatch(rf"{credentials} +1h +\S+Z +authentication,signing +for ci +"
                        rf"{NODE_TOKEN_GROUP}", row), row


async def test_a_token_with_ttl_0_lists_as_forever(running: Path) -> None:
    await token("create", "--data-dir", str(running), "--ttl", "0")
    _, listed = await token("list", "--data-dir", str(running))
    assert listed.splitlines()[1].split()[1:3] == ["<forever>", "<never>"]


async def test_delete_removes_the_token_it_names(running: Path) -> None:
    _, out = await token("create", "--data-dir", str(running))
    m = JOIN_TOKEN.fullmatch(out.strip())
    assert m is not None
    assert await token("delete", m.group(2), "--data-dir", str(running)) == (
        0, f'bootstrap token "{m.group(2)}" deleted\n')
    _, listed = await token("list", "--data-dir", str(running))
    assert listed.splitlines()[1:] == []


async def test_deleting_an_unknown_token_is_one_line(running: Path) -> None:
    assert await token("delete", "zzzzzz", "--data-dir", str(running)) == (
        1, 'Error: bootstrap token "zzzzzz" not found\n')


async def test_a_failed_delete_still_reports_the_ones_deleted_before(running: Path) -> None:
    _, out = await token("create", "--data-dir", str(running))
    m = JOIN_TOKEN.fullmatch(out.strip())
    assert m is not None
    assert await token("delete", m.group(2), "zzzzzz", "--data-dir", str(running)) == (
        1, f'bootstrap token "{m.group(2)}" deleted\n'
           'Error: bootstrap token "zzzzzz" not found\n')


async def test_deleting_what_is_no_token_is_one_line(running: Path) -> None:
    assert await token("delete", "nope", "--data-dir", str(running)) == (
        1, "Error: 'nope' is neither a token id ([a-z0-9]{6}) nor a token\n")


def test_a_bad_ttl_is_a_usage_error_naming_the_flag(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["token", "create", "--data-dir", str(tmp_path),
                                       "--ttl", "1d"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: --ttl: invalid TTL '1d': a duration such as 24h, 1h30m or 90s "
        "(0: never expires)")


@pytest.mark.parametrize("command", [["create"], ["list"], ["delete", "abcdef"]])
def test_without_a_cluster_each_command_says_so_in_one_line(tmp_path: Path,
                                                            command: list[str]) -> None:
    result = CliRunner().invoke(main, ["token", *command, "--data-dir", str(tmp_path)])
    assert (result.exit_code, result.output) == (
        1, f"Error: no cluster in {tmp_path} (no {tmp_path}/kubeconfig): start one with "
           f"`minikube-py serve --data-dir {tmp_path}`\n")


def test_a_stopped_cluster_is_not_asked(tmp_path: Path) -> None:
    (tmp_path / "kubeconfig").write_text("left by a serve that stopped")
    result = CliRunner().invoke(main, ["token", "list", "--data-dir", str(tmp_path)])
    assert (result.exit_code, result.output) == (
        1, f"Error: the cluster in {tmp_path} is not running: start it with "
           f"`minikube-py serve --data-dir {tmp_path}`\n")


def test_a_cluster_that_does_not_answer_is_one_line(locked: Path) -> None:
    pki = make_test_pki(locked)
    write_kubeconfig(locked / "kubeconfig", "https://127.0.0.1:9",  # discard: nobody there
                     KubeconfigCredentials.read(pki.layout.ca.cert, pki.layout.admin))
    result = CliRunner().invoke(main, ["token", "list", "--data-dir", str(locked)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot reach the cluster at https://127.0.0.1:9: ")
    assert result.output.count("\n") == 1
