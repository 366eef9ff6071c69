from decimal import Decimal

import pytest

from core.money import ROUND_UP, money_parse, money_round, order_charge, partial_refund


def test_money_round_keeps_five_places_half_up():
    assert money_round(Decimal("0.123455")) == Decimal("0.12346")
    assert money_round(Decimal("0.123454")) == Decimal("0.12345")


def test_money_round_up_never_loses_a_fraction():
    assert money_round(Decimal("0.000001"), rounding=ROUND_UP) == Decimal("0.00001")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0.27819", "0.27819"), (2.5, "2.5"), (7, "7"), (" 100.84292 ", "100.84292"), ("1.2600", "1.26")],
)
def test_money_parse_reads_strings_numbers_and_floats_exactly(raw, expected):
    assert money_parse(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", ["", "abc", "NaN", "Infinity", None, True, "1e30", [1]])
def test_money_parse_refuses_what_is_not_an_amount(raw):
    with pytest.raises(ValueError):
        money_parse(raw)


def test_an_order_costs_rate_per_thousand_times_quantity_times_runs():
    assert order_charge(rate=Decimal("0.90"), quantity=1000) == Decimal("0.9")
    assert order_charge(rate=Decimal("0.90"), quantity=155) == Decimal("0.1395")
    assert order_charge(rate=Decimal("1.23457"), quantity=3, runs=4) == Decimal("0.01481")


def test_a_partial_refund_is_the_charge_share_of_the_remains():
    assert partial_refund(charge=Decimal("0.27819"), remains=157, quantity=1000) == Decimal("0.04368")
    assert partial_refund(charge=Decimal("1"), remains=0, quantity=10) == Decimal("0")
    assert partial_refund(charge=Decimal("1"), remains=-2, quantity=10) == Decimal("0")
    assert partial_refund(charge=Decimal("1"), remains=15, quantity=10) == Decimal("1")


@pytest.mark.parametrize("text", ["1e999999999", "-1E+999999999", "1E+15", "99999999999999999999", "1" * 24])
def test_money_parse_refuses_amounts_too_large_for_the_column_as_a_value_error(text):
    with pytest.raises(ValueError, match="too large"):
        money_parse(text)


def test_money_parse_rounds_a_tiny_exponent_to_zero():
    assert money_parse("1e-999999999") == Decimal("0")
