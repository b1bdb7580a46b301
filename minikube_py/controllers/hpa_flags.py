"""serve's --horizontal-pod-autoscaler-* flags, read as kube-controller-manager reads them:
Go durations and a float, each refused with pflag's message naming the flag."""

from __future__ import annotations

from minikube_py.api.goduration import DurationError, parse_go_duration
from minikube_py.controllers.hpa_plan import AutoscalerSettings

PREFIX = "--horizontal-pod-autoscaler-"
# flag suffix -> AutoscalerSettings field
DURATION_FLAGS = {"sync-period": "sync_period",
                  "downscale-stabilization": "downscale_stabilization",
                  "cpu-initialization-period": "cpu_initialization_period",
                  "initial-readiness-delay": "initial_readiness_delay"}


class AutoscalerFlagError(ValueError):
    pass


def _invalid(flag: str, value: str, why: str) -> AutoscalerFlagError:
    return AutoscalerFlagError(f'invalid argument "{value}" for "{PREFIX}{flag}" flag: {why}')


def autoscaler_settings(durations: dict[str, str], tolerance: str) -> AutoscalerSettings:
    """The settings from the flags' texts (keys of `durations`: DURATION_FLAGS' suffixes)."""
    values: dict[str, float] = {}
    for flag, text in durations.items():
        attr = DURATION_FLAGS[flag]
        try:
            seconds = parse_go_duration(text)
        except DurationError as e:
            raise _invalid(flag, text, str(e)) from None
        if seconds < 0 or (attr == "sync_period" and seconds == 0):
            raise _invalid(flag, text, "must be greater than 0" if attr == "sync_period"
                           else "must not be negative")
        values[attr] = seconds
    try:
        tol = float(tolerance)
    except ValueError:
        raise _invalid("tolerance", tolerance,
                       f'strconv.ParseFloat: parsing "{tolerance}": invalid syntax') from None
    if not tol >= 0:  # also NaN
        raise _invalid("tolerance", tolerance, "must not be negative")
    return AutoscalerSettings(tolerance=tol, **values)
