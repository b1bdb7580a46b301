"""Join tokens on a live `serve`: DATA/token, in k3s's K10 format, names the cluster's CA
and authenticates kubectl (a kubeconfig with only the server and the CA, the token's
credentials on the command line) as its bootstrap user; `minikube-py token create|list|
delete` round-trip; a restart keeps DATA/token."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from minikube_py.pki.jointoken import NODE_TOKEN_GROUP, JoinToken
from tests.e2e.cluster import KUBECTL, NEEDS_CONTAINERD, ServeProcess, running_serve

pytestmark = NEEDS_CONTAINERD

SLOT = 51


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with running_serve(tmp_path_factory.mktemp("tokens") / "data", SLOT) as serve:
        yield serve


def token_path(cluster: ServeProcess) -> Path:
    return cluster.data_dir / "token"


def whoami(cluster: ServeProcess, credentials: str) -> subprocess.CompletedProcess[str]:
    """`kubectl auth whoami` with a kubeconfig that holds only the server and the CA."""
    config = cluster.data_dir.parent / "tokens-only.kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {
            "server": cluster.api_url,
            "certificate-authority-data": base64.b64encode(
                cluster.pki.ca.cert.read_bytes()).decode()}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    env = {**os.environ, "KUBECONFIG": str(config), "HOME": str(cluster.data_dir.parent)}
    return subprocess.run([KUBECTL, "--token", credentials, "auth", "whoami", "-o", "json"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def user_of(cluster: ServeProcess, join: JoinToken) -> dict[str, object]:
    result = whoami(cluster, str(join.credentials))
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout)["status"]["userInfo"])


def token_command(cluster: ServeProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minikube_py", "token", *args, "--data-dir",
                           str(cluster.data_dir)], capture_output=True, text=True, timeout=60,
                          check=False)


def test_serve_writes_a_private_join_token_naming_its_ca(cluster: ServeProcess) -> None:
    path = token_path(cluster)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    join = JoinToken.parse(path.read_text())
    assert join.ca_hash == hashlib.sha256(cluster.pki.ca.cert.read_bytes()).hexdigest()


def test_serves_token_authenticates_as_its_bootstrap_user(cluster: ServeProcess) -> None:
    join = JoinToken.parse(token_path(cluster).read_text())
    assert user_of(cluster, join) == {
        "username": f"system:bootstrap:{join.credentials.id}",
        "groups": ["system:bootstrappers", NODE_TOKEN_GROUP, "system:authenticated"]}


def test_serves_closing_hint_names_the_token_file(cluster: ServeProcess) -> None:
    """This cluster's node is on its bridge only: the hint says what to start serve with
    (the join command itself is printed with --node-ip: tests/e2e/test_multinode.py)."""
    assert ("To join other machines, start serve with --node-ip IP (this machine's address "
            f"on their network); the token is in {token_path(cluster)}.") in cluster.log


def test_token_create_list_delete_round_trip(cluster: ServeProcess) -> None:
    made = token_command(cluster, "create", "--ttl", "1h", "--description", "e2e")
    assert made.returncode == 0, made.stderr
    join = JoinToken.parse(made.stdout)
    assert join.trusts(cluster.pki.ca.cert.read_bytes())
    assert user_of(cluster, join)["username"] == f"system:bootstrap:{join.credentials.id}"

    listed = token_command(cluster, "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert rows[str(join.credentials)][1] in ("59m", "1h")
    assert rows[str(join.credentials)][3:5] == ["authentication,signing", "e2e"]
    serves = JoinToken.parse(token_path(cluster).read_text())
    assert rows[str(serves.credentials)][1:3] == ["<forever>", "<never>"]

    deleted = token_command(cluster, "delete", join.credentials.id)
    assert deleted.stdout == f'bootstrap token "{join.credentials.id}" deleted\n'
    refused = whoami(cluster, str(join.credentials))
    assert refused.returncode != 0 and "Unauthorized" in refused.stderr
    assert str(join.credentials) not in token_command(cluster, "list").stdout


def test_a_restart_keeps_the_join_token(cluster: ServeProcess) -> None:
    before = token_path(cluster).read_text()
    cluster.stop()
    cluster.start(flags=False)
    assert token_path(cluster).read_text() == before
    assert user_of(cluster, JoinToken.parse(before))["username"] == \
        f"system:bootstrap:{JoinToken.parse(before).credentials.id}"
