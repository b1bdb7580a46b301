"""`minikube-py status` and `stop` on a data dir nothing serves, or one whose serve does not
answer: one readable line, the right exit code, never a traceback."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from minikube_py import status_commands
from minikube_py.cli import main
from minikube_py.control import control_socket
from minikube_py.datalock import DataDirLock


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.output


@pytest.fixture
def held(tmp_path: Path) -> Iterator[Path]:
    """A data dir whose lock is held (as by a running serve)."""
    lock = DataDirLock(tmp_path)
    lock.acquire()
    try:
        yield tmp_path
    finally:
        lock.release()


def test_status_of_a_missing_data_dir_is_not_running(tmp_path: Path) -> None:
    code, out = run("status", "--data-dir", str(tmp_path / "none"))
    assert code == 1
    assert out == (f"minikube-py: not running: no cluster in {tmp_path / 'none'}; start it "
                   f"with `minikube-py serve --data-dir {tmp_path / 'none'}`\n")


def test_status_with_a_stale_control_socket_and_no_serve_is_not_running(
        tmp_path: Path) -> None:
    control_socket(tmp_path).touch()  # what a killed serve leaves
    code, out = run("status", "--data-dir", str(tmp_path))
    assert code == 1 and "not running" in out


def test_status_of_a_held_data_dir_without_its_control_socket_is_unhealthy(
        held: Path) -> None:
    code, out = run("status", "--data-dir", str(held))
    assert code == 2
    assert out == (f"minikube-py: serve (pid {os.getpid()}) holds {held} but does not "
                   f"answer: no control socket at {control_socket(held)}\n")


def test_status_of_a_serve_that_does_not_answer_in_time_is_unhealthy(
        held: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_commands, "TIMEOUT", 0.3)
    with socket.socket(socket.AF_UNIX) as silent:  # accepts, never answers
        silent.bind(str(control_socket(held)))
        silent.listen()
        code, out = run("status", "--data-dir", str(held))
    assert code == 2
    assert out.startswith(f"minikube-py: serve (pid {os.getpid()}) holds {held} but does "
                          "not answer: serve did not answer on")
    assert len(out.splitlines()) == 1


def test_json_status_of_a_stopped_cluster(tmp_path: Path) -> None:
    code, out = run("status", "--data-dir", str(tmp_path), "-o", "json")
    assert code == 1 and '"code": 1' in out


def test_stop_with_nothing_running_says_so_and_succeeds(tmp_path: Path) -> None:
    assert run("stop", "--data-dir", str(tmp_path)) == (
        0, f"not running: nothing serves {tmp_path}\n")
