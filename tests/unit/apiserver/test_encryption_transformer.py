"""The aesgcm value transformer and the EncryptionConfiguration it reads (pure: no IO)."""

from __future__ import annotations

import base64
import itertools

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from minikube_py.apiserver.encryption import (
    AesKey,
    DecryptionError,
    EncryptionConfig,
    EncryptionConfigError,
    ValueTransformer,
    new_key_name,
    parse_config,
    render_config,
    stored_under,
)

KEY = b"/registry/secrets/default/db"
VALUE = b'{"kind":"Secret","apiVersion":"v1","metadata":{"name":"db"},"data":{"p":"aHVudGVyMg=="}}'
K1 = AesKey("key1", bytes(range(32)))
K2 = AesKey("key2", bytes(range(100, 132)))


def transformer(*keys: AesKey, write_plain_text: bool = False,
                read_plain_text: bool = True) -> ValueTransformer:
    counter = itertools.count(1)
    return ValueTransformer(EncryptionConfig(keys, write_plain_text, read_plain_text),
                            lambda n: next(counter).to_bytes(n, "big"))


@pytest.mark.parametrize("size", [16, 24, 32])
@pytest.mark.parametrize("value", [b"", VALUE, bytes(range(256)) * 8])
def test_a_value_reads_back_as_it_was_written(size: int, value: bytes) -> None:
    t = transformer(AesKey("k", bytes(size)))
    read = t.from_storage(KEY, t.to_storage(KEY, value))
    assert (read.value, read.stale) == (value, False)


def test_the_stored_form_is_kubes_prefix_nonce_and_sealed_value_with_the_key_as_data() -> None:
    stored = transformer(K1).to_storage(KEY, VALUE)
    prefix = b"k8s:enc:aesgcm:v1:key1:"
    nonce = (1).to_bytes(12, "big")
    assert stored == prefix + nonce + AESGCM(K1.secret).encrypt(nonce, VALUE, KEY)


def test_the_stored_form_holds_neither_the_value_nor_its_base64() -> None:
    stored = transformer(K1).to_storage(KEY, b"hunter2-" * 4)
    assert b"hunter2" not in stored
    assert base64.b64encode(b"hunter2-" * 4)[:12] not in stored


def test_each_write_takes_a_fresh_nonce() -> None:
    t = transformer(K1)
    assert t.to_storage(KEY, VALUE) != t.to_storage(KEY, VALUE)


@pytest.mark.parametrize(("stored", "why"), [
    (transformer(AesKey("key1", bytes(32))).to_storage(KEY, VALUE), "does not decrypt"),
    (transformer(AesKey("key9", bytes(32))).to_storage(KEY, VALUE),
     'the key "key9", which is not in the encryption config'),
    (transformer(K1).to_storage(b"/registry/secrets/default/other", VALUE), "does not decrypt"),
    (transformer(K1).to_storage(KEY, VALUE)[:-1], "does not decrypt"),
    (b"k8s:enc:aesgcm:v1:key1:" + b"short", "shorter than the required size"),
    (b"k8s:enc:aescbc:v1:key1:" + bytes(48), "a provider this server does not have ('aescbc')"),
    (b"k8s:enc:kms:v2:vault:" + bytes(48), "a provider this server does not have ('kms')"),
])
def test_what_the_keys_cannot_read_fails_loudly(stored: bytes, why: str) -> None:
    with pytest.raises(DecryptionError, match=why.replace("(", r"\(").replace(")", r"\)")):
        transformer(K1, K2).from_storage(KEY, stored)


@pytest.mark.parametrize(("t", "stale"), [
    (transformer(K1), True),  # encrypting now: a plain-text value is to be rewritten
    (transformer(K1, write_plain_text=True), False),  # identity first: plain text is current
    (transformer(), False),
])
def test_plain_text_reads_through(t: ValueTransformer, stale: bool) -> None:
    assert t.from_storage(KEY, VALUE) == (VALUE, stale)


def test_plain_text_is_refused_without_the_identity_provider() -> None:
    with pytest.raises(DecryptionError, match="plain text"):
        transformer(K1, read_plain_text=False).from_storage(KEY, VALUE)


def test_a_value_under_an_older_key_reads_stale() -> None:
    old = transformer(K1).to_storage(KEY, VALUE)
    assert transformer(K2, K1).from_storage(KEY, old) == (VALUE, True)


