"""Request bodies as bytes: JSON text, YAML text with tags, anchors, aliases and merge keys,
Kubernetes protobuf built along the schema tables (and broken on purpose), garbage, and
Content-Encoding headers that do or do not match the body."""

from __future__ import annotations

import functools
import gzip
import json
import struct
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

from minikube_py.apiserver.protobuf import MAGIC, MEDIA_TYPE
from minikube_py.apiserver.protobuf_schema import MESSAGES, Field

from .values import INTS, STRINGS, json_values

JSON = Any
JSON_TYPE = "application/json"
YAML_TYPE = "application/yaml"


@dataclass(frozen=True)
class Body:
    data: bytes
    content_type: str | None
    headers: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.content_type} {self.headers} {self.data[:300]!r}"


def json_text(value: JSON) -> bytes:
    # ensure_ascii: lone surrogates travel as \\ud800 escapes, as a Go or JS client sends them
    return json.dumps(value).encode()


# --- YAML -----------------------------------------------------------------------------------

YAML_FRAGMENTS = st.sampled_from([
    "!!binary aGVsbG8=", "!!set {a, b}", "2024-01-01", "!!timestamp 2001-12-14t21:59:43Z",
    "!!float .inf", ".nan", "!!python/object:os.system x", "!!str 1", "!!int '7'", "0x1F",
    "0o17", "1_000", "9" * 500, "9" * 5000, "~", "yes", "No", "{? [a, b] : v}", "{2024-01-01: v}",
    "{1: a, true: b, null: c, 1.5: d}", "&a {x: 1}", "*undefined", "[" * 120 + "]" * 120,
    "{a: &x [1, 2], b: *x}", "{<<: {a: 1}, b: 2}", "!<tag:yaml.org,2002:str> x", "!custom x",
    "|\n  text\n", "'\\ud800'", '"\\ud800"', '"\\x00"', "[a, b", "{a: 1, a: 2}",
    "{<<: [{a: 1}, {b: 2}]}", "!!map {a: 1}", "!!seq [1]", "!!null ''", "!!bool maybe",
    "{<<: *undefined}", "!!omap [{a: 1}]", "!!pairs [{a: 1}]", "[" * 1000 + "]" * 1000,
    # an alias bomb: nine levels of nine aliases each, a few hundred bytes
    "{" + ", ".join(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join(
        [f"*{chr(96 + i)}" if i else "x"] * 9) + "]" for i in range(9)) + "}",
])


@st.composite
def yaml_text(draw: st.DrawFn, value: JSON) -> bytes:
    """`value` as YAML, a field sometimes replaced by a fragment beyond JSON's data model, or
    the whole document built with anchors and aliases."""
    try:
        text = yaml.safe_dump(value, allow_unicode=draw(st.booleans()))
    except yaml.YAMLError:
        text = json.dumps(value)  # JSON is YAML
    choice = draw(st.integers(0, 3))
    if choice == 1 and isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        rest = {k: v for k, v in value.items() if k != key}
        text = (yaml.safe_dump(rest) if rest else "") + f"{key}: {draw(YAML_FRAGMENTS)}\n"
    elif choice == 2 and isinstance(value, dict):
        # The metadata anchored and aliased elsewhere: shared references, merge keys.
        meta = json.dumps(value.get("metadata", {}))
        alias_at = draw(st.sampled_from(["spec", "status", "data", "labels", "<<"]))
        body = {k: v for k, v in value.items() if k != "metadata"}
        text = f"metadata: &m {meta}\n{alias_at}: *m\n" + \
            (yaml.safe_dump(body) if body else "")
    elif choice == 3:
        text += draw(st.sampled_from(["---\n", "--- {}\n", "...\n", "\t", "%YAML 1.1\n"]))
    return text.encode(errors="surrogatepass")


# --- protobuf -------------------------------------------------------------------------------

