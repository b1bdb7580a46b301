"""ServiceAccount JWTs: issued with kube's claims, verified against key, issuer, audience
and an injected clock."""

import jwt
import pytest

from minikube_py.apiserver.satokens import (
    EXTENDED_EXPIRATION,
    ISSUER,
    WARN_ONLY_EXPIRATION,
    InvalidToken,
    Ref,
    TokenIssuer,
    TokenVerifier,
    effective_expiration,
    new_signing_key,
)

NOW = 1_700_000_000.0
SA = Ref("builder", "4b8c0d1e-0000-4000-8000-000000000001")
POD = Ref("web-1", "4b8c0d1e-0000-4000-8000-000000000002")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pair(clock: Clock) -> tuple[TokenIssuer, TokenVerifier]:
    issuer = TokenIssuer(new_signing_key(), clock=clock)
    return issuer, TokenVerifier([issuer.public_key], clock=clock)


def test_a_token_carries_kubes_claims(clock: Clock) -> None:
    issuer, _ = pair(clock)
    token, expires = issuer.issue("ci", SA, audiences=[ISSUER], expiration_seconds=3600,
                                  pod=POD)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert expires == NOW + 3600
    assert claims["iss"] == ISSUER and claims["aud"] == [ISSUER]
    assert claims["sub"] == "system:serviceaccount:ci:builder"
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (NOW, NOW, NOW + 3600)
    assert claims["kubernetes.io"] == {
        "namespace": "ci", "serviceaccount": {"name": SA.name, "uid": SA.uid},
        "pod": {"name": POD.name, "uid": POD.uid}}
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    assert jwt.get_unverified_header(token)["kid"]


def test_a_token_verifies_with_its_issuers_key(clock: Clock) -> None:
    issuer, verifier = pair(clock)
    token, _ = issuer.issue("ci", SA, audiences=[ISSUER], expiration_seconds=600, pod=POD)
    claims = verifier.verify(token)
    assert (claims.namespace, claims.service_account, claims.pod) == ("ci", SA, POD)
    assert claims.username == "system:serviceaccount:ci:builder"
    assert claims.token_id


@pytest.mark.parametrize(("advance", "valid"), [(599, True), (600 + 59, True),
                                                (600 + 61, False)])
def test_expiry_is_checked_on_the_injected_clock_with_kubes_leeway(
        clock: Clock, advance: float, valid: bool) -> None:
    issuer, verifier = pair(clock)
    token, _ = issuer.issue("ci", SA, audiences=[ISSUER], expiration_seconds=600)
    clock.now += advance
    if valid:
        verifier.verify(token)
    else:
        with pytest.raises(InvalidToken, match="expired"):
            verifier.verify(token)


def test_another_key_or_audience_does_not_verify(clock: Clock) -> None:
    issuer, _ = pair(clock)
    _, stranger = pair(clock)
    token, _ = issuer.issue("ci", SA, audiences=[ISSUER], expiration_seconds=600)
    with pytest.raises(InvalidToken):
        stranger.verify(token)
    other_audience, _ = issuer.issue("ci", SA, audiences=["vault"], expiration_seconds=600)
    with pytest.raises(InvalidToken):
        TokenVerifier([issuer.public_key], clock=clock).verify(other_audience)


def test_a_retired_key_still_verifies_alongside_the_current_one(clock: Clock) -> None:
    old, _ = pair(clock)
    new, _ = pair(clock)
    token, _ = old.issue("ci", SA, audiences=[ISSUER], expiration_seconds=600)
    TokenVerifier([new.public_key, old.public_key], clock=clock).verify(token)


def test_only_this_issuers_tokens_are_claimed(clock: Clock) -> None:
    issuer, verifier = pair(clock)
    token, _ = issuer.issue("ci", SA, audiences=[ISSUER], expiration_seconds=600)
    assert verifier.is_ours(token)
    assert not verifier.is_ours("abcdef.0123456789abcdef")  # a bootstrap token
    assert not verifier.is_ours(jwt.encode({"iss": "https://oidc.example"}, "k" * 32))


@pytest.mark.parametrize(("requested", "effective"), [
    (3600, (3600, 0)),
    (WARN_ONLY_EXPIRATION, (EXTENDED_EXPIRATION, WARN_ONLY_EXPIRATION)),
])
def test_the_kubelets_expiration_is_extended_with_a_warning_time(
        requested: int, effective: tuple[int, int]) -> None:
    assert effective_expiration(requested) == effective
