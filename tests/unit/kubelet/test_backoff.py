"""Restart policy decisions and the crash-loop back-off schedule."""

from __future__ import annotations

import pytest

from minikube_py.kubelet.backoff import RestartBackoff, crash_loop_message, should_restart


@pytest.mark.parametrize(("policy", "exit_code", "restart"), [
    ("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False),
    ("OnFailure", 2, True), ("Never", 0, False), ("Never", 1, False), ("", 0, True),
])
def test_should_restart(policy: str, exit_code: int, restart: bool) -> None:
    assert should_restart(policy, exit_code) is restart


def test_first_restart_is_immediate_then_doubles_to_the_cap() -> None:
    b = RestartBackoff()
    key = ("uid", "c")
    assert b.remaining(key, finished_at=0, now=0) == 0
    delays = []
    now = 0.0
    for _ in range(8):
        b.record_restart(key, now)
        delays.append(b.current_delay(key))
        now += b.current_delay(key)
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]


def test_crash_within_back_off_waits_the_rest() -> None:
    b = RestartBackoff()
    b.record_restart(("u", "c"), 100)
    assert b.remaining(("u", "c"), finished_at=101, now=105) == 6


def test_back_off_resets_after_a_long_quiet_run() -> None:
    b = RestartBackoff()
    b.record_restart(("u", "c"), 0)
    b.record_restart(("u", "c"), 10)
    b.record_restart(("u", "c"), 10 + 20 + 700)
    assert b.current_delay(("u", "c")) == 10


def test_crash_loop_message_matches_the_kubelet() -> None:
    assert crash_loop_message(10, "main", "web", "default", "u1") == (
        "back-off 10s restarting failed container=main pod=web_default(u1)")
