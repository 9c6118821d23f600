"""IEEE 11073-20601 SFLOAT: decode vectors, specials, most-precision encoding, round trips."""

import decimal
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import UnencodableValue
from devices.gatt import (
    SFLOAT_NAN,
    SFLOAT_NEGATIVE_INFINITY,
    SFLOAT_NRES,
    SFLOAT_POSITIVE_INFINITY,
    SFLOAT_RESERVED,
    decode_sfloat,
    encode_sfloat,
)

LARGEST = 2047 * 10**7


def split(word: int) -> tuple[int, int]:
    """(mantissa, exponent) of an SFLOAT word, both signed."""
    mantissa = word & 0x0FFF
    exponent = word >> 12
    return mantissa - 0x1000 * (mantissa > 0x07FF), exponent - 0x10 * (exponent > 7)


@pytest.mark.parametrize(
    ("little_endian", "value"),
    [
        # The gatt-reference example: 189 x 10^-1 kPa. A known buggy library reads 1.89e9.
        (b"\xbd\xf0", 18.9),
        (b"\x00\x00", 0.0),
        (b"\x01\x00", 1.0),
        (b"\xfd\x0f", -3.0),  # mantissa 0xFFD = -3
        (b"\xfd\x07", 2045.0),  # largest mantissa at exponent 0 that is not special
        (b"\x03\x08", -2045.0),
        (b"\x01\x10", 10.0),  # exponent +1
        (b"\xff\x77", 20_470_000_000.0),  # 2047 x 10^7, the largest SFLOAT
        (b"\x01\x80", 1e-8),  # exponent -8
        (b"\x00\x88", -2.048e-05),  # -2048 x 10^-8, the most negative mantissa
        (b"\xff\xf7", 204.7),  # mantissa 0x7FF is only NaN with exponent 0
        (b"\x00\xf8", -204.8),
        (b"\x8a\x00", 138.0),  # Nordic BPM vectors below
        (b"\x9f\xf0", 15.9),
        (b"\x6f\xf0", 11.1),
        (b"\xd7\xf0", 21.5),
    ],
)
def test_decode_vectors(little_endian, value):
    assert decode_sfloat(int.from_bytes(little_endian, "little")) == value


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        (0x07FF, math.nan),
        (0x0800, math.nan),  # NRes
        (0x0801, math.nan),  # reserved
        (0x07FE, math.inf),
        (0x0802, -math.inf),
    ],
)
def test_decode_specials(word, expected):
    decoded = decode_sfloat(word)
    if math.isnan(expected):
        # The singleton itself, so decoded objects holding NaN compare equal.
        assert decoded is math.nan  # noqa: PLW0177
    else:
        assert decoded == expected


def test_special_constants():
    assert (SFLOAT_NAN, SFLOAT_NRES, SFLOAT_RESERVED) == (0x07FF, 0x0800, 0x0801)
    assert (SFLOAT_POSITIVE_INFINITY, SFLOAT_NEGATIVE_INFINITY) == (0x07FE, 0x0802)


@pytest.mark.parametrize("word", [-1, 0x10000])
def test_decode_rejects_words_outside_16_bits(word):
    with pytest.raises(ValueError, match="16-bit"):
        decode_sfloat(word)


@pytest.mark.parametrize(
    ("value", "word"),
    [
        (18.9, 0xE762),  # 1890 x 10^-2: the most precision that fits
        (0.0, 0x0000),
        (-0.0, 0x0000),
        (1, 0xD3E8),  # 1000 x 10^-3
        (138.0, 0xF564),  # 1380 x 10^-1
        (3.14159, 0xE13A),  # rounded to 314 x 10^-2
        (-20.48, 0xE800),  # mantissa -2048 is fine with exponent -2
        (20.475, 0xF0CD),  # 2047.5 rounds to 2048 at 10^-2, so 205 x 10^-1
        (2046, 0x10CD),  # 2046 x 10^0 would be +inf: 205 x 10^1 instead
        (2047, 0x10CD),  # ... and NaN
        (-2048, 0x1F33),  # ... and NRes: -205 x 10^1
        (LARGEST, 0x77FF),
        (1e-10, 0x0000),  # below 1 x 10^-8 rounds to zero
        (5e-324, 0x0000),
        (math.nan, 0x07FF),
        (math.inf, 0x07FE),
        (-math.inf, 0x0802),
        (Fraction(1, 3), 0xD14D),  # any real number: 333 x 10^-3
        (np.float32(18.9), 0xE762),  # float32 18.9 is 18.8999996..., rounds back
    ],
)
def test_encode_vectors(value, word):
    assert encode_sfloat(value) == word


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (20_475_000_000.0, "too large"),
        (-3e10, "too large"),
        (1e300, "too large"),
        (10**400, "too large"),  # does not even fit a float
        ("18.9", "expected a number"),
        (True, "expected a number"),
        (None, "expected a number"),
    ],
)
def test_encode_rejects(value, reason):
    with pytest.raises(UnencodableValue, match=reason) as caught:
        encode_sfloat(value)
    assert caught.value.field == "SFLOAT"
    assert caught.value.value is value


def test_encode_ignores_the_callers_decimal_context():
    with decimal.localcontext(prec=2, rounding=decimal.ROUND_DOWN):
        assert encode_sfloat(20.475) == 0xF0CD


def test_every_word_survives_decode_encode_decode():
    for word in range(0x10000):
        value = decode_sfloat(word)
        again = decode_sfloat(encode_sfloat(value))
        assert again == value or (math.isnan(again) and math.isnan(value)), hex(word)


@settings(database=None)
@given(st.floats(min_value=-LARGEST, max_value=LARGEST, allow_nan=False))
def test_encode_keeps_the_most_precision_that_fits(value):
    word = encode_sfloat(value)
    mantissa, exponent = split(word)
    # Rounded to the nearest step of the chosen exponent...
    assert abs(decode_sfloat(word) - value) <= 0.5 * 10.0**exponent * (1 + 1e-9)
    # ... and that exponent is the smallest possible: one step finer would not fit, so the
    # mantissa uses at least 205 of its 2047 steps (2047.5 / 10 rounded).
    assert exponent == -8 or mantissa == 0 or abs(mantissa) >= 205