def test_identity_first_writes_plain_text() -> None:
    assert transformer(K1, write_plain_text=True).to_storage(KEY, VALUE) == VALUE


@pytest.mark.parametrize(("stored", "under"), [
    (VALUE, None),
    (transformer(K2).to_storage(KEY, VALUE), "key2"),
    (b"k8s:enc:aescbc:v1:key1:xyz", "k8s:enc:aescbc"),
])
def test_stored_under_names_the_key_a_value_needs(stored: bytes, under: str | None) -> None:
    assert stored_under(stored) == under


# --- the config file ---------------------------------------------------------------------

@pytest.mark.parametrize("config", [
    EncryptionConfig((K1,)),
    EncryptionConfig((K2, K1)),
    EncryptionConfig((K1,), write_plain_text=True),
    EncryptionConfig((K1,), read_plain_text=False),
    EncryptionConfig((AesKey("short", bytes(16)),)),
])
def test_a_config_reads_back_as_it_was_rendered(config: EncryptionConfig) -> None:
    assert parse_config(render_config(config), "f") == config


def test_kubes_documented_form_is_read() -> None:
    text = """
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources:
      - secrets
    providers:
      - aesgcm:
          keys:
            - name: key1
              secret: c2VjcmV0IGlzIHNlY3VyZQ==
            - name: key2
              secret: dGhpcyBpcyBwYXNzd29yZA==
      - identity: {}
"""
    config = parse_config(text, "f")
    assert config.key_names == ("key1", "key2")
    assert config.write_key == AesKey("key1", b"secret is secure")
    assert (config.write_plain_text, config.read_plain_text) == (False, True)


def _config(providers: str, resources: str = "[secrets]") -> str:
    return ("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
            f"resources:\n- resources: {resources}\n  providers: {providers}\n")


GOOD_KEY = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(("text", "why"), [
    ("{", "not YAML"),
    ("[]", "not an EncryptionConfiguration"),
    ("apiVersion: v1\nkind: Config\n", "expected kind EncryptionConfiguration"),
    (_config("[{identity: {}}]", "[configmaps]"), "only Secrets are encrypted"),
    (_config("[]"), "non-empty list"),
    (_config(f"[{{aescbc: {{keys: [{{name: a, secret: {GOOD_KEY}}}]}}}}]"),
     "provider 'aescbc' is not supported"),
    (_config("[{aesgcm: {keys: []}}]"), r"aesgcm.keys: must be a non-empty list"),
    (_config("[{aesgcm: {keys: [{name: a, secret: '!!'}]}}]"), "not valid base64"),
    (_config(f"[{{aesgcm: {{keys: [{{name: a, secret: {base64.b64encode(bytes(20)).decode()}"
             "}]}}]"), "16, 24 or 32 bytes, not 20"),
    (_config(f"[{{aesgcm: {{keys: [{{name: 'a:b', secret: {GOOD_KEY}}}]}}}}]"), "without ':'"),
    (_config(f"[{{aesgcm: {{keys: [{{name: a, secret: {GOOD_KEY}}}, "
             f"{{name: a, secret: {GOOD_KEY}}}]}}}}]"), 'the key name "a" is used twice'),
    (_config("[{identity: {}, aesgcm: {}}]"), "exactly one provider"),
])
def test_a_config_this_server_cannot_follow_is_refused_by_name(text: str, why: str) -> None:
    with pytest.raises(EncryptionConfigError, match=why):
        parse_config(text, "f")


def test_a_new_key_writes_and_the_old_ones_still_read() -> None:
    config = EncryptionConfig((K1,)).with_new_key(K2)
    assert config.key_names == ("key2", "key1")
    assert config.write_key == K2
    assert config.only_write_key() == EncryptionConfig((K2,))


def test_a_new_key_turns_encryption_back_on() -> None:
    config = EncryptionConfig((K1,), write_plain_text=True).with_new_key(K2)
    assert config.write_key == K2


def test_new_key_names_say_when_and_never_repeat() -> None:
    now = 1_700_000_000.0  # 2023-11-14T22:13:20Z
    first = new_key_name(EncryptionConfig(), now)
    assert first == "key-20231114T221320Z"
    second = new_key_name(EncryptionConfig((AesKey(first, bytes(32)),)), now)
    assert second == "key-20231114T221320Z-2"
