"""IEEE 11073-20601 16-bit SFLOAT, the number format of the health-device characteristics.

Layout of the 16-bit word: the low 12 bits are a two's-complement mantissa (-2048..2047), the
high 4 bits a two's-complement exponent (-8..7); value = mantissa x 10**exponent. Five whole
words are reserved (exponent 0): 0x07FF NaN, 0x0800 NRes (not at this resolution), 0x0801
reserved, 0x07FE +infinity, 0x0802 -infinity. Every other word, including mantissa 0x7FF with a
non-zero exponent, is an ordinary number.

Decoding returns the `math.nan` object itself for NaN, NRes and reserved, so decoded objects
holding NaN compare equal to objects built with `math.nan` (tuple equality checks identity
first); use `math.isnan` anywhere else.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Context, Decimal
from numbers import Real
from types import MappingProxyType
from typing import Final

from devices.errors import UnencodableValue
from devices.gatt._wire import Codec, FieldError

SFLOAT_NAN: Final = 0x07FF
SFLOAT_NRES: Final = 0x0800
SFLOAT_RESERVED: Final = 0x0801
SFLOAT_POSITIVE_INFINITY: Final = 0x07FE
SFLOAT_NEGATIVE_INFINITY: Final = 0x0802

_SPECIAL_VALUES: Final = MappingProxyType(
    {
        SFLOAT_NAN: math.nan,
        SFLOAT_NRES: math.nan,
        SFLOAT_RESERVED: math.nan,
        SFLOAT_POSITIVE_INFINITY: math.inf,
        SFLOAT_NEGATIVE_INFINITY: -math.inf,
    }
)
_MANTISSA_MIN: Final = -2048
_MANTISSA_MAX: Final = 2047
# Smallest exponent first: the first one whose mantissa fits gives the most precision.
_EXPONENTS: Final = range(-8, 8)
_POWERS_OF_TEN: Final[tuple[int, ...]] = tuple(10**power for power in range(9))
# Our own context, so a caller's decimal.getcontext() settings cannot change the result.
_DECIMAL_CONTEXT: Final = Context(prec=40, rounding=ROUND_HALF_EVEN)


def decode_sfloat(raw: int) -> float:
    """Decode a 16-bit SFLOAT word (an unsigned int as read little-endian from the payload).

    >>> decode_sfloat(0xF0BD)  # bytes BD F0: 189 x 10**-1
    18.9
    """
    if not 0 <= raw <= 0xFFFF:
        msg = f"an SFLOAT is a 16-bit word 0..0xFFFF, got {raw!r}"
        raise ValueError(msg)
    special = _SPECIAL_VALUES.get(raw)
    if special is not None:
        return special
    mantissa = raw & 0x0FFF
    if mantissa > _MANTISSA_MAX:
        mantissa -= 0x1000
    exponent = raw >> 12
    if exponent > max(_EXPONENTS):
        exponent -= 0x10
    if exponent >= 0:
        return float(mantissa * _POWERS_OF_TEN[exponent])
    # Dividing two exact integers rounds once, to the float nearest the decimal value
    # (189 / 10 == 18.9, whereas 189 * 0.1 == 18.900000000000002).
    return mantissa / _POWERS_OF_TEN[-exponent]


def sfloat_word(value: object) -> int:
    """`encode_sfloat` for the field codecs: raises `FieldError` with the reason."""
    if isinstance(value, bool) or not isinstance(value, Real):
        msg = f"expected a number, got {type(value).__name__}"
        raise FieldError(msg)
    try:
        number = float(value)
    except OverflowError:
        msg = "too large for an SFLOAT (largest is 2047e7)"
        raise FieldError(msg) from None
    if math.isnan(number):
        return SFLOAT_NAN
    if math.isinf(number):
        return SFLOAT_POSITIVE_INFINITY if number > 0 else SFLOAT_NEGATIVE_INFINITY
    # The shortest decimal that reads back as this float: 18.9, not 18.89999999999999857891.
    decimal = Decimal(repr(number))
    for exponent in _EXPONENTS:
        scaled = decimal.scaleb(-exponent, context=_DECIMAL_CONTEXT)
        mantissa = int(scaled.to_integral_value(context=_DECIMAL_CONTEXT))
        if mantissa == 0:
            return 0x0000
        if not _MANTISSA_MIN <= mantissa <= _MANTISSA_MAX:
            continue
        word = ((exponent & 0xF) << 12) | (mantissa & 0x0FFF)
        if word not in _SPECIAL_VALUES:
            return word
    msg = "magnitude too large for an SFLOAT (largest is 2047e7)"
    raise FieldError(msg)


def encode_sfloat(value: float) -> int:
    """Encode a number as a 16-bit SFLOAT word, with the most precision that fits.

    Chooses the smallest exponent whose mantissa, rounded half-to-even, fits -2048..2047 and
    does not collide with a reserved word, so 18.9 becomes 1890 x 10**-2 (0xE762). Values too
    small for 1 x 10**-8 become 0. NaN -> 0x07FF, +inf -> 0x07FE, -inf -> 0x0802.

    Raises:
        UnencodableValue: for a magnitude above 2047 x 10**7, or something that is not a number.
    """
    try:
        return sfloat_word(value)
    except FieldError as exc:
        raise UnencodableValue("SFLOAT", value, str(exc)) from None


SFLOAT: Final[Codec[float]] = Codec(
    size=2,
    decode=lambda raw: decode_sfloat(int.from_bytes(raw, "little")),
    encode=lambda value: sfloat_word(value).to_bytes(2, "little"),
)
"""A payload field holding one SFLOAT."""
