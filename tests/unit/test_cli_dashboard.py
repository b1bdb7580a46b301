"""`minikube-py dashboard` without a running cluster: one readable line, exit code 1, never
a traceback; and when a browser can be opened."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from minikube_py.cli import main
from minikube_py.dashboard.command import DashboardFailed, _until, has_display
from minikube_py.tasks import ChildTaskFailed


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.output


def test_no_cluster_is_one_line_naming_how_to_start_one(tmp_path: Path) -> None:
    code, out = run("dashboard", "--url", "--data-dir", str(tmp_path / "none"))
    assert code == 1
    assert out.strip() == f"Error: no cluster in {tmp_path / 'none'} (no " \
        f"{tmp_path / 'none' / 'kubeconfig'}): start one with `minikube-py serve " \
        f"--data-dir {tmp_path / 'none'}`"


def test_a_stopped_cluster_is_not_running(tmp_path: Path) -> None:
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\n")
    code, out = run("dashboard", "--data-dir", str(tmp_path))
    assert code == 1
    assert "is not running: start it with `minikube-py serve" in out


def test_a_port_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    code, out = run("dashboard", "--port", "70000", "--data-dir", str(tmp_path))
    assert code == 2
    assert "--port" in out


def test_a_browser_opens_only_with_a_display() -> None:
    assert has_display({"DISPLAY": ":0"})
    assert has_display({"WAYLAND_DISPLAY": "wayland-0"})
    assert not has_display({})
    assert not has_display({"DISPLAY": ""})


async def test_a_part_that_fails_stops_the_dashboard_saying_why() -> None:
    class FailingServer:
        async def run(self) -> None:
            raise ChildTaskFailed("dashboard", "node metrics", ValueError("a bug"))

    with pytest.raises(DashboardFailed, match="task 'node metrics' stopped"):
        await _until(asyncio.Event(), FailingServer())  # type: ignore[arg-type]


async def test_a_stop_ends_the_serving() -> None:
    class Serving:
        cancelled = False

        async def run(self) -> None:
            try:
                await asyncio.Event().wait()
            finally:
                self.cancelled = True

    stopped, server = asyncio.Event(), Serving()
    stopped.set()
    await _until(stopped, server)  # type: ignore[arg-type]
    assert server.cancelled
