"""Join tokens: bootstrap tokens `<id>.<secret>`, the kube-system Secret kubeadm writes for
one, k3s's secure format K10<sha256 of the CA PEM>::<credentials>, and kubeadm's TTLs."""

from __future__ import annotations

import base64
import hashlib
import random
from typing import Any

import pytest

from minikube_py.pki.jointoken import (
    LIST_COLUMNS,
    NODE_TOKEN_GROUP,
    BootstrapToken,
    JoinToken,
    TokenFormatError,
    TokenInfo,
    format_table,
    list_row,
    parse_rfc3339,
    parse_ttl,
    short_duration,
    token_from_secret,
    token_secret,
)

CA = b"-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"
CA_HASH = hashlib.sha256(CA).hexdigest()
TOKEN = BootstrapToken("abcdef", "0123456789abcdef")
NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def test_a_generated_token_is_six_and_sixteen_of_a_to_z_and_digits() -> None:
    token = BootstrapToken.generate(random.Random(1).randrange)
    assert BootstrapToken.parse(str(token)) == token
    assert len(token.id) == 6 and len(token.secret) == 16


def test_the_random_source_decides_the_token() -> None:
    def same_seed() -> BootstrapToken:
        return BootstrapToken.generate(random.Random(7).randrange)

    assert same_seed() == same_seed()
    assert same_seed() != BootstrapToken.generate(random.Random(8).randrange)


def test_each_character_is_drawn_from_the_36_of_a_to_z_and_digits() -> None:
    asked: list[int] = []
    drawn = iter(range(22))

    def randbelow(n: int) -> int:
        asked.append(n)
        return next(drawn)

    assert BootstrapToken.generate(randbelow) == BootstrapToken("abcdef", "ghijklmnopqrstuv")
    assert asked == [36] * 22
    assert BootstrapToken.generate(lambda n: n - 1) == BootstrapToken("9" * 6, "9" * 16)


@pytest.mark.parametrize(("text", "error"), [
    ("abcdef0123456789abcdef", "has no '.'"),
    ("abcde.0123456789abcdef", "token id 'abcde' is not 6 characters"),
    ("ABCDEF.0123456789abcdef", "token id 'ABCDEF' is not 6 characters"),
    ("abcdef.0123456789abcde", "token secret is not 16 characters"),
    ("abcdef.0123456789abcdeF", "token secret is not 16 characters"),
    ("abcdef.0123456789abcdef.", "token secret is not 16 characters"),
    ("", "has no '.'"),
])
def test_a_malformed_bootstrap_token_is_refused_naming_the_part(text: str, error: str) -> None:
    with pytest.raises(TokenFormatError, match=error):
        BootstrapToken.parse(text)


def test_a_refusal_never_repeats_a_whole_secret() -> None:
    with pytest.raises(TokenFormatError) as e:
        BootstrapToken.parse("abcdef0123456789abcdef")
    assert "0123456789abcdef" not in str(e.value)


def test_a_join_token_is_k10_the_ca_hash_and_the_bootstrap_token() -> None:
    join = JoinToken.make(CA, TOKEN)
    assert str(join) == f"K10{CA_HASH}::abcdef.0123456789abcdef"
    assert JoinToken.parse(str(join)) == join


def test_a_join_token_read_from_a_file_may_end_in_a_newline() -> None:
    assert JoinToken.parse(f"K10{CA_HASH}::{TOKEN}\n") == JoinToken(CA_HASH, TOKEN)


def test_an_upper_case_hash_is_the_same_hash() -> None:
    assert JoinToken.parse(f"K10{CA_HASH.upper()}::{TOKEN}") == JoinToken(CA_HASH, TOKEN)


@pytest.mark.parametrize(("text", "error"), [
    (str(TOKEN), "starts with K10"),
    (f"K11{CA_HASH}::{TOKEN}", "starts with K10"),
    (f"K10{CA_HASH}{TOKEN}", "no '::' after the CA hash"),
    (f"K10{CA_HASH}:{TOKEN}", "no '::' after the CA hash"),
    (f"K10{CA_HASH[:-1]}::{TOKEN}", "64 hex digits .sha256.; got 63 characters$"),
    (f"K10{CA_HASH[:-1]}g::{TOKEN}", "got 64 characters, not all hex digits"),
    (f"K10::{TOKEN}", "got 0 characters"),
    (f"K10{CA_HASH}::", "credentials of a join token: a bootstrap token is <id>.<secret>"),
    (f"K10{CA_HASH}::server:s3cret", "credentials of a join token: .* has no '.'"),
    (f"K10{CA_HASH}::abcdef.short", "credentials of a join token: the token secret"),
    ("", "starts with K10"),
])
def test_a_malformed_join_token_is_refused_naming_the_part(text: str, error: str) -> None:
    with pytest.raises(TokenFormatError, match=error):
        JoinToken.parse(text)


@pytest.mark.parametrize(("pem", "trusted"), [
    (CA, True),
    (CA + b"\n", False),  # the PEM exactly as served: one more byte is another hash
    (CA.replace(b"MIIB", b"MIIC"), False),
    (b"", False),
])
def test_a_join_token_trusts_only_the_ca_it_names(pem: bytes, trusted: bool) -> None:
    assert JoinToken.make(CA, TOKEN).trusts(pem) is trusted


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_the_secret_is_kubeadms_bootstrap_token_secret() -> None:
    secret = token_secret(TOKEN, now=NOW, ttl=24 * 3600, description="for ci")
    assert secret["metadata"] == {"name": "bootstrap-token-abcdef", "namespace": "kube-system"}
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    assert decoded(secret) == {
        "token-id": "abcdef", "token-secret": "0123456789abcdef",
        "expiration": "2023-11-15T22:13:20Z", "description": "for ci",
        "usage-bootstrap-authentication": "true", "usage-bootstrap-signing": "true",
        "auth-extra-groups": "system:bootstrappers:minikube-py:default-node-token"}


