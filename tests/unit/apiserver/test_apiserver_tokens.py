"""TokenRequest (`kubectl create token`) and the bearer-token authenticators over HTTP:
a ServiceAccount's token authenticates as the account while the account (and the pod it is
bound to) exist; bootstrap tokens match their kube-system Secret."""

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from minikube_py.api.errors import ApiError
from minikube_py.api.resources import PODS, SECRETS, SERVICEACCOUNTS, TOKENREVIEWS
from minikube_py.api.timefmt import rfc3339
from minikube_py.apiserver.authn import UserInfo, node_user
from minikube_py.apiserver.authn_tokens import SUCCESS_TTL
from minikube_py.apiserver.authz import Decision, Verdict
from minikube_py.apiserver.http import build_app
from minikube_py.apiserver.requestinfo import RequestInfo
from minikube_py.apiserver.satokens import EXTENDED_EXPIRATION, LEEWAY, WARN_ONLY_EXPIRATION
from minikube_py.apiserver.service import ApiService
from minikube_py.store.memory import MemoryKV

from .conftest import FakeClock, pod_body


class WhoAsks:
    """Allows everything, remembering who asked."""

    def __init__(self) -> None:
        self.users: list[UserInfo] = []

    def authorize(self, user: UserInfo, info: RequestInfo) -> Verdict:
        self.users.append(user)
        return Verdict(Decision.ALLOW)


@pytest.fixture
async def cluster(clock: FakeClock) -> AsyncIterator[tuple[ApiService, WhoAsks, str]]:
    who = WhoAsks()
    kv = MemoryKV()
    svc = ApiService(kv, clock=clock, authorizers=[who])
    await svc.start()
    srv = TestServer(build_app(svc, authenticators=svc.token_authenticators()),
                     host="127.0.0.1")
    await srv.start_server()
    yield svc, who, f"http://127.0.0.1:{srv.port}"
    await srv.close()
    await svc.stop()
    await kv.close()


async def token_for(svc: ApiService, name: str, **spec: Any) -> dict[str, Any]:
    return await svc.create(SERVICEACCOUNTS, {"spec": spec}, namespace="default", name=name,
                            subresource="token")


