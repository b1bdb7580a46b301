"""Bearer-token authenticators: ServiceAccount JWTs and bootstrap tokens (kube's
serviceaccount and bootstrap token authenticators).

A token either is not one this authenticator issues (None: the next may know it) or is one
and must hold: a bad signature, an expired token, a ServiceAccount or bound Pod that is gone
or was replaced is 401, and so is a bootstrap token that does not match its Secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from minikube_py.api.credentials import bearer_token
from minikube_py.api.expiring import ExpiringCache
from minikube_py.api.resources import NODES, PODS, SECRETS, SERVICEACCOUNTS, Resource
from minikube_py.apiserver.authn import UserInfo, unauthorized
from minikube_py.apiserver.satokens import LEEWAY, InvalidToken, Ref, TokenVerifier
from minikube_py.apiserver.storage import parse_rfc3339
from minikube_py.pki import jointoken

Obj = dict[str, Any]
# Reads an object without authorization (the authenticator is the server itself).
Reader = Callable[[Resource, str | None, str], Awaitable[Obj | None]]
_BOOTSTRAP_TOKEN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
_BOOTSTRAP_GROUP = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")


# kube-apiserver's --token-success-cache-ttl default: a token that authenticated is taken
# at its word for this long (its ServiceAccount or Pod deleted meanwhile: at most this late).
SUCCESS_TTL: Final = 10.0
MAX_CACHED: Final = 10_000  # entries kept before the cache starts over (a bound on memory)


class ServiceAccountTokens:
    def __init__(self, verifier: TokenVerifier, read: Reader,
                 clock: Callable[[], float]) -> None:
        self._verifier = verifier
        self._read = read
        self._clock = clock
        # sha256 of a token -> its user; failures are never cached.
        self._cache: ExpiringCache[bytes, UserInfo] = ExpiringCache(MAX_CACHED)

    async def authenticate(self, request: web.Request) -> UserInfo | None:
        token = bearer_token(request.headers.get("Authorization"))
        return None if token is None else await self.authenticate_token(token)

    async def authenticate_token(self, token: str) -> UserInfo | None:
        """The token's user; None if it is not one of ours; 401 if it is and does not hold."""
        key = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        cached = self._cache.get(key, now)
        if cached is not None:
            return cached  # only tokens of ours are cached
        if not self._verifier.is_ours(token):
            return None
        user, expires_at = await self._authenticate(token)
        self._cache.put(key, user, min(now + SUCCESS_TTL, expires_at + LEEWAY))
        return user

    async def _authenticate(self, token: str) -> tuple[UserInfo, float]:
        try:
            claims = self._verifier.verify(token)
        except InvalidToken:
            raise unauthorized() from None
        ns, account = claims.namespace, claims.service_account
        await self._still_there(SERVICEACCOUNTS, ns, account)
        extra: dict[str, list[str]] = {}
        if claims.pod is not None:
            await self._still_there(PODS, ns, claims.pod)
            extra["authentication.kubernetes.io/pod-name"] = [claims.pod.name]
            extra["authentication.kubernetes.io/pod-uid"] = [claims.pod.uid]
        if claims.secret is not None:
            await self._still_there(SECRETS, ns, claims.secret)
        if claims.node is not None:
            await self._still_there(NODES, None, claims.node)
            extra["authentication.kubernetes.io/node-name"] = [claims.node.name]
            extra["authentication.kubernetes.io/node-uid"] = [claims.node.uid]
        if claims.token_id:
            extra["authentication.kubernetes.io/credential-id"] = [f"JTI={claims.token_id}"]
        return UserInfo(claims.username,
                        ("system:serviceaccounts", f"system:serviceaccounts:{ns}",
                         "system:authenticated"),
                        uid=account.uid, extra=extra), claims.expires_at

    async def _still_there(self, resource: Resource, namespace: str | None, ref: Ref) -> None:
        """The token holds only while what it names exists: the same object (uid), and not
        deleted more than the clock leeway ago."""
        obj = await self._read(resource, namespace if resource.namespaced else None, ref.name)
        if obj is None:
            raise unauthorized()
        meta = obj.get("metadata") or {}
        if meta.get("uid") != ref.uid:
            raise unauthorized()
        deleted = meta.get("deletionTimestamp")
        if deleted and parse_rfc3339(deleted) < self._clock() - LEEWAY:
            raise unauthorized()


class BootstrapTokens:
    """`<id>.<secret>` tokens backed by kube-system Secrets `bootstrap-token-<id>` of type
    bootstrap.kubernetes.io/token (what `minikube-py join` presents before it has a
    certificate); the Secret read as minikube_py/pki/jointoken.py writes it."""

    def __init__(self, read: Reader, clock: Callable[[], float]) -> None:
        self._read = read
        self._clock = clock

    async def authenticate(self, request: web.Request) -> UserInfo | None:
        token = bearer_token(request.headers.get("Authorization"))
        return None if token is None else await self.authenticate_token(token)

    async def authenticate_token(self, token: str) -> UserInfo | None:
        """The token's user; None if it is not a bootstrap token; 401 if it is and does not
        match its Secret."""
        m = _BOOTSTRAP_TOKEN.match(token)
        if m is None:
            return None
        token_id, token_secret = m.groups()
        secret = await self._read(SECRETS, "kube-system", f"bootstrap-token-{token_id}")
        info = None if secret is None else jointoken.token_from_secret(secret)
        if secret is None or info is None or \
                (secret.get("metadata") or {}).get("deletionTimestamp") or \
                info.token.id != token_id or \
                not hmac.compare_digest(info.token.secret, token_secret) or \
                "authentication" not in info.usages or info.expired(self._clock()):
            raise unauthorized()
        if any(not _BOOTSTRAP_GROUP.match(g) for g in info.extra_groups):
            raise unauthorized()
        return UserInfo(f"system:bootstrap:{token_id}",
                        ("system:bootstrappers", *info.extra_groups, "system:authenticated"))

