"""serve's start-up progress: timestamped lines off a terminal (what tests and CI read), ✓
lines with each step's time and a spinner that rewrites itself on one."""

from __future__ import annotations

import io
from pathlib import Path

from minikube_py.startup import CLEAR_LINE, Progress, ready_summary


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_each_step_is_one_timestamped_line() -> None:
    out, clock = io.StringIO(), FakeClock()
    progress = Progress(out=out, clock=clock, started=clock.now)
    progress.spin(True)
    clock.now += 0.25
    progress.step("store ready at revision 1")
    progress.tick()
    clock.now += 1.5
    progress.step("cluster ready in 1.75 s")
    progress.spin(False)
    assert out.getvalue() == ("[    250 ms] store ready at revision 1\n"
                              "[   1750 ms] cluster ready in 1.75 s\n")


def test_on_a_terminal_steps_are_marked_with_their_time_under_a_spinner() -> None:
    out, clock = FakeTty(), FakeClock()
    progress = Progress(out=out, clock=clock, started=clock.now)
    assert progress.tty
    progress.spin(True)
    clock.now += 0.25
    progress.step("store ready at revision 1")
    clock.now += 0.5
    progress.tick()
    clock.now += 1.0
    progress.step("warning: no control socket")
    progress.spin(False)
    screen = out.getvalue()
    assert f"{CLEAR_LINE}✓ store ready at revision 1 (0.25s)\n" in screen
    assert f"{CLEAR_LINE}! warning: no control socket (1.50s)\n" in screen
    assert f"{CLEAR_LINE}⠙ starting... 0.8s" in screen  # the tick's frame
    assert screen.endswith(CLEAR_LINE)  # the spinner is gone at the end


def test_the_spinner_names_the_step_under_way_until_it_is_done() -> None:
    out, clock = FakeTty(), FakeClock()
    progress = Progress(out=out, clock=clock, started=clock.now)
    progress.spin(True)
    progress.doing("containerd")
    assert out.getvalue().endswith(f"{CLEAR_LINE}⠋ containerd... 0.0s")
    clock.now += 0.2
    progress.step("containerd ready")
    assert out.getvalue().endswith(f"✓ containerd ready (0.20s)\n{CLEAR_LINE}⠋ starting... 0.2s")


def test_naming_a_step_off_a_terminal_prints_nothing() -> None:
    out = io.StringIO()
    Progress(out=out).doing("containerd")
    assert out.getvalue() == ""


def test_an_error_is_marked_as_a_failure() -> None:
    out, clock = FakeTty(), FakeClock()
    progress = Progress(out=out, clock=clock, started=clock.now)
    progress.step("error: containerd failed")
    assert out.getvalue().startswith(f"{CLEAR_LINE}✗ error: containerd failed (0.00s)\n")


def test_text_clears_the_spinner_line_before_printing() -> None:
    out, clock = FakeTty(), FakeClock()
    progress = Progress(out=out, clock=clock, started=clock.now)
    progress.spin(True)
    out.truncate(0)
    out.seek(0)
    progress.text("summary")
    assert out.getvalue().startswith(f"{CLEAR_LINE}summary\n")


def test_the_summary_says_where_the_kubeconfig_was_merged_and_what_to_run_next() -> None:
    text = ready_summary(api_url="https://127.0.0.1:6443", kubeconfig=Path("/d/kubeconfig"),
                         merged=("/root/.kube/config", "minikube-py-d"), nodes=["n (Ready)"],
                         data_dir_flag=" --data-dir /d")
    assert "  API server:  https://127.0.0.1:6443\n" in text
    assert "merged into /root/.kube/config as context minikube-py-d (current)" in text
    assert "  nodes:       n (Ready)\n" in text
    for command in ("kubectl get pods -A", "minikube-py status --data-dir /d",
                    "minikube-py dashboard --data-dir /d", "minikube-py stop --data-dir /d"):
        assert f"    {command}\n" in text
    assert "export KUBECONFIG" not in text


def test_without_a_merge_the_summary_says_to_export_kubeconfig() -> None:
    text = ready_summary(api_url="https://127.0.0.1:6443", kubeconfig=Path("/d/kubeconfig"),
                         merged=None, nodes=[], data_dir_flag="")
    assert "    export KUBECONFIG=/d/kubeconfig\n    kubectl get pods -A\n" in text
    assert "    minikube-py stop\n" in text
