"""Go duration text, as kube's flags read it."""

from __future__ import annotations

import pytest

from minikube_py.api.goduration import DurationError, parse_go_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("15s", 15.0), ("5m0s", 300.0), ("1h30m", 5400.0), ("300ms", 0.3), ("0", 0.0),
    ("1.5h", 5400.0), (".5s", 0.5), ("-2s", -2.0), ("+3s", 3.0), ("10.009s", 10.009),
    ("1m1s1ms", 61.001), ("2000us", 0.002), ("5µs", 0.000005)])
def test_durations_parse_as_go_does(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "message"), [
    ("5", 'time: missing unit in duration "5"'),
    ("5x", 'time: unknown unit "x" in duration "5x"'),
    ("", 'time: invalid duration ""'),
    ("abc", 'time: invalid duration "abc"'),
    ("1h-2m", 'time: unknown unit "h-" in duration "1h-2m"'),  # as Go reads units
])
def test_bad_durations_are_refused_with_gos_message(text: str, message: str) -> None:
    with pytest.raises(DurationError) as e:
        parse_go_duration(text)
    assert str(e.value) == message
