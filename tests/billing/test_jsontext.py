"""Re-encoding bodies exactly as the gateways did before signing them."""

import pytest

from billing.gateways.jsontext import dumps_js_sorted, dumps_php, json_text_field, loads_raw


def test_php_encoding_escapes_slashes_keeps_unicode_and_numbers_as_written():
    body = '{"url":"https:\\/\\/pay.example\\/x","name":"Café\u2028","amount":10.50,"n":7,"ok":true,"none":null}'
    assert dumps_php(loads_raw(body)) == (
        '{"url":"https:\\/\\/pay.example\\/x","name":"Café\\u2028","amount":10.50,"n":7,"ok":true,"none":null}'
    )


def test_javascript_encoding_sorts_keys_at_every_depth_and_keeps_slashes():
    body = '{"b":1,"a":{"z":"x/y","c":[{"y":2,"x":1.50}]}}'
    assert dumps_js_sorted(loads_raw(body)) == '{"a":{"c":[{"x":1.50,"y":2}],"z":"x/y"},"b":1}'


def test_loads_raw_refuses_non_json_constants():
    import pytest

    with pytest.raises(ValueError):
        loads_raw('{"a": NaN}')


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"order_id": "dep_1", "x": 1}', "dep_1"),
        (b'{"order_id": 5}', None),
        (b'["order_id"]', None),
        (b"not json", None),
        (b"[" * 100_000, None),
    ],
)
def test_a_notifications_reference_is_a_text_field_of_a_json_object_or_nothing(body, expected):
    assert json_text_field(body, "order_id") == expected
