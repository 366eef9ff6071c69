"""One rule reads an id from text, wherever it comes from."""

import pytest

from core.ids import id_parse


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), (" 42 ", 42), (42, 42), ("007", 7), ("9" * 18, int("9" * 18)), ("0", 0)],
)
def test_ascii_digits_that_fit_a_bigint_are_an_id(value, expected):
    assert id_parse(value) == expected


@pytest.mark.parametrize(
    "value", ["", " ", "12a", "+5", "-5", "1_000", "1.0", "²", "١٢", "9" * 19, None, True, 4.0, -3, "4\x00"]
)
def test_anything_else_is_not_an_id(value):
    assert id_parse(value) is None
