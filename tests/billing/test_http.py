"""The one HTTP helper for gateways: timeouts, no redirects, typed errors, secrets kept out of messages."""

import pytest
import requests
import responses

from billing.errors import GatewayBadResponse, GatewayRefused, GatewayUnreachable
from billing.http import MAX_BODY_BYTES, gateway_request

URL = "https://gateway.test/v1/thing"


def test_it_sends_the_body_bytes_untouched_with_the_configured_timeouts(gateway_http, settings):
    settings.PAYMENT_CONNECT_TIMEOUT, settings.PAYMENT_READ_TIMEOUT = 2.0, 7.0
    gateway_http.add(responses.POST, URL, json={"ok": True})
    answer = gateway_request("POST", URL, body=b'{"a":"b\\/c"}', headers={"sign": "x"})
    call = gateway_http.calls[0]
    assert (call.request.body, call.request.headers["sign"]) == (b'{"a":"b\\/c"}', "x")
    assert call.request.req_kwargs["timeout"] == (2.0, 7.0)
    assert answer.json() == {"ok": True}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ({"body": requests.ConnectTimeout()}, GatewayUnreachable),
        ({"body": requests.ReadTimeout()}, GatewayUnreachable),
        ({"body": requests.ConnectionError()}, GatewayUnreachable),
        ({"status": 302, "headers": {"Location": "https://evil.test/"}}, GatewayBadResponse),
        ({"status": 503, "body": "maintenance"}, GatewayBadResponse),
        ({"status": 403, "body": "forbidden"}, GatewayRefused),
        ({"body": b"x" * (MAX_BODY_BYTES + 1)}, GatewayBadResponse),
    ],
)
def test_every_failure_is_a_typed_gateway_error(gateway_http, reply, error):
    gateway_http.add(responses.GET, URL, **reply)
    with pytest.raises(error):
        gateway_request("GET", URL, params={"PassPhrase": "secret"})


def test_a_4xx_can_be_handed_back_for_gateways_that_explain_in_it(gateway_http):
    gateway_http.add(responses.POST, URL, status=422, json={"state": 1, "errors": {"amount": ["required"]}})
    assert gateway_request("POST", URL, body=b"{}", refuse_4xx=False).status == 422


def test_an_answer_that_is_not_json_is_a_bad_response(gateway_http):
    gateway_http.add(responses.GET, URL, body="<html>")
    with pytest.raises(GatewayBadResponse):
        gateway_request("GET", URL).json()


def test_error_details_never_carry_the_query_string(gateway_http):
    gateway_http.add(responses.GET, URL, status=500, body="oops")
    with pytest.raises(GatewayBadResponse) as caught:
        gateway_request("GET", URL, params={"PassPhrase": "account-secret"})
    assert "account-secret" not in caught.value.detail
