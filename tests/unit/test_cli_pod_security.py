"""`serve --pod-security-default LEVEL` sets the Pod Security policy of namespaces without
labels (privileged, as kube's, when not given); `--pod-security-exempt-namespace` exempts
namespaces. Bad values are refused before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from minikube_py import composition
from minikube_py.apiserver.podsecurity.policy import Level, PodSecurityConfig, Policy
from minikube_py.cli import main
from minikube_py.config import ServeConfig


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[ServeConfig]:
    """The configs `serve` would start a cluster with (none is started)."""
    configs: list[ServeConfig] = []

    async def serve_cluster(config: ServeConfig) -> int:
        configs.append(config)
        return 0

    monkeypatch.setattr(composition, "serve", serve_cluster)
    return configs


def serve(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_without_the_flag_namespaces_default_to_privileged(
        tmp_path: Path, started: list[ServeConfig]) -> None:
    assert serve(tmp_path) == (0, "")
    assert started[0].pod_security == PodSecurityConfig()
    assert started[0].pod_security.defaults.fully_privileged


def test_the_flag_sets_every_mode_of_the_default_policy(
        tmp_path: Path, started: list[ServeConfig]) -> None:
    code, output = serve(tmp_path, "--pod-security-default", "baseline",
                         "--pod-security-exempt-namespace", "kube-system",
                         "--pod-security-exempt-namespace", "ops")
    assert (code, output) == (0, "")
    assert started[0].pod_security == PodSecurityConfig(
        Policy.at(Level.BASELINE), exempt_namespaces=frozenset({"kube-system", "ops"}))


@pytest.mark.parametrize(("args", "flag"), [
    (("--pod-security-default", "strict"), "--pod-security-default"),
    (("--pod-security-exempt-namespace", "Not_A_Namespace"), "--pod-security-exempt-namespace"),
])
def test_a_bad_value_is_refused_naming_the_flag(tmp_path: Path, started: list[ServeConfig],
                                                 args: tuple[str, ...], flag: str) -> None:
    code, output = serve(tmp_path / "data", *args)
    assert code == 2
    assert output.count("\n") >= 1 and flag in output and "Traceback" not in output
    assert started == [] and not (tmp_path / "data").exists()
