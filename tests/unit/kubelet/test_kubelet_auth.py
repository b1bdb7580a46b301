"""Who may call the kubelet: HTTPS with its serving certificate; no client certificate is
401, a certificate of the cluster CA but not the API server's is 403 in the kubelet's
words, the API server's kubelet client may do everything, and a certificate from another
CA never gets past the handshake. Over real TLS on loopback (no runtime needed)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from minikube_py.api.resources import CLUSTERROLEBINDINGS, SERVICEACCOUNTS, TOKENREVIEWS
from minikube_py.apiserver.authn import node_user
from minikube_py.apiserver.service import ApiService
from minikube_py.client.interface import ApiClient
from minikube_py.kubelet.auth import (
    TOKEN_TTL,
    AllowUsers,
    KubeletRequest,
    SubjectAccessReviews,
    TokenReviews,
    access_review,
    kubelet_request,
)
from minikube_py.kubelet.cri import CriClient
from minikube_py.kubelet.server import KubeletServer
from minikube_py.pki.cluster import KeyPair
from minikube_py.pki.tls import CertIdentity
from tests.certs import NODE, TrialPki, make_test_pki

JANE = CertIdentity("jane", ("dev",))
RBAC = "rbac.authorization.k8s.io"


@pytest.mark.parametrize(("method", "path", "verb", "subresource"), [
    ("GET", "/containerLogs/default/web/main", "get", "proxy"),
    ("POST", "/exec/default/web/main", "create", "proxy"),
    ("GET", "/exec/default/web/main", "get", "proxy"),
    ("POST", "/portforward/default/web", "create", "proxy"),
    ("GET", "/healthz", "get", "proxy"),
    ("GET", "/logs/syslog", "get", "log"),
    ("GET", "/logs", "get", "log"),
    ("GET", "/logsx", "get", "proxy"),
    ("GET", "/stats/summary", "get", "stats"),
    ("GET", "/metrics/cadvisor", "get", "metrics"),
    ("POST", "/checkpoint/default/web/main", "create", "checkpoint"),
    ("DELETE", "/pods", "delete", "proxy"),
])
def test_a_request_is_judged_as_a_verb_on_a_node_subresource(method: str, path: str,
                                                             verb: str,
                                                             subresource: str) -> None:
    assert kubelet_request(JANE, "n1", method, path) == \
        KubeletRequest(JANE, verb, "n1", subresource, path)


@pytest.mark.parametrize(("user", "allowed"), [
    ("kube-apiserver-kubelet-client", True),
    ("kubernetes-admin", False),
    ("system:node:n1", False),
    ("jane", False),
])
async def test_only_the_api_server_may_call_the_kubelet_today(user: str,
                                                              allowed: bool) -> None:
    request = kubelet_request(CertIdentity(user, ("system:masters",)), "n1", "GET", "/healthz")
    assert await AllowUsers().authorize(request) is allowed


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TrialPki:
    return make_test_pki(tmp_path_factory.mktemp("kubelet-auth"))


@pytest.fixture
async def kubelet_url(pki: TrialPki, tmp_path: Path) -> AsyncIterator[str]:
    cri = CriClient(tmp_path / "no-runtime.sock")
    server = KubeletServer(cri, node_name=NODE, host="127.0.0.1", port=0,
                           serving=pki.layout.kubelet(NODE), client_ca=pki.layout.ca.cert)
    port = await server.start()
    yield f"https://127.0.0.1:{port}"
    await server.stop()
    await cri.close()


async def get(pki: TrialPki, url: str, cert: KeyPair | None,
              method: str = "GET") -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.request(method, url, ssl=pki.client(cert)) \
            as resp:
        return resp.status, await resp.text()


async def test_the_api_servers_client_certificate_is_let_in(pki: TrialPki,
                                                            kubelet_url: str) -> None:
    assert await get(pki, kubelet_url + "/healthz", pki.layout.kubelet_client) == (200, "ok")


async def test_a_request_without_a_client_certificate_is_401(pki: TrialPki,
                                                             kubelet_url: str) -> None:
    status, text = await get(pki, kubelet_url + "/exec/default/web/main", None)
    assert (status, text) == (401, "Unauthorized\n")


@pytest.mark.parametrize(("who", "method", "path", "text"), [
    ("admin", "GET", "/containerLogs/default/web/main",
     "Forbidden (user=kubernetes-admin, verb=get, resource=nodes, subresource=proxy)\n"),
    ("jane", "POST", "/exec/default/web/main",
     "Forbidden (user=jane, verb=create, resource=nodes, subresource=proxy)\n"),
    ("jane", "GET", "/healthz",
     "Forbidden (user=jane, verb=get, resource=nodes, subresource=proxy)\n"),
])
async def test_another_client_of_the_cluster_ca_is_403(pki: TrialPki, kubelet_url: str,
                                                       who: str, method: str, path: str,
                                                       text: str) -> None:
    cert = pki.layout.admin if who == "admin" else pki.jane
    assert await get(pki, kubelet_url + path, cert, method) == (403, text)


async def test_a_certificate_from_another_ca_is_refused_at_the_handshake(
        pki: TrialPki, kubelet_url: str) -> None:
    with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
        await get(pki, kubelet_url + "/healthz", pki.stranger)


async def test_the_kubelet_serves_a_certificate_for_its_node(pki: TrialPki,
                                                             kubelet_url: str) -> None:
    port = int(kubelet_url.rsplit(":", 1)[1])
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=pki.client(None))
    peer = writer.get_extra_info("peercert")
    writer.close()
    subject = dict(rdn[0] for rdn in peer["subject"])
    assert subject["commonName"] == f"system:node:{NODE}"
    assert ("IP Address", "127.0.0.1") in peer["subjectAltName"]


# --- delegated authorization: the kubelet asks the API server --------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def ask(user: str, *groups: str, path: str = "/containerLogs/default/web/main") -> KubeletRequest:
    return kubelet_request(CertIdentity(user, groups), "n1", "GET", path)


async def grant_node_proxy(api: ApiService, user: str) -> None:
    await api.create(CLUSTERROLEBINDINGS, {
        "metadata": {"name": f"{user}-kubelet-api"},
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "system:kubelet-api-admin"},
        "subjects": [{"apiGroup": RBAC, "kind": "User", "name": user}]})


async def test_the_api_servers_client_is_let_in_without_asking(api: ApiService) -> None:
    reviews = SubjectAccessReviews(api.as_user(node_user("n1")))
    assert await reviews.authorize(ask("kube-apiserver-kubelet-client")) is True


@pytest.mark.parametrize(("user", "groups", "allowed"), [
    ("kubernetes-admin", ("system:masters",), True),
    ("jane", ("dev",), False),
    ("system:node:n2", ("system:nodes",), False),
])
async def test_anyone_else_is_let_in_as_the_api_servers_authorizers_say(
        api: ApiService, user: str, groups: tuple[str, ...], allowed: bool) -> None:
    reviews = SubjectAccessReviews(api.as_user(node_user("n1")))
    assert await reviews.authorize(ask(user, *groups)) is allowed


async def test_a_user_rbac_allows_nodes_proxy_may_read_logs(api: ApiService) -> None:
    await grant_node_proxy(api, "jane")
    reviews = SubjectAccessReviews(api.as_user(node_user("n1")))
    assert await reviews.authorize(ask("jane", "dev")) is True


async def test_a_denial_is_remembered_for_30_seconds(api: ApiService) -> None:
    clock = Clock()
    reviews = SubjectAccessReviews(api.as_user(node_user("n1")), clock=clock)
    assert await reviews.authorize(ask("jane", "dev")) is False
    await grant_node_proxy(api, "jane")
    clock.now += 29
    assert await reviews.authorize(ask("jane", "dev")) is False
    clock.now += 2
    assert await reviews.authorize(ask("jane", "dev")) is True


def test_the_review_asks_about_the_nodes_subresource() -> None:
    assert access_review(ask("jane", "dev", path="/logs/syslog"))["spec"] == {
        "user": "jane", "groups": ["dev", "system:authenticated"],
        "resourceAttributes": {"verb": "get", "resource": "nodes", "subresource": "log",
                               "name": "n1"}}


# --- delegated authentication: a bearer token is who the API server says ---------------------

async def sa_token(api: ApiService, name: str = "ops") -> str:
    await api.create(SERVICEACCOUNTS, {"metadata": {"name": name}}, namespace="default")
    out = await api.create(SERVICEACCOUNTS, {"spec": {}}, namespace="default", name=name,
                           subresource="token")
    return str(out["status"]["token"])


async def test_a_token_is_who_the_api_servers_token_review_says(api: ApiService) -> None:
    tokens = TokenReviews(api.as_user(node_user("n1")))
    identity = await tokens.authenticate_token(await sa_token(api))
    assert identity == CertIdentity("system:serviceaccount:default:ops",
                                    ("system:serviceaccounts", "system:serviceaccounts:default",
                                     "system:authenticated"))
    assert await tokens.authenticate_token("nobody.knows.this") is None


class CountingReviews:
    """The node's client, counting the TokenReviews it sends."""

    def __init__(self, api: ApiService) -> None:
        self.client = api.as_user(node_user("n1"))
        self.sent = 0

    async def create(self, resource: Any, body: Any, **kwargs: Any) -> Any:
        self.sent += resource is TOKENREVIEWS
        return await self.client.create(resource, body, **kwargs)


