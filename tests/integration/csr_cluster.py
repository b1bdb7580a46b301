"""An in-process control plane behind HTTPS with the CSR approver and signer running and
a bootstrap token in place: what a node meets when it joins (TLS bootstrapping, renewal)."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from cryptography import x509

from minikube_py.api.resources import SECRETS
from minikube_py.apiserver.authn import standard_authenticators
from minikube_py.apiserver.http import build_app
from minikube_py.controllers.csrapproving import CsrApprovingController
from minikube_py.controllers.csrsigning import CsrSigningController
from minikube_py.pki.cluster import load_signing_ca
from tests.certs import TrialPki, make_test_pki
from tests.integration.harness import ControlPlane, control_plane

Obj = dict[str, Any]
TOKEN = "abcdef.0123456789abcdef"


@dataclass
class Cluster:
    plane: ControlPlane
    pki: TrialPki
    url: str
    tmp: Path

    async def call(self, method: str, path: str, *, body: object = None, token: str = "",
                   tls: ssl.SSLContext | None = None) -> tuple[int, Obj]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with aiohttp.ClientSession() as s, s.request(
                method, self.url + path, json=body, headers=headers,
                ssl=tls or self.pki.client(None)) as resp:
            return resp.status, json.loads(await resp.text())


@asynccontextmanager
async def csr_cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    pki = make_test_pki(tmp_path)
    async with control_plane(nodes=0, scheduler=False) as plane:
        plane.start("csrapproving", CsrApprovingController(plane.ctx.for_controller()).run)
        plane.start("csrsigning", CsrSigningController(
            plane.ctx.for_controller(), ca=load_signing_ca(pki.layout),
            serial=x509.random_serial_number).run)
        token_id, secret = TOKEN.split(".")
        await plane.api.create(SECRETS, {
            "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in {
                "token-id": token_id, "token-secret": secret,
                "usage-bootstrap-authentication": "true"}.items()}}, namespace="kube-system")
        api = plane.api
        app = build_app(api, authenticators=standard_authenticators(api.token_authenticators()))
        server = TestServer(app, host="127.0.0.1")
        await server.start_server(ssl=pki.api_server_context())
        try:
            yield Cluster(plane, pki, f"https://127.0.0.1:{server.port}", tmp_path)
        finally:
            await server.close()
