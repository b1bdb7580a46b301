"""JSON as kube's decoders read it: plain values, integers that fit Go's, no NaN, lone
surrogates made U+FFFD, and nesting at most MAX_DEPTH deep (checked without recursion)."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

MAX_DEPTH: Final = 100  # far beyond any built-in kind; deep enough for CRD schemas
INT64: Final = (-(2**63), 2**64 - 1)  # what Go's decoders keep as an integer
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATES = re.compile("[\ud800-\udfff]")


class DecodeError(ValueError):
    """The body is not what its content type says, or beyond what the API takes."""


def _parse_int(text: str) -> int | float:
    if len(text) < 19:
        return int(text)
    if len(text) > 400:
        raise DecodeError(f"number {text[:20]}... is out of range")
    value = int(text)
    if INT64[0] <= value <= INT64[1]:
        return value
    return float(value)  # as Go's decoders make of a number too large for an int64


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise DecodeError(f"number {text[:20]} is out of range")
    return value


def _refuse_constant(name: str) -> Any:
    raise DecodeError(f"invalid character '{name[0]}' looking for beginning of value")


def decode_json(raw: bytes) -> Any:
    try:
        value = json.loads(raw, parse_int=_parse_int, parse_float=_parse_float,
                           parse_constant=_refuse_constant)
    except RecursionError:
        raise DecodeError(f"nesting deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError as e:
        raise DecodeError(f"invalid UTF-8: {e.reason}") from None
    except DecodeError:
        raise
    except ValueError as e:
        raise DecodeError(str(e).splitlines()[0]) from None
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH:
        check_depth(value)
    if _SURROGATE_ESCAPE.search(raw):
        value = _replace_surrogates(value)
    return value


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """DecodeError when containers nest deeper than `limit` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise DecodeError(f"nesting deeper than {limit} levels")
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


def fix_surrogates(text: str) -> str:
    return _SURROGATES.sub("\ufffd", text)


def _replace_surrogates(value: Any) -> Any:
    """Lone UTF-16 surrogates become U+FFFD, as Go's JSON decoder makes them."""
    if isinstance(value, str):
        return fix_surrogates(value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {fix_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value
