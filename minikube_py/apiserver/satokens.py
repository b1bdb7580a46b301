"""ServiceAccount tokens as kube issues them: JWTs signed with the cluster's service-account
key, bound to an audience, an expiry and (optionally) a Pod or Secret, with kube's private
claims (`kubernetes.io`: namespace, serviceaccount, pod, secret, warnafter).

Pure: the key and the clock are given; looking up whether the bound objects still exist is
the authenticator's job (authn_tokens.py).
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ISSUER: Final = "https://kubernetes.default.svc.cluster.local"
# What a kubelet asks for a projected token: kube then issues one valid for a year but
# asks clients to refresh after an hour (warnafter), so a stale client still works.
WARN_ONLY_EXPIRATION: Final = 60 * 60 + 7
EXTENDED_EXPIRATION: Final = 365 * 24 * 60 * 60
MIN_EXPIRATION: Final = 600
DEFAULT_EXPIRATION: Final = 3600
MAX_EXPIRATION: Final = 2**32
# kube's jwt.DefaultLeeway: clocks may disagree by this much.
LEEWAY: Final = 60.0

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
VerifyingKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class InvalidToken(Exception):
    """A token of this issuer that does not hold (bad signature, expired, wrong audience)."""


@dataclass(frozen=True, slots=True)
class Ref:
    name: str
    uid: str


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says about its holder."""

    namespace: str
    service_account: Ref
    audiences: tuple[str, ...]
    expires_at: float
    pod: Ref | None = None
    secret: Ref | None = None
    node: Ref | None = None
    token_id: str = ""

    @property
    def username(self) -> str:
        return service_account_username(self.namespace, self.service_account.name)


def service_account_username(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def key_id(public_key: VerifyingKey) -> str:
    """kube's key id: the base64url SHA-256 of the public key's DER."""
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")


def _algorithm(key: SigningKey | VerifyingKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "RS256"
    curve = key.curve.name
    return {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}[curve]


def effective_expiration(requested: int, *, extend: bool = True) -> tuple[int, int]:
    """(the seconds a token is valid, the seconds after which kube asks for a new one: 0 for
    none), for a requested expiration (kube's --service-account-extend-token-expiration)."""
    if extend and requested == WARN_ONLY_EXPIRATION:
        return EXTENDED_EXPIRATION, WARN_ONLY_EXPIRATION
    return requested, 0


class TokenIssuer:
    def __init__(self, key: SigningKey, *, clock: Callable[[], float],
                 issuer: str = ISSUER) -> None:
        self._key = key
        self._clock = clock
        self.issuer = issuer
        self._alg = _algorithm(key)
        self.public_key: VerifyingKey = key.public_key()
        self._kid = key_id(self.public_key)

    def issue(self, namespace: str, service_account: Ref, *, audiences: Sequence[str],
              expiration_seconds: int, pod: Ref | None = None, secret: Ref | None = None,
              node: Ref | None = None, warn_after_seconds: int = 0) -> tuple[str, float]:
        """(the token, when it expires) for the service account, bound as given."""
        now = int(self._clock())
        k8s: dict[str, Any] = {
            "namespace": namespace,
            "serviceaccount": {"name": service_account.name, "uid": service_account.uid},
        }
        for field, ref in (("pod", pod), ("secret", secret), ("node", node)):
            if ref is not None:
                k8s[field] = {"name": ref.name, "uid": ref.uid}
        if warn_after_seconds:
            k8s["warnafter"] = now + warn_after_seconds
        expires = now + expiration_seconds
        claims = {
            "aud": list(audiences), "exp": expires, "iat": now, "nbf": now,
            "iss": self.issuer, "jti": str(uuid.uuid4()),
            "sub": service_account_username(namespace, service_account.name),
            "kubernetes.io": k8s,
        }
        token = jwt.encode(claims, self._key, algorithm=self._alg,
                           headers={"kid": self._kid})
        return token, float(expires)


class TokenVerifier:
    """Verifies tokens of `issuer` signed by one of `keys` (the current and retired ones)."""

    def __init__(self, keys: Sequence[VerifyingKey], *, clock: Callable[[], float],
                 audiences: Sequence[str] = (ISSUER,), issuer: str = ISSUER) -> None:
        self._keys = list(keys)
        self._clock = clock
        self.audiences = tuple(audiences)
        self.issuer = issuer

    def is_ours(self, token: str) -> bool:
        """Whether the token claims to be this issuer's (else another authenticator may
        know it: a bootstrap token, say)."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        return bool(unverified.get("iss") == self.issuer)

    def verify(self, token: str) -> TokenClaims:
        """The claims of a token `is_ours` accepts; InvalidToken if it does not hold."""
        claims = self._decode(token)
        k8s = claims.get("kubernetes.io")
        if not isinstance(k8s, dict) or not isinstance(k8s.get("serviceaccount"), dict):
            raise InvalidToken("service account token claims are incomplete")
        aud = claims.get("aud")
        audiences = tuple(aud if isinstance(aud, list) else [aud] if aud else [])
        return TokenClaims(
            namespace=str(k8s.get("namespace") or ""),
            service_account=_ref(k8s["serviceaccount"]),
            audiences=audiences,
            expires_at=float(claims.get("exp") or 0),
            pod=_ref(k8s["pod"]) if isinstance(k8s.get("pod"), dict) else None,
            secret=_ref(k8s["secret"]) if isinstance(k8s.get("secret"), dict) else None,
            node=_ref(k8s["node"]) if isinstance(k8s.get("node"), dict) else None,
            token_id=str(claims.get("jti") or ""),
        )

    def _decode(self, token: str) -> dict[str, Any]:
        now = self._clock()
        last: Exception | None = None
        for key in self._keys:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token, key, algorithms=[_algorithm(key)], audience=list(self.audiences),
                    issuer=self.issuer, leeway=LEEWAY,
                    options={"require": ["exp", "iat", "nbf", "sub"], "verify_exp": False,
                             "verify_nbf": False, "verify_iat": False})
            except jwt.InvalidSignatureError as e:
                last = e
                continue
            except jwt.PyJWTError as e:
                raise InvalidToken(str(e)) from None
            # Time is checked against the injected clock, not the machine's.
            if float(claims["exp"]) + LEEWAY < now:
                raise InvalidToken("service account token has expired")
            if float(claims["nbf"]) - LEEWAY > now:
                raise InvalidToken("service account token is not valid yet")
            return claims
        raise InvalidToken(f"invalid signature: {last}" if last else "no key to verify with")


def _ref(raw: dict[str, Any]) -> Ref:
    return Ref(str(raw.get("name") or ""), str(raw.get("uid") or ""))


def new_signing_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key (ES256): what a cluster without a key on disk signs with."""
    return ec.generate_private_key(ec.SECP256R1())