async def get_pods(url: str, token: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(
            f"{url}/api/v1/namespaces/default/pods",
            headers={"Authorization": f"Bearer {token}"}) as resp:
        if resp.status == 401:
            body = await resp.json()
            assert (body["kind"], body["reason"], body["code"]) == ("Status", "Unauthorized",
                                                                   401)
        return resp.status


async def test_a_token_request_answers_kubes_token_request(cluster: Any,
                                                           clock: FakeClock) -> None:
    svc, _, _ = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    out = await token_for(svc, "ci", expirationSeconds=1200)
    assert (out["kind"], out["apiVersion"]) == ("TokenRequest", "authentication.k8s.io/v1")
    assert out["spec"]["expirationSeconds"] == 1200
    assert out["status"]["expirationTimestamp"] == rfc3339(clock.now + 1200)
    assert out["status"]["token"].count(".") == 2


async def test_a_service_account_token_authenticates_as_the_account(cluster: Any) -> None:
    svc, who, url = cluster
    sa = await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    token = (await token_for(svc, "ci"))["status"]["token"]
    assert await get_pods(url, token) == 200
    user = who.users[-1]
    assert user.name == "system:serviceaccount:default:ci"
    assert user.groups == ("system:serviceaccounts", "system:serviceaccounts:default",
                           "system:authenticated")
    assert user.uid == sa["metadata"]["uid"]
    assert user.extra["authentication.kubernetes.io/credential-id"][0].startswith("JTI=")


async def test_a_token_of_a_deleted_or_recreated_account_is_401(cluster: Any) -> None:
    svc, _, url = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    token = (await token_for(svc, "ci"))["status"]["token"]
    await svc.delete(SERVICEACCOUNTS, "ci", namespace="default")
    assert await get_pods(url, token) == 401
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    assert await get_pods(url, token) == 401  # a new account of the same name: another uid


async def test_a_pod_bound_token_ends_with_its_pod(cluster: Any, clock: FakeClock) -> None:
    svc, who, url = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    pod = await svc.create(PODS, pod_body("p", serviceAccountName="ci"), namespace="default")
    ref = {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": pod["metadata"]["uid"]}
    token = (await token_for(svc, "ci", boundObjectRef=ref))["status"]["token"]
    assert await get_pods(url, token) == 200
    assert who.users[-1].extra["authentication.kubernetes.io/pod-name"] == ["p"]
    await svc.delete(PODS, "p", namespace="default")
    # As kube-apiserver's token cache: a token that authenticated holds for SUCCESS_TTL.
    assert await get_pods(url, token) == 200
    clock.now += SUCCESS_TTL
    assert await get_pods(url, token) == 401


async def test_a_cached_token_never_outlives_its_expiry(cluster: Any, clock: FakeClock) -> None:
    svc, _, url = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    token = (await token_for(svc, "ci", expirationSeconds=600))["status"]["token"]
    clock.now += 600 + LEEWAY - 1  # still within the clock leeway
    assert await get_pods(url, token) == 200
    clock.now += 2  # the cache entry lasts SUCCESS_TTL, but the token is over
    assert await get_pods(url, token) == 401


async def test_an_expired_token_is_401(cluster: Any, clock: FakeClock) -> None:
    svc, _, url = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    token = (await token_for(svc, "ci", expirationSeconds=600))["status"]["token"]
    clock.now += 600 + 61
    assert await get_pods(url, token) == 401


@pytest.mark.parametrize(("spec", "code", "field_or_text"), [
    ({"expirationSeconds": 599}, 422, "spec.expirationSeconds"),
    ({"expirationSeconds": "long"}, 400, "cannot be handled"),
    ({"boundObjectRef": {"kind": "ConfigMap", "name": "x"}}, 400, "only Pod, Secret"),
    ({"boundObjectRef": {"kind": "Pod", "name": "missing"}}, 404, "not found"),
    ({"boundObjectRef": {"kind": "Pod", "name": "other"}}, 400,
     "pod running with different serviceaccount name"),
])
async def test_a_token_request_kube_refuses_is_refused(
        cluster: Any, spec: dict[str, Any], code: int, field_or_text: str) -> None:
    svc, _, _ = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    await svc.create(PODS, pod_body("other"), namespace="default")  # runs as "default"
    with pytest.raises(ApiError) as e:
        await token_for(svc, "ci", **spec)
    assert e.value.code == code
    assert field_or_text in json.dumps(e.value.to_status())


async def test_a_token_for_a_missing_account_is_404(cluster: Any) -> None:
    svc, _, _ = cluster
    with pytest.raises(ApiError) as e:
        await token_for(svc, "nobody")
    assert e.value.code == 404


def bootstrap_secret(token_id: str, secret: str, **data: str) -> dict[str, Any]:
    fields = {"token-id": token_id, "token-secret": secret,
              "usage-bootstrap-authentication": "true", **data}
    return {"metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
            "type": "bootstrap.kubernetes.io/token",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()}}


@pytest.mark.parametrize(("token", "data", "status"), [
    ("abcdef.0123456789abcdef", {}, 200),
    ("abcdef.0123456789abcdee", {}, 401),  # the wrong secret
    ("abcdef.0123456789abcdef", {"expiration": "2023-01-01T00:00:00Z"}, 401),
    # 22:00Z, before the clock's 22:13:20Z: read with its offset, not as 00:00Z
    ("abcdef.0123456789abcdef", {"expiration": "2023-11-15T00:00:00+02:00"}, 401),
    ("abcdef.0123456789abcdef", {"expiration": "2023-11-15T00:30:00+02:00"}, 200),
    ("abcdef.0123456789abcdef", {"usage-bootstrap-authentication": "false"}, 401),
    ("zzzzzz.0123456789abcdef", {}, 401),  # no such Secret
    ("abcdef.0123456789abcdef", {"auth-extra-groups": "system:masters"}, 401),
])
async def test_a_bootstrap_token_matches_its_secret(cluster: Any, token: str,
                                                    data: dict[str, str], status: int) -> None:
    svc, who, url = cluster
    await svc.create(SECRETS, bootstrap_secret("abcdef", "0123456789abcdef", **data),
                     namespace="kube-system")
    assert await get_pods(url, token) == status
    if status == 200:
        assert who.users[-1] == UserInfo("system:bootstrap:abcdef",
                                         ("system:bootstrappers", "system:authenticated"))


async def test_no_bearer_token_is_no_concern_of_these_authenticators(cluster: Any) -> None:
    _, _, url = cluster
    async with aiohttp.ClientSession() as http, \
            http.get(f"{url}/api/v1/namespaces/default/pods") as resp:
        assert resp.status == 401  # nobody else in this chain: unauthenticated


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def test_the_kubelets_pod_bound_token_is_extended_but_reports_the_expiry_asked_for(
        cluster: Any, clock: FakeClock) -> None:
    svc, _, _ = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    pod = await svc.create(PODS, pod_body("p", serviceAccountName="ci"), namespace="default")
    ref = {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": pod["metadata"]["uid"]}
    out = await token_for(svc, "ci", expirationSeconds=WARN_ONLY_EXPIRATION,
                          boundObjectRef=ref)
    assert out["status"]["expirationTimestamp"] == rfc3339(clock.now + WARN_ONLY_EXPIRATION)
    claims = claims_of(out["status"]["token"])
    assert claims["exp"] == int(clock.now) + EXTENDED_EXPIRATION
    assert claims["kubernetes.io"]["warnafter"] == int(clock.now) + WARN_ONLY_EXPIRATION


@pytest.mark.parametrize("spec", [
    {},  # not bound to a pod
    {"audiences": ["vault"], "bind": True},  # not for the API
])
async def test_other_tokens_of_that_length_are_not_extended(cluster: Any, clock: FakeClock,
                                                            spec: dict[str, Any]) -> None:
    svc, _, _ = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    if spec.pop("bind", False):
        pod = await svc.create(PODS, pod_body("p", serviceAccountName="ci"),
                               namespace="default")
        spec["boundObjectRef"] = {"kind": "Pod", "apiVersion": "v1", "name": "p",
                                  "uid": pod["metadata"]["uid"]}
    out = await token_for(svc, "ci", expirationSeconds=WARN_ONLY_EXPIRATION, **spec)
    claims = claims_of(out["status"]["token"])
    assert claims["exp"] == int(clock.now) + WARN_ONLY_EXPIRATION
    assert "warnafter" not in claims["kubernetes.io"]


# --- TokenReview: what a kubelet asks of a caller's token -----------------------------------

async def token_review(svc: ApiService, **spec: Any) -> dict[str, Any]:
    return await svc.create(TOKENREVIEWS, {"spec": spec})


async def test_a_token_review_names_the_tokens_user(cluster: Any) -> None:
    svc, _, _ = cluster
    sa = await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    token = (await token_for(svc, "ci"))["status"]["token"]
    review = await token_review(svc, token=token)
    assert (review["kind"], review["apiVersion"]) == ("TokenReview", "authentication.k8s.io/v1")
    status = review["status"]
    assert status["authenticated"] is True
    assert status["audiences"] == list(svc.token_audiences)
    assert status["user"]["username"] == "system:serviceaccount:default:ci"
    assert status["user"]["uid"] == sa["metadata"]["uid"]
    assert status["user"]["groups"] == ["system:serviceaccounts",
                                        "system:serviceaccounts:default",
                                        "system:authenticated"]


@pytest.mark.parametrize(("token", "error"), [
    ("not-a-token-at-all", None),  # nobody's: unauthenticated, no error
    ("abcdef.0123456789abcdef", "invalid bearer token"),  # a bootstrap token with no Secret
])
async def test_a_token_nobody_vouches_for_is_not_authenticated(cluster: Any, token: str,
                                                                error: str | None) -> None:
    svc, _, _ = cluster
    status = (await token_review(svc, token=token))["status"]
    assert "authenticated" not in status and status["user"] == {}
    assert status.get("error") == error


async def test_a_token_review_for_other_audiences_is_refused_its_user(cluster: Any) -> None:
    svc, _, _ = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    token = (await token_for(svc, "ci"))["status"]["token"]
    status = (await token_review(svc, token=token, audiences=["vault"]))["status"]
    assert "authenticated" not in status
    assert status["error"] == (f'token audiences ["{svc.token_audiences[0]}"] is invalid for '
                               f'the target audiences ["vault"]')


async def test_a_token_review_without_a_token_is_a_bad_request(cluster: Any) -> None:
    svc, _, _ = cluster
    with pytest.raises(ApiError) as e:
        await token_review(svc)
    assert (e.value.code, e.value.message) == (
        400, "token is required for TokenReview in authentication")


# --- NodeRestriction: a node mints tokens only for the pods bound to it ----------------------

async def node_token(svc: ApiService, node: str, **spec: Any) -> dict[str, Any]:
    return await svc.as_user(node_user(node)).create(
        SERVICEACCOUNTS, {"spec": spec}, namespace="default", name="ci", subresource="token")


@pytest.mark.parametrize(("ref", "why"), [
    (None, "node requested token not bound to a pod"),
    ({"kind": "Secret", "apiVersion": "v1", "name": "s", "uid": "u"},
     "node requested token not bound to a pod"),
    ({"kind": "Pod", "apiVersion": "v1", "name": "p"},
     "node requested token with a pod binding without a uid"),
    ({"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": "other"},
     "the UID in the bound object reference (other) does not match the UID in record. The "
     "object might have been deleted and then recreated"),
])
async def test_a_nodes_token_must_be_bound_to_a_pod_by_uid(cluster: Any, ref: Any,
                                                           why: str) -> None:
    svc, _, _ = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    await svc.create(PODS, pod_body("p", serviceAccountName="ci", nodeName="n1"),
                     namespace="default")
    with pytest.raises(ApiError) as e:
        await node_token(svc, "n1", **({"boundObjectRef": ref} if ref else {}))
    assert (e.value.code, e.value.message) == (
        403, f'serviceaccounts "ci" is forbidden: {why}')


async def test_a_node_gets_tokens_for_its_own_pods_only(cluster: Any) -> None:
    svc, _, _ = cluster
    await svc.create(SERVICEACCOUNTS, {"metadata": {"name": "ci"}}, namespace="default")
    pod = await svc.create(PODS, pod_body("p", serviceAccountName="ci", nodeName="n1"),
                           namespace="default")
    ref = {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": pod["metadata"]["uid"]}
    out = await node_token(svc, "n1", boundObjectRef=ref)
    assert out["status"]["token"].count(".") == 2
    with pytest.raises(ApiError) as e:
        await node_token(svc, "n2", boundObjectRef=ref)
    assert (e.value.code, e.value.message) == (
        403, 'serviceaccounts "ci" is forbidden: node requested token bound to a pod '
             'scheduled on a different node')
