"""What a Pod Security check answers, and the wording helpers every check shares (kube's
CheckResult, AggregateCheckResult, visitContainers, joinQuote and pluralize)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

Obj = Mapping[str, Any]
UNKNOWN_REASON: Final = "unknown forbidden reason"
_GO_ESCAPES: Final = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r",
                      "\t": r"\t", "\v": r"\v", "\\": r"\\", '"': r"\""}


@dataclass(frozen=True, slots=True)
class CheckResult:
    allowed: bool
    reason: str = ""  # what is forbidden, e.g. "host namespaces"
    detail: str = ""  # where, e.g. "hostNetwork=true"


ALLOWED: Final = CheckResult(True)


def forbidden(reason: str, detail: str) -> CheckResult:
    return CheckResult(False, reason, detail)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Every failed check of one evaluation, in check order."""

    failures: tuple[CheckResult, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.failures

    @property
    def reasons(self) -> str:
        """The reasons alone, e.g. "host namespaces, privileged"."""
        return ", ".join(f.reason or UNKNOWN_REASON for f in self.failures)

    @property
    def details(self) -> str:
        """The reasons with their details, e.g. "host namespaces (hostNetwork=true), ..."."""
        return ", ".join(f"{f.reason or UNKNOWN_REASON} ({f.detail})" if f.detail
                         else f.reason or UNKNOWN_REASON for f in self.failures)


def aggregate(results: Iterable[CheckResult]) -> Aggregate:
    return Aggregate(tuple(r for r in results if not r.allowed))


# --- reading a pod spec (decoded JSON, already validated: absent and null are alike) -------

def mapping(value: Any) -> Obj:
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def containers(spec: Obj) -> Iterator[Obj]:
    """Init containers, containers, then ephemeral containers (kube's visitContainers)."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from items(spec.get(key))


def security_context(container: Obj) -> Obj | None:
    sc = container.get("securityContext")
    return sc if isinstance(sc, Mapping) else None


def text(value: Any) -> str:
    """A string field's value ("" when unset)."""
    return value if isinstance(value, str) else ""


def name_of(container: Obj) -> str:
    return text(container.get("name"))


def is_windows(spec: Obj) -> bool:
    return mapping(spec.get("os")).get("name") == "windows"


def is_zero(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value == 0


# --- wording -------------------------------------------------------------------------------

def join_quote(values: Iterable[str]) -> str:
    values = list(values)
    return '"' + '", "'.join(values) + '"' if values else ""


def pluralize(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def containers_phrase(names: list[str]) -> str:
    """e.g. 'container "a"' or 'containers "a", "b"'."""
    return f'{pluralize("container", "containers", len(names))} {join_quote(names)}'


def go_quote(text: str) -> str:
    """A string as Go's %q prints it (how kube quotes annotation values)."""
    out = ['"']
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)