async def test_a_vouched_for_token_is_remembered_for_two_minutes(api: ApiService) -> None:
    clock = Clock()
    counting = CountingReviews(api)
    tokens = TokenReviews(cast(ApiClient, counting), clock=clock)
    token = await sa_token(api)
    for _ in range(3):
        assert await tokens.authenticate_token(token) is not None
    assert counting.sent == 1
    clock.now += TOKEN_TTL + 1
    assert await tokens.authenticate_token(token) is not None
    assert counting.sent == 2


async def test_a_refused_token_is_asked_about_again(api: ApiService) -> None:
    counting = CountingReviews(api)
    tokens = TokenReviews(cast(ApiClient, counting))
    for _ in range(2):
        assert await tokens.authenticate_token("nobody.knows.this") is None
    assert counting.sent == 2


@pytest.fixture
async def delegating_kubelet(pki: TrialPki, api: ApiService,
                             tmp_path: Path) -> AsyncIterator[str]:
    """A kubelet that asks `api` about tokens and callers, as serve's does."""
    node_client = api.as_user(node_user(NODE))
    cri = CriClient(tmp_path / "no-runtime.sock")
    server = KubeletServer(cri, node_name=NODE, host="127.0.0.1", port=0,
                           serving=pki.layout.kubelet(NODE), client_ca=pki.layout.ca.cert,
                           authorizer=SubjectAccessReviews(node_client),
                           tokens=TokenReviews(node_client))
    port = await server.start()
    yield f"https://127.0.0.1:{port}"
    await server.stop()
    await cri.close()


async def get_with_token(pki: TrialPki, url: str, token: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(
            url, ssl=pki.client(None), headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.text()


async def test_over_https_a_token_is_401_403_or_let_in_as_rbac_says(
        pki: TrialPki, api: ApiService, delegating_kubelet: str) -> None:
    url = delegating_kubelet + "/healthz"
    assert await get_with_token(pki, url, "garbage") == (401, "Unauthorized\n")
    user = "system:serviceaccount:default:ops"
    assert await get_with_token(pki, url, await sa_token(api)) == (
        403, f"Forbidden (user={user}, verb=get, resource=nodes, subresource=proxy)\n")
    await grant_node_proxy(api, "system:serviceaccount:default:admin")
    assert await get_with_token(pki, url, await sa_token(api, "admin")) == (200, "ok")