def test_a_token_without_ttl_has_no_expiration_nor_an_empty_description() -> None:
    data = decoded(token_secret(TOKEN, now=NOW, ttl=None))
    assert "expiration" not in data and "description" not in data


def test_a_secret_reads_back_as_the_token_it_was_made_for() -> None:
    info = token_from_secret(token_secret(TOKEN, now=NOW, ttl=60, description="d"))
    assert info == TokenInfo(TOKEN, NOW + 60, ("authentication", "signing"), "d",
                             (NODE_TOKEN_GROUP,))
    assert not info.expired(NOW + 59) and info.expired(NOW + 60)


def test_a_token_that_never_expires_never_expires() -> None:
    info = token_from_secret(token_secret(TOKEN, now=NOW, ttl=None))
    assert info is not None and info.expiration is None and not info.expired(1e12)


def with_data(**changes: str | None) -> dict[str, Any]:
    secret = token_secret(TOKEN, now=NOW, ttl=60)
    data = decoded(secret)
    for k, v in changes.items():
        if v is None:
            data.pop(k.replace("_", "-"), None)
        else:
            data[k.replace("_", "-")] = v
    secret["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return secret


@pytest.mark.parametrize("secret", [
    {**token_secret(TOKEN, now=NOW, ttl=60), "type": "Opaque"},
    {**token_secret(TOKEN, now=NOW, ttl=60), "metadata": {"name": "bootstrap-token-zzzzzz"}},
    with_data(token_id=None),
    with_data(token_secret="short"),
    with_data(token_id="ABCDEF"),
])
def test_a_secret_that_is_no_well_formed_bootstrap_token_holds_none(
        secret: dict[str, Any]) -> None:
    assert token_from_secret(secret) is None


def test_an_unreadable_expiration_is_taken_as_expired() -> None:
    info = token_from_secret(with_data(expiration="tomorrow"))
    assert info is not None and info.expired(0)


@pytest.mark.parametrize(("text", "epoch"), [
    ("2023-11-14T22:13:20Z", NOW),
    ("2023-11-15T00:13:20+02:00", NOW),
    ("2023-11-14T22:13:20.5Z", NOW + 0.5),
])
def test_an_expiration_is_read_with_its_offset(text: str, epoch: float) -> None:
    assert parse_rfc3339(text) == epoch


@pytest.mark.parametrize("text", ["2023-11-14T22:13:20", "yesterday", ""])
def test_an_expiration_without_a_zone_or_a_date_is_no_time(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(text)


@pytest.mark.parametrize(("text", "seconds"), [
    ("24h", 86400.0), ("1h30m", 5400.0), ("90s", 90.0), ("1.5h", 5400.0),
    ("2h0m10s", 7210.0), ("0", None), ("0s", None), ("0h0m", None),
])
def test_a_ttl_is_a_go_duration_and_zero_never_expires(text: str,
                                                       seconds: float | None) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["", "24", "1d", "-1h", "h", "1h 30m", "24H", "1x"])
def test_a_ttl_that_is_no_duration_is_refused(text: str) -> None:
    with pytest.raises(TokenFormatError, match=r"invalid TTL .*24h, 1h30m or 90s"):
        parse_ttl(text)


def test_a_ttl_past_a_hundred_years_is_refused() -> None:
    assert parse_ttl("876000h") == 876000 * 3600
    with pytest.raises(TokenFormatError, match=r"^TTL '876000h1s' is too long: at most 876000h"):
        parse_ttl("876000h1s")


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "<invalid>"), (-5, "<invalid>"), (59.9, "59s"), (60, "1m"), (3599, "59m"),
    (3600, "1h"), (86399, "23h"), (47 * 3600, "47h"), (48 * 3600, "2d"),
    (729 * 86400, "729d"), (730 * 86400, "2y"),
])
def test_a_time_left_is_shown_as_kubeadm_shows_it(seconds: float, shown: str) -> None:
    assert short_duration(seconds) == shown


def test_a_list_row_holds_kubeadms_columns() -> None:
    info = token_from_secret(token_secret(TOKEN, now=NOW, ttl=24 * 3600, description="ci"))
    assert info is not None
    assert list_row(info, NOW + 3600) == (
        "abcdef.0123456789abcdef", "23h", "2023-11-15T22:13:20Z", "authentication,signing",
        "ci", NODE_TOKEN_GROUP)


def test_a_forever_token_lists_as_forever_and_never() -> None:
    info = TokenInfo(TOKEN, None, (), "", ())
    assert list_row(info, NOW) == (str(TOKEN), "<forever>", "<never>", "<none>", "<none>",
                                   "<none>")


def test_the_table_aligns_its_columns_under_kubeadms_header() -> None:
    rows = [("a", "1h", "x", "u", "d", "g"), ("bbbb", "2h", "y", "u", "d", "g")]
    assert format_table(LIST_COLUMNS, rows).splitlines() == [
        "TOKEN   TTL   EXPIRES   USAGES   DESCRIPTION   EXTRA GROUPS",
        "a       1h    x         u        d             g",
        "bbbb    2h    y         u        d             g",
    ]
