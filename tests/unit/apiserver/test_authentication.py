"""Authentication as serve runs it: client certificates (CN the user, O the groups), bearer
tokens, anonymous for version, health and discovery only; everything else without
credentials, or with wrong ones, is 401 with a Status. The decisions are tabled first as
pure functions, then over real HTTPS on loopback with the cluster's own certificates."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from minikube_py.api.credentials import bearer_token
from minikube_py.api.errors import ApiError
from minikube_py.apiserver.authn import (
    ANONYMOUS,
    UserInfo,
    anonymous_may_ask,
    standard_authenticators,
    x509_user,
)
from minikube_py.apiserver.authz import Decision, Verdict
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.requestinfo import RequestInfo, request_info
from minikube_py.apiserver.service import ApiService
from minikube_py.pki.cluster import KeyPair
from minikube_py.pki.tls import CertIdentity
from minikube_py.store.memory import MemoryKV
from tests.certs import TrialPki, make_test_pki

ROBOT = UserInfo("robot", ("bots", "system:authenticated"))


@pytest.mark.parametrize(("method", "path", "public"), [
    ("GET", "/version", True),
    ("GET", "/version/", True),
    ("GET", "/healthz", True),
    ("GET", "/livez", True),
    ("GET", "/readyz", True),
    ("GET", "/api", True),
    ("GET", "/api/v1", True),
    ("GET", "/apis", True),
    ("GET", "/apis/apps", True),
    ("GET", "/apis/apps/v1", True),
    ("GET", "/openapi/v3", True),
    ("GET", "/openapi/v3/api/v1", True),
    ("GET", "/api/v1/pods", False),
    ("GET", "/api/v1/namespaces/default/pods/x", False),
    ("GET", "/apis/apps/v1/deployments", False),
    ("GET", "/healthz/etcd", False),
    ("GET", "/metrics", False),
    ("POST", "/api", False),
    ("HEAD", "/version", False),
    ("GET", "/api/v1/nosuchthing", False),
])
def test_what_anyone_may_ask_without_credentials(api: ApiService, method: str, path: str,
                                                 public: bool) -> None:
    info = request_info(method, path, {}, api.kinds)
    assert anonymous_may_ask(info) is public


def test_a_request_naming_nothing_is_never_public() -> None:
    assert not anonymous_may_ask(None)
    assert anonymous_may_ask(RequestInfo("/version", "get"))


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer abc.def", "abc.def"),
    ("bearer abc", "abc"),
    ("Bearer   abc  ", "abc"),
    ("Bearer", None),
    ("Bearer ", None),
    ("Basic dXNlcjpwYXNz", None),
    ("", None),
    (None, None),
])
def test_a_bearer_token_is_read_from_the_authorization_header(header: str | None,
                                                              token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(("identity", "user"), [
    (CertIdentity("jane", ("dev", "qa")), UserInfo("jane", ("dev", "qa", "system:authenticated"))),
    (CertIdentity("kubernetes-admin", ("system:masters",)),
     UserInfo("kubernetes-admin", ("system:masters", "system:authenticated"))),
    (CertIdentity("system:node:n1", ("system:nodes",)),
     UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))),
    (CertIdentity("solo", ()), UserInfo("solo", ("system:authenticated",))),
    (CertIdentity("twice", ("system:authenticated",)),
     UserInfo("twice", ("system:authenticated",))),
])
def test_a_certificate_names_its_user_and_groups(identity: CertIdentity,
                                                 user: UserInfo) -> None:
    assert x509_user(identity) == user


def test_a_certificate_without_a_common_name_is_unauthorized() -> None:
    with pytest.raises(ApiError) as e:
        x509_user(CertIdentity("", ("dev",)))
    assert (e.value.code, e.value.reason) == (401, "Unauthorized")


# --- over HTTPS -----------------------------------------------------------------------------

class RobotToken:
    """A token authenticator standing in for the ServiceAccount one: knows one token."""

    def authenticate(self, request: web.Request) -> UserInfo | None:
        token = bearer_token(request.headers.get("Authorization"))
        return ROBOT if token == "robot-token" else None


class RecordingAuthorizer:
    """Allows everything, remembering who asked (what authentication decided)."""

    def __init__(self) -> None:
        self.users: list[UserInfo] = []

    def authorize(self, user: UserInfo, info: RequestInfo) -> Verdict:
        self.users.append(user)
        return Verdict(Decision.ALLOW)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    return make_test_pki(tmp_path_factory.mktemp("authn"))


@pytest.fixture
def authorizer() -> RecordingAuthorizer:
    return RecordingAuthorizer()


@pytest.fixture
async def https(pki: TrialPki, authorizer: RecordingAuthorizer) -> AsyncIterator[str]:
    kv = MemoryKV()
    service = ApiService(kv, authorizers=[authorizer])
    await service.start()
    app = build_app(service, authenticators=standard_authenticators([RobotToken()]))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=pki.api_server_context())
    yield f"https://127.0.0.1:{server.port}"
    await server.close()
    await service.stop()
    await kv.close()


async def call(pki: TrialPki, url: str, *, cert: KeyPair | None = None, token: str = "",
               method: str = "GET", body: object = None) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as s, s.request(
            method, url, ssl=pki.client(cert), headers=headers, json=body) as resp:
        text = await resp.text()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, {"text": text}


@pytest.mark.parametrize(("who", "path", "user"), [
    ("admin", "/api/v1/pods",
     UserInfo("kubernetes-admin", ("system:masters", "system:authenticated"))),
    ("jane", "/api/v1/namespaces/default/pods",
     UserInfo("jane", ("dev", "qa", "system:authenticated"))),
    ("nobody", "/version", ANONYMOUS),
    ("nobody", "/readyz", ANONYMOUS),
    ("nobody", "/apis/apps/v1", ANONYMOUS),
    ("robot", "/api/v1/pods", ROBOT),
    ("jane+bad token", "/api/v1/pods", UserInfo("jane", ("dev", "qa", "system:authenticated"))),
])
async def test_who_a_request_is(pki: TrialPki, https: str, authorizer: RecordingAuthorizer,
                                who: str, path: str, user: UserInfo) -> None:
    cert = {"admin": pki.layout.admin, "jane": pki.jane, "jane+bad token": pki.jane}.get(who)
    token = {"robot": "robot-token", "jane+bad token": "nonsense"}.get(who, "")
    status, _ = await call(pki, https + path, cert=cert, token=token)
    assert status == 200
    assert authorizer.users == [user]


@pytest.mark.parametrize(("who", "method", "path"), [
    ("nobody", "GET", "/api/v1/pods"),
    ("nobody", "GET", "/api/v1/namespaces/default/secrets"),
    ("nobody", "POST", "/api/v1/namespaces/default/configmaps"),
    ("nobody", "GET", "/api/v1/nosuchthing"),
    ("nobody", "GET", "/metrics"),
    ("nobody", "GET", "/healthz/etcd"),
    ("bad token", "GET", "/version"),
    ("bad token", "GET", "/api/v1/pods"),
    ("nameless cert", "GET", "/version"),
])
async def test_a_request_without_good_credentials_is_401_with_a_status(
        pki: TrialPki, https: str, authorizer: RecordingAuthorizer, who: str, method: str,
        path: str) -> None:
    cert = pki.nameless if who == "nameless cert" else None
    token = "nonsense" if who == "bad token" else ""
    body = {"metadata": {"name": "x"}} if method == "POST" else None
    status, doc = await call(pki, https + path, cert=cert, token=token, method=method,
                             body=body)
    assert status == 401
    assert doc == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert authorizer.users == []


async def test_an_authenticated_client_asking_for_nothing_gets_404(pki: TrialPki,
                                                                   https: str) -> None:
    status, doc = await call(pki, https + "/api/v1/nosuchthing", cert=pki.jane)
    assert (status, doc["reason"]) == (404, "NotFound")


@pytest.mark.parametrize("who", ["stranger", "server certificate"])
async def test_a_certificate_the_cluster_ca_did_not_issue_for_clients_is_refused(
        pki: TrialPki, https: str, authorizer: RecordingAuthorizer, who: str) -> None:
    cert = pki.stranger if who == "stranger" else pki.layout.api_server
    with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
        await call(pki, https + "/version", cert=cert)
    assert authorizer.users == []


async def test_a_client_that_does_not_trust_the_cluster_ca_cannot_connect(https: str) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await s.get(https + "/version", ssl=ssl.create_default_context())
