"""Projected ServiceAccount tokens: asked for with TokenRequest, bound to the pod, kept until
80% of their life (or a day) has passed."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from minikube_py.api.resources import PODS, SERVICEACCOUNTS
from minikube_py.apiserver.service import ApiService
from minikube_py.kubelet.pod_objects import ConfigError
from minikube_py.kubelet.tokens import IssuedToken, TokenManager, requires_refresh, token_key

HOUR = 3600.0


@pytest.mark.parametrize(("ttl", "expires_in", "age", "refresh"), [
    (HOUR, HOUR, 0.0, False),
    (HOUR, HOUR, 0.79 * HOUR, False),
    (HOUR, HOUR, 0.8 * HOUR, True),
    (HOUR, HOUR, 2 * HOUR, True),
    (48 * HOUR, 48 * HOUR, 23.9 * HOUR, False),
    (48 * HOUR, 48 * HOUR, 24 * HOUR, True),          # a day old, whatever its expiry
    (HOUR, 365 * 24 * HOUR, 0.8 * HOUR, True),        # extended by the API: by what was asked
    (HOUR, 0.5 * HOUR, 0.4 * HOUR, True),              # issued shorter than asked
])
def test_when_a_token_is_renewed(ttl: float, expires_in: float, age: float,
                                 refresh: bool) -> None:
    token = IssuedToken("t", 1000.0, 1000.0 + expires_in, ttl)
    assert requires_refresh(token, 1000.0 + age) is refresh


class Clock:
    """Starts now: the API service issues tokens by the wall clock."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def bound_pod(api: ApiService) -> dict[str, Any]:
    await api.create(SERVICEACCOUNTS, {"metadata": {"name": "builder"}}, namespace="default")
    return await api.create(PODS, {"metadata": {"name": "web"}, "spec": {
        "serviceAccountName": "builder", "containers": [{"name": "c", "image": "busybox"}]}},
        namespace="default")


def claims(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def test_the_token_is_bound_to_the_pod_with_the_sources_audience(api: ApiService) -> None:
    pod = await bound_pod(api)
    manager = TokenManager(api, clock=Clock())
    token = await manager.token(token_key(pod, {"audience": "vault", "expirationSeconds": 7200}))
    got = claims(token)
    assert got["aud"] == ["vault"]
    assert got["sub"] == "system:serviceaccount:default:builder"
    assert got["kubernetes.io"]["pod"] == {"name": "web", "uid": pod["metadata"]["uid"]}
    assert got["exp"] - got["iat"] == 7200


async def test_without_an_audience_the_api_servers_own_is_used(api: ApiService) -> None:
    pod = await bound_pod(api)
    token = await TokenManager(api, clock=Clock()).token(token_key(pod, {}))
    assert claims(token)["aud"] == list(api.token_audiences)


async def test_a_token_is_kept_until_it_is_due_then_renewed(api: ApiService) -> None:
    pod = await bound_pod(api)
    clock = Clock()
    manager = TokenManager(api, clock=clock)
    key = token_key(pod, {"expirationSeconds": 3600})
    first = await manager.token(key)
    clock.now += 0.5 * HOUR
    assert await manager.token(key) == first
    clock.now += 0.35 * HOUR
    assert await manager.token(key) != first


async def test_no_account_no_token_in_kubes_words(api: ApiService) -> None:
    pod = await api.create(PODS, {"metadata": {"name": "orphan"}, "spec": {
        "serviceAccountName": "nobody", "containers": [{"name": "c", "image": "busybox"}]}},
        namespace="default")
    with pytest.raises(ConfigError, match='failed to fetch token: serviceaccounts "nobody" '
                                          'not found'):
        await TokenManager(api, clock=Clock()).token(token_key(pod, {}))
