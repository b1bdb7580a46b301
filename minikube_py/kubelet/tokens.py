"""ServiceAccount tokens for projected `serviceAccountToken` sources, as kube's kubelet token
manager gets them: one TokenRequest (`serviceaccounts/NAME/token`) per pod, account,
audience and lifetime, bound to the pod, kept until 80% of its life (or 24 hours) has passed,
then asked for again; the volume's file follows at the next sync."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from minikube_py.api.errors import ApiError
from minikube_py.api.podutil import parse_time
from minikube_py.api.resources import SERVICEACCOUNTS
from minikube_py.client.interface import ApiClient
from minikube_py.kubelet.pod_objects import ConfigError

DEFAULT_EXPIRATION = 3600  # what API defaulting gives a serviceAccountToken source
MAX_TTL = 24 * 3600.0  # a token older than this is renewed whatever its expiry says
REFRESH_AT = 0.8  # of its life


@dataclass(frozen=True, slots=True)
class TokenKey:
    namespace: str
    account: str
    audience: str  # "" for the API server's own audiences
    expiration_seconds: int
    pod_name: str
    pod_uid: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    issued_at: float  # by the kubelet's clock
    expires_at: float
    # The life asked for. kube's API answers with it even when it issued a longer-lived
    # token (the 3607 s compatibility extension): the refresh goes by it.
    ttl: float


def requires_refresh(token: IssuedToken, now: float) -> bool:
    """kube's requiresRefresh: once 80% of its life has passed (20% of the TTL before
    expiry), or it is a day old."""
    ttl = min(token.ttl, token.expires_at - token.issued_at)
    return now >= token.issued_at + min(ttl * REFRESH_AT, MAX_TTL)


def token_key(pod: Mapping[str, Any], source: Mapping[str, Any]) -> TokenKey:
    meta = pod.get("metadata") or {}
    return TokenKey(namespace=str(meta.get("namespace") or "default"),
                    account=str((pod.get("spec") or {}).get("serviceAccountName") or "default"),
                    audience=str(source.get("audience") or ""),
                    expiration_seconds=int(source.get("expirationSeconds")
                                           or DEFAULT_EXPIRATION),
                    pod_name=str(meta.get("name") or ""), pod_uid=str(meta.get("uid") or ""))


def token_request(key: TokenKey) -> dict[str, Any]:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "metadata": {"name": key.account, "namespace": key.namespace},
            "spec": {"audiences": [key.audience] if key.audience else [],
                     "expirationSeconds": key.expiration_seconds,
                     "boundObjectRef": {"apiVersion": "v1", "kind": "Pod",
                                        "name": key.pod_name, "uid": key.pod_uid}}}


class TokenManager:
    """The tokens of this node's pods, through the kubelet's own client."""

    def __init__(self, client: ApiClient, *, clock: Callable[[], float]) -> None:
        self._client = client
        self._clock = clock
        self._tokens: dict[TokenKey, IssuedToken] = {}

    async def token(self, key: TokenKey) -> str:
        """The pod's current token; raises ConfigError (kube's words) when none can be had.
        A token that is due for renewal but still valid is kept when renewal fails."""
        now = self._clock()
        held = self._tokens.get(key)
        if held is not None and not requires_refresh(held, now):
            return held.token
        try:
            answer = await self._client.create(SERVICEACCOUNTS, token_request(key),
                                               namespace=key.namespace, name=key.account,
                                               subresource="token")
        except ApiError as e:
            if held is not None and now < held.expires_at:
                return held.token
            raise ConfigError(f"failed to fetch token: {e.message}") from None
        status = answer.get("status") or {}
        expires = parse_time(status.get("expirationTimestamp"))
        issued = IssuedToken(str(status.get("token") or ""), now,
                             expires if expires is not None else now + key.expiration_seconds,
                             float(key.expiration_seconds))
        self._tokens[key] = issued
        return issued.token

    def forget_pod(self, uid: str) -> None:
        for key in [k for k in self._tokens if k.pod_uid == uid]:
            del self._tokens[key]
