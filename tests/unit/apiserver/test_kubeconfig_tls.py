"""The kubeconfig serve writes works on its own: kubectl and the official Python client
reach the HTTPS API with it, no flags, as the cluster admin; it is private to its owner."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestServer

from minikube_py.apiserver.authn import standard_authenticators
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.service import ApiService
from minikube_py.kubeconfig import KubeconfigCredentials, write_kubeconfig
from tests.certs import TrialPki, make_test_pki
from tests.unit.apiserver.test_apiserver_http import kubectl, needs_kubectl


@pytest.fixture
def pki(tmp_path: Path) -> TrialPki:
    return make_test_pki(tmp_path)


@pytest.fixture
async def written(svc: ApiService, pki: TrialPki, tmp_path: Path) -> AsyncIterator[Path]:
    """A kubeconfig for an HTTPS API server with serve's authenticators."""
    server = TestServer(build_app(svc, authenticators=standard_authenticators()),
                        host="127.0.0.1")
    await server.start_server(ssl=pki.api_server_context())
    path = tmp_path / "kubeconfig"
    write_kubeconfig(path, f"https://127.0.0.1:{server.port}",
                     KubeconfigCredentials.read(pki.layout.ca.cert, pki.layout.admin))
    yield path
    await server.close()


def check_embedded(kubeconfig: Path, pki: TrialPki) -> None:
    doc = yaml.safe_load(kubeconfig.read_text())
    cluster = doc["clusters"][0]["cluster"]
    user = doc["users"][0]["user"]
    assert cluster["server"].startswith("https://127.0.0.1:")
    assert base64.b64decode(cluster["certificate-authority-data"]) == \
        pki.layout.ca.cert.read_bytes()
    assert base64.b64decode(user["client-certificate-data"]) == \
        pki.layout.admin.cert.read_bytes()
    assert base64.b64decode(user["client-key-data"]) == pki.layout.admin.key.read_bytes()
    assert kubeconfig.stat().st_mode & 0o777 == 0o600


async def test_the_kubeconfig_embeds_the_ca_and_the_admin_certificate(
        written: Path, pki: TrialPki) -> None:
    check_embedded(written, pki)


@needs_kubectl
async def test_kubectl_works_with_the_kubeconfig_alone(written: Path) -> None:
    rc, out, err = await kubectl(written, "create", "namespace", "tls-ok")
    assert rc == 0, err
    rc, out, err = await kubectl(written, "get", "namespace", "tls-ok", "-o", "name")
    assert (rc, out.strip()) == (0, "namespace/tls-ok"), err


async def test_the_official_client_works_with_the_kubeconfig_alone(written: Path) -> None:
    from kubernetes import client, config

    def names() -> list[str]:
        api = client.CoreV1Api(config.new_client_from_config(config_file=str(written)))
        try:
            return [ns.metadata.name for ns in api.list_namespace().items]
        finally:
            api.api_client.close()

    assert "kube-system" in await asyncio.to_thread(names)
