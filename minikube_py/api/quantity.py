"""Kubernetes resource quantities ("100m", "1Gi", "2e3") as exact fractions."""

from __future__ import annotations

import functools
import math
import re
from fractions import Fraction

_SUFFIX: dict[str, Fraction] = {
    "": Fraction(1), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
    "Ki": Fraction(2**10), "Mi": Fraction(2**20), "Gi": Fraction(2**30), "Ti": Fraction(2**40),
    "Pi": Fraction(2**50), "Ei": Fraction(2**60),
}
_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$")


QUANTITY_MESSAGE = ("quantities must match the regular expression "
                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
# Far beyond any real amount; a bound keeps "1e999999999" from taking minutes to evaluate
# and a 5,000-digit number within what Python converts (kube's int64/inf.Dec limits differ).
_MAX_EXPONENT = 1000
_MAX_DIGITS = 1000


class QuantityError(ValueError):
    pass


def parse_quantity(value: str | int | float) -> Fraction:
    """The exact value of a quantity; raises QuantityError when it is not one."""
    if isinstance(value, bool):
        raise QuantityError(f"quantities must match the regular expression: {value!r}")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise QuantityError(f"quantity {value} is not a finite number")
        return Fraction(value)
    return _parse_text(value)


# Every pod of a template repeats the same few strings ("100m", "64Mi"): parse each once.
@functools.lru_cache(maxsize=4096)
def _parse_text(value: str) -> Fraction:
    m = _RE.match(value.strip())
    if not m:
        raise QuantityError(QUANTITY_MESSAGE)
    if len(m.group(1)) > _MAX_DIGITS:
        raise QuantityError("quantity has too many digits")
    number = Fraction(m.group(1))
    if m.group(2):
        exponent = m.group(2)[1:]
        if len(exponent.lstrip("+-0")) > len(str(_MAX_EXPONENT)) or \
                abs(int(exponent)) > _MAX_EXPONENT:
            raise QuantityError("quantity's exponent is out of range")
        return number * Fraction(10) ** int(exponent)
    return number * _SUFFIX[m.group(3) or ""]


def is_quantity(value: object) -> bool:
    try:
        parse_quantity(value)  # type: ignore[arg-type]
    except (QuantityError, TypeError):
        return False
    return True


# The same few quantity strings ("100m", "64Mi") come back for every pod: remember them.
@functools.lru_cache(maxsize=4096)
def milli_cpu(value: str | int | float) -> int:
    """CPU in millicores, rounded up like resource.Quantity.MilliValue()."""
    return math.ceil(parse_quantity(value) * 1000)


@functools.lru_cache(maxsize=4096)
def bytes_value(value: str | int | float) -> int:
    """An amount (memory, storage) in whole units, rounded up like resource.Quantity.Value()."""
    return math.ceil(parse_quantity(value))


_DECIMAL_SUFFIXES = ((18, "E"), (15, "P"), (12, "T"), (9, "G"), (6, "M"), (3, "k"), (0, ""),
                     (-3, "m"), (-6, "u"), (-9, "n"))
_BINARY_SUFFIXES = ((60, "Ei"), (50, "Pi"), (40, "Ti"), (30, "Gi"), (20, "Mi"), (10, "Ki"))


def format_quantity(value: Fraction, binary: bool = False) -> str:
    """resource.Quantity's canonical text: the largest suffix that keeps the number whole
    ("1500m", "2", "1k"); with `binary` (BinarySI) a power of 1024 where one divides the
    amount ("128Mi"), else the decimal form, as Go falls back. Below a nanounit, rounded up
    to one, as Go's Quantity would."""
    if value == 0:
        return "0"
    sign, value = ("-", -value) if value < 0 else ("", value)
    if binary and value.denominator == 1:
        for shift, suffix in _BINARY_SUFFIXES:
            if value.numerator % (1 << shift) == 0:
                return f"{sign}{value.numerator >> shift}{suffix}"
        if value.numerator < 1024:
            return f"{sign}{value.numerator}"
    for exponent, suffix in _DECIMAL_SUFFIXES:
        scaled = value / Fraction(10) ** exponent
        if scaled.denominator == 1:
            return f"{sign}{scaled.numerator}{suffix}"
    return f"{sign}{math.ceil(value * 10**9)}n"