def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _tag(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _len(number: int, data: bytes) -> bytes:
    return _tag(number, 2) + _varint(len(data)) + data


_WIRE = {"int32": 0, "int64": 0, "bool": 0, "double": 1, "float": 5}


@st.composite
def _pb_scalar(draw: st.DrawFn, type_: str, number: int) -> bytes:
    if type_ in ("int32", "int64", "bool"):
        value = draw(st.one_of(INTS, st.sampled_from([2**64 - 1, 2**63, 2**32])))
        return _tag(number, 0) + _varint(value)
    if type_ == "double":
        return _tag(number, 1) + struct.pack("<d", draw(st.floats()))
    if type_ == "float":
        return _tag(number, 5) + struct.pack("<f", draw(st.floats(width=32)))
    text = draw(st.one_of(STRINGS.map(lambda s: s.encode(errors="surrogatepass")),
                          st.binary(max_size=8)))
    return _len(number, text)


def _pb_builtin(type_: str, depth: int) -> st.SearchStrategy[bytes]:
    if type_ in ("Time", "MicroTime"):
        return st.builds(lambda s, n: _tag(1, 0) + _varint(s) + _tag(2, 0) + _varint(n),
                         st.one_of(st.integers(-(2**40), 2**40), st.just(2**63 - 1)),
                         st.integers(-(10**10), 10**10))
    if type_ == "Quantity":
        return STRINGS.map(lambda s: _len(1, s.encode(errors="surrogatepass")))
    if type_ == "IntOrString":
        return st.builds(lambda t, i, s: _tag(1, 0) + _varint(t) + _tag(2, 0) + _varint(i) +
                         _len(3, s.encode(errors="surrogatepass")),
                         st.integers(0, 3), INTS, STRINGS)
    # RawExtension / FieldsV1: JSON text, or more protobuf nested inside (kube's RawExtension
    # carries bytes that may themselves be an object).
    return st.one_of(json_values(4).map(lambda v: _len(1, json.dumps(v).encode())),
                     st.binary(max_size=16).map(lambda b: _len(1, b)),
                     st.integers(1, 400).map(_nested_raw))


def _nested_raw(times: int) -> bytes:
    inner = b"{}"
    for _ in range(times):
        inner = _len(1, inner)
    return _len(1, inner)


@st.composite
def _pb_field(draw: st.DrawFn, number: int, f: Field, depth: int) -> bytes:
    if draw(st.integers(0, 15)) == 0:  # the wrong wire type for this field
        return _tag(number, draw(st.sampled_from([0, 1, 2, 5]))) + draw(st.binary(max_size=9))
    if f.type in MESSAGES:
        element = pb_message(f.type, depth + 1).map(lambda b: _len(number, b))
    elif f.type in _WIRE or f.type in ("string", "bytes"):
        element = _pb_scalar(f.type, number)
    else:
        element = _pb_builtin(f.type, depth).map(lambda b: _len(number, b))
    if f.label == "map":
        key = STRINGS.map(lambda s: _len(1, s.encode(errors="surrogatepass")))
        if f.type in MESSAGES:
            value = pb_message(f.type, depth + 1).map(lambda b: _len(2, b))
        elif f.type in _WIRE or f.type in ("string", "bytes"):
            value = _pb_scalar(f.type, 2)
        else:
            value = _pb_builtin(f.type, depth).map(lambda b: _len(2, b))
        element = st.builds(lambda k, v: _len(number, k + v), key, value)
    count = draw(st.integers(1, 2)) if f.label else 1
    return b"".join(draw(element) for _ in range(count))


@functools.cache
def pb_message(message: str, depth: int = 0) -> st.SearchStrategy[bytes]:
    """A protobuf encoding of `message`, mostly well-typed, some fields not."""
    if depth > 4:
        return st.just(b"")
    numbered = sorted(MESSAGES[message].items())
    fields = st.lists(st.sampled_from(numbered), max_size=4, unique_by=lambda nf: nf[0])
    return fields.flatmap(lambda chosen: st.tuples(
        *[_pb_field(n, f, depth) for n, f in chosen])
        ).map(b"".join)


@st.composite
def protobuf_body(draw: st.DrawFn, api_version: str, kind: str, message: str | None) -> bytes:
    """`k8s\\0` + runtime.Unknown{typeMeta, raw, contentEncoding}, sometimes cut short,
    with another kind, or with a content encoding."""
    raw = draw(pb_message(message)) if message else draw(st.binary(max_size=32))
    type_meta = _len(1, api_version.encode()) + _len(2, kind.encode())
    if draw(st.integers(0, 5)) == 0:
        type_meta = _len(1, b"v1") + _len(2, draw(st.sampled_from(
            [b"Status", b"DeleteOptions", b"Nope", b"\xff"])))
    envelope = _len(1, type_meta) + _len(2, raw)
    if draw(st.integers(0, 8)) == 0:
        envelope += _len(3, b"gzip")
    data = MAGIC + envelope
    cut = draw(st.integers(0, 6))
    if cut == 0:
        data = data[:draw(st.integers(0, len(data)))]
    elif cut == 1:
        data = data[:len(MAGIC)] + draw(st.binary(min_size=1, max_size=24))
    return data


# --- whole bodies ---------------------------------------------------------------------------

CONTENT_TYPES = st.sampled_from([
    JSON_TYPE, YAML_TYPE, MEDIA_TYPE, "text/plain", "application/json;charset=utf-16", "",
    "application/octet-stream", "multipart/form-data; boundary=x", "application/x-yaml",
    "application/json-patch+json", "application/cbor", None])
ENCODINGS = st.sampled_from(["gzip", "deflate", "br", "x-unknown", "gzip, gzip", "identity"])


@st.composite
def encoded(draw: st.DrawFn, value: JSON, *, api_version: str = "v1", kind: str = "",
            message: str | None = None, yaml_type: str = YAML_TYPE,
            json_type: str = JSON_TYPE) -> Body:
    """`value` in one of the encodings a client may send, now and then wrongly labelled or
    wrongly compressed."""
    how = draw(st.sampled_from(["json"] * 6 + ["yaml"] * 3 + [
        "protobuf", "garbage", "mislabelled", "gzip", "json-beyond", "huge"]))
    if how == "json":
        return Body(json_text(value), json_type)
    if how == "yaml":
        return Body(draw(yaml_text(value)), yaml_type)
    if how == "protobuf":
        return Body(draw(protobuf_body(api_version, kind, message)), MEDIA_TYPE)
    if how == "garbage":
        data = draw(st.one_of(st.binary(max_size=64), st.just(json_text(value)[:-1]),
                              st.just(b"\xef\xbb\xbf" + json_text(value)),
                              st.just(json_text(value) + b"garbage"),
                              st.just(b"\xff\xfe" + json_text(value).decode().encode(
                                  "utf-16-le"))))
        return Body(data, draw(CONTENT_TYPES))
    if how == "json-beyond":  # what no JSON encoder writes: NaN, deep text, huge numbers
        text = json_text(value)
        return Body(draw(st.sampled_from([
            text.replace(b"1", b"NaN", 1), text.replace(b"0", b"-Infinity", 1),
            text.replace(b"1", b"1e999", 1), text.replace(b"1", b"9" * 500, 1),
            b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 5000 + b"1" + b"}" * 5000,
            text.replace(b'"', b"'"), text + b"\n" + text])), json_type)
    if how == "huge":  # past the store's 1.5 MiB limit, or the 3 MiB body limit
        size = draw(st.sampled_from([1_600_000, 3 * 1024 * 1024 + 1]))
        big = value if isinstance(value, dict) else {"value": value}
        meta = big.get("metadata") if isinstance(big.get("metadata"), dict) else {}
        return Body(json_text({**big, "metadata": {**meta, "annotations": {"a": "x" * size}}}),
                    json_type)
    if how == "mislabelled":
        return Body(json_text(value), draw(CONTENT_TYPES))
    data = json_text(value)
    choice = draw(st.integers(0, 3))
    if choice == 0:
        data = gzip.compress(data)
    elif choice == 1:
        data = gzip.compress(data)[:draw(st.integers(0, 30))]
    elif choice == 2:
        data = b"\x1f\x8b" + draw(st.binary(max_size=20))
    return Body(data, json_type, {"Content-Encoding": draw(ENCODINGS)})


# --- whole requests as bytes -----------------------------------------------------------------

_RAW_REQUESTS = st.sampled_from([
    b"GET /api HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    b"GET /api HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"POST /api/v1/namespaces/default/pods HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
    b"Content-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nContent-Length: 99\r\n"
    b"Content-Type: application/json\r\n\r\n{}",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n",
    b"GET /api HTTP/1.1\r\nX: " + b"y" * 10_000 + b"\r\n\r\n",
    b"GET /api/v1/namespaces/default/pods HTTP/1.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\n\r\n",
    b"POST /api/v1/namespaces/default/pods HTTP/1.1\r\nExpect: 100-continue\r\n"
    b"Content-Length: 2\r\n\r\n{}",
    b"GET /api HTTP/9.9\r\n\r\n", b"GET\r\n\r\n", b"\r\n\r\n", b"GET /api HTTP/1.0\r\n\r\n",
    b"GET /api HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
])


@st.composite
def raw_http(draw: st.DrawFn) -> bytes:
    base = draw(_RAW_REQUESTS)
    cut = draw(st.integers(0, 3))
    if cut == 0:
        return base[:draw(st.integers(1, len(base)))]
    if cut == 1:
        return base + draw(st.binary(max_size=32))
    return base
