"""The decode stage: request bytes to plain JSON values, refusing what kube's decoders refuse.

Whatever the content type (JSON, YAML, Kubernetes protobuf), the result is made only of
dict, list, str, int, float, bool and None, nested at most MAX_DEPTH deep, with every
string valid Unicode: so no later stage (patching, typing, validation, storage) can meet a
value it cannot handle. Every refusal is a 400 BadRequest (415 for an unknown media type).
"""

from __future__ import annotations

import math
from typing import Any, Final

import yaml

from minikube_py.api import errors
from minikube_py.api.errors import ApiError
from minikube_py.apiserver import protobuf
from minikube_py.apiserver.jsonvalues import (
    INT64,
    MAX_DEPTH,
    DecodeError,
    decode_json,
    fix_surrogates,
)

JSON_TYPES: Final = ("application/json",)
PATCH_TYPES: Final = ("application/json-patch+json", "application/merge-patch+json",
                      "application/strategic-merge-patch+json", "application/apply-patch+yaml")
YAML_TYPES: Final = ("application/yaml", "application/apply-patch+yaml")


def decode_body(raw: bytes, content_type: str, *, message_for: protobuf.MessageFor) -> Any:
    """A request body as plain JSON values; None for an empty body."""
    try:
        if content_type == protobuf.MEDIA_TYPE:
            return protobuf.decode_object(raw, message_for, max_depth=MAX_DEPTH) if raw else None
        if not raw:
            return None
        if content_type in YAML_TYPES or content_type.endswith("yaml"):
            return decode_yaml(raw)
        if content_type in JSON_TYPES or content_type in PATCH_TYPES or \
                content_type.endswith("json"):
            return decode_json(raw)
    except protobuf.UnsupportedKindError as e:
        raise ApiError(415, "UnsupportedMediaType", str(e)) from None
    except (DecodeError, protobuf.ProtobufDecodeError) as e:
        raise errors.bad_request(f"error decoding request body: {e}") from None
    raise errors.unsupported_media_type(content_type)


# --- YAML ------------------------------------------------------------------------------


_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it


class _JsonCompatibleLoader(_SafeLoader):  # type: ignore[misc]
    """YAML 1.1 as sigs.k8s.io/yaml reads it on its way to JSON: timestamps stay strings,
    !!binary stays its base64 text, a !!set is a mapping of nulls."""


def _binary_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return "".join(str(loader.construct_scalar(node)).split())  # type: ignore[arg-type]


def _set_as_mapping(loader: yaml.SafeLoader, node: yaml.Node) -> dict[Any, Any]:
    return loader.construct_mapping(node)  # type: ignore[arg-type]


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


def _int_or_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if len(text.replace("_", "")) > 400:
        raise DecodeError(f"number {text[:20]}... is out of range")
    return loader.construct_yaml_int(node)  # type: ignore[arg-type]


def _bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    # YAML 1.1's booleans; an explicit !!bool tag on anything else is an error, not a crash.
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    value = loader.bool_values.get(text.lower())
    if value is None:
        raise DecodeError(f"cannot decode {text[:40]!r} as a !!bool")
    return bool(value)


_JsonCompatibleLoader.add_constructor("tag:yaml.org,2002:binary", _binary_as_text)
_JsonCompatibleLoader.add_constructor("tag:yaml.org,2002:bool", _bool)
_JsonCompatibleLoader.add_constructor("tag:yaml.org,2002:set", _set_as_mapping)
_JsonCompatibleLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
_JsonCompatibleLoader.add_constructor("tag:yaml.org,2002:int", _int_or_text)


def decode_yaml(raw: bytes) -> Any:
    try:
        loaded = yaml.load(raw, Loader=_JsonCompatibleLoader)
    except RecursionError:
        raise DecodeError(f"nesting deeper than {MAX_DEPTH} levels") from None
    except yaml.YAMLError as e:
        raise DecodeError(str(e).splitlines()[0]) from None
    except (ValueError, TypeError) as e:
        raise DecodeError(str(e).splitlines()[0]) from None
    # Aliases are shared references in the loaded tree: copying it expands them, so a
    # budget on the copy's size stops an alias bomb (a few hundred bytes that expand to
    # gigabytes), and the copy shares nothing (an alias used twice is two values).
    budget = [len(raw) // 2 + 1000]
    return _to_json(loaded, 1, budget)


def _to_json(value: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise errors.bad_request("error decoding request body: the YAML expands to far more "
                                 "than its size (aliases)")
    if depth > MAX_DEPTH:
        raise errors.bad_request(f"error decoding request body: nesting deeper than "
                                 f"{MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            return float(value)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise errors.bad_request("error decoding request body: json: unsupported value: "
                                     f"{value}")
        return value
    if isinstance(value, str):
        return fix_surrogates(value)
    if isinstance(value, bytes):  # a tag we left to the safe loader
        raise errors.bad_request("error decoding request body: binary values are not JSON")
    if isinstance(value, list):
        return [_to_json(v, depth + 1, budget) for v in value]
    if isinstance(value, dict):
        return {_json_key(k): _to_json(v, depth + 1, budget) for k, v in value.items()}
    raise errors.bad_request(f"error decoding request body: {type(value).__name__} values "
                             "are not JSON")


def _json_key(key: Any) -> str:
    """Mapping keys as sigs.k8s.io/yaml writes them into JSON: scalars as their text."""
    if isinstance(key, str):
        return fix_surrogates(key)
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, int | float):
        return str(key)
    raise errors.bad_request("error decoding request body: a mapping key must be a scalar")
