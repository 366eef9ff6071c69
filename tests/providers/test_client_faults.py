"""Everything that goes wrong between the panel and an upstream, and what the client makes of it.

Transport faults are real where a local socket can produce them (refused, read timeout, dropped
connection) and raised through `responses` otherwise, built the way requests raises them.
"""

import json
import logging
import socket
import time
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import requests
import responses
import urllib3.exceptions

from providers.client import MISSING_FROM_ANSWER, OrderStatusResult, ProviderClient, chunked
from providers.errors import ProviderBadResponse, ProviderError, ProviderRefused, ProviderUnreachable
from providers.lenient_json import loads_lenient
from providers.statuses import OrderStatus
from tests.providers.hostile import HostileServer, hang, hang_up

URL = "https://provider.test/api/v2"
KEY = "k3y-SECRET-9f8e7d6c5b4a"


@pytest.fixture
def upstream():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_client(**options) -> ProviderClient:
    options = {"url": URL, "key": KEY, "name": "acme", "retries": 2, "backoff": 0, **options}
    return ProviderClient(**options)


def form(call) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(call.request.body).items()}


def connect_timeout() -> requests.exceptions.ConnectTimeout:
    reason = urllib3.exceptions.ConnectTimeoutError(None, "Connection to provider.test timed out. (connect timeout=5)")
    return requests.exceptions.ConnectTimeout(urllib3.exceptions.MaxRetryError(None, "/api/v2", reason))


def name_not_resolved() -> requests.exceptions.ConnectionError:
    reason = urllib3.exceptions.NameResolutionError(
        "provider.test", None, socket.gaierror(-2, "Name or service not known")
    )
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/api/v2", reason))


def read_timeout() -> requests.exceptions.ReadTimeout:
    reason = urllib3.exceptions.ReadTimeoutError(None, "/api/v2", "Read timed out. (read timeout=30)")
    return requests.exceptions.ReadTimeout(reason)


def connection_reset() -> requests.exceptions.ConnectionError:
    reason = urllib3.exceptions.ProtocolError(
        "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")
    )
    return requests.exceptions.ConnectionError(reason)


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def local_server():
    """A real listening socket that reads each request and then hangs ("hang") or hangs up."""
    servers = []

    def start(behaviour: str) -> HostileServer:
        servers.append(HostileServer(hang if behaviour == "hang" else hang_up))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


# Construction


@pytest.mark.parametrize(
    "url", ["ftp://provider.test/api/v2", "file:///etc/passwd", "provider.test/api/v2", "javascript:alert(1)", ""]
)
def test_it_refuses_a_url_that_is_not_http_or_https(url):
    with pytest.raises(ValueError, match=r"must be an http:// or https:// address"):
        ProviderClient(url=url, key=KEY)


def test_it_refuses_an_unknown_dialect_and_an_empty_key():
    with pytest.raises(ValueError, match="Unknown provider dialect 'v3'"):
        ProviderClient(url=URL, key=KEY, dialect="v3")
    with pytest.raises(ValueError, match="API key is empty"):
        ProviderClient(url=URL, key="  ")


def test_it_takes_timeouts_and_retries_from_the_settings(settings):
    settings.PROVIDER_CONNECT_TIMEOUT = 3
    settings.PROVIDER_READ_TIMEOUT = 12
    settings.PROVIDER_SAFE_RETRIES = 4
    settings.PROVIDER_RETRY_BACKOFF = 0.25

    client = ProviderClient(url=URL, key=KEY)

    assert (client.connect_timeout, client.read_timeout, client.retries, client.backoff) == (3.0, 12.0, 4, 0.25)
    assert client.name == "provider.test"


def test_it_sends_every_request_with_both_timeouts_and_tls_verification(upstream):
    upstream.post(URL, json={"balance": "1", "currency": "USD"})

    make_client(connect_timeout=2, read_timeout=9).balance()

    sent = upstream.calls[0].request.req_kwargs
    assert sent["timeout"] == (2.0, 9.0)
    # requests may swap True for the CA bundle named in REQUESTS_CA_BUNDLE: still verified.
    assert sent["verify"] is True or isinstance(sent["verify"], str)


# Transport faults


def test_it_reports_a_real_refused_connection_as_never_sent():
    client = make_client(url=f"http://127.0.0.1:{unused_port()}/api/v2", retries=0)

    with pytest.raises(ProviderUnreachable) as caught:
        client.add(service=1, link="https://x.test/p", quantity=100)

    assert caught.value.request_sent is False
    assert caught.value.permanent is False
    assert caught.value.message.startswith("Provider acme, action add: could not connect (NewConnectionError")
    assert "Connection refused" in caught.value.message


def test_it_reports_a_real_read_timeout_as_sent_and_sends_add_only_once(local_server):
    server = local_server("hang")
    client = make_client(url=server.url, connect_timeout=1, read_timeout=0.3)

    with pytest.raises(ProviderUnreachable) as caught:
        client.add(service=1, link="https://x.test/p", quantity=100)

    assert caught.value.request_sent is True
    assert caught.value.message == "Provider acme, action add: no answer within 0.3s after the request was sent"
    assert server.received(1) == 1


def test_it_retries_a_real_read_timeout_on_a_safe_action(local_server):
    server = local_server("hang")
    client = make_client(url=server.url, connect_timeout=1, read_timeout=0.2, retries=2)

    with pytest.raises(ProviderUnreachable):
        client.balance()

    assert server.received(3) == 3


def test_it_reports_a_real_connection_dropped_after_sending_as_sent(local_server):
    server = local_server("hang up")
    client = make_client(url=server.url, retries=0)

    with pytest.raises(ProviderUnreachable) as caught:
        client.refills(["5"])

    assert caught.value.request_sent is True
    assert "the connection failed after the request was sent" in caught.value.message
    assert server.received(1) == 1


@pytest.mark.parametrize(
    ("fault", "request_sent"),
    [
        (connect_timeout, False),
        (name_not_resolved, False),
        (read_timeout, True),
        (connection_reset, True),
        (lambda: requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"), True),
    ],
)
def test_it_knows_which_transport_failures_never_reached_the_upstream(upstream, fault, request_sent):
    upstream.post(URL, body=fault())

    with pytest.raises(ProviderUnreachable) as caught:
        make_client().add(service=1, link="https://x.test/p", quantity=100)

    assert caught.value.request_sent is request_sent
    assert caught.value.permanent is False
    assert len(upstream.calls) == 1


def test_it_says_how_long_it_waited_for_a_connection(upstream):
    upstream.post(URL, body=connect_timeout())

    with pytest.raises(ProviderUnreachable) as caught:
        make_client(connect_timeout=4, retries=0).balance()

    assert caught.value.message == "Provider acme, action balance: could not connect within 4s"


# Answers we cannot use


@pytest.mark.parametrize(
    ("status", "body", "detail"),
    [
        (500, "Internal Server Error", "HTTP 500"),
        (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "HTTP 502"),
        (200, "<!DOCTYPE html>\n<html><head><title>Maintenance</title></head></html>", "an HTML page instead of JSON"),
        (200, "OK", "an answer that is not JSON"),
        (200, '{"order": 23501', "an answer that is not JSON"),
        (200, "", "an empty answer instead of JSON"),
        (404, "<html>Not Found</html>", "HTTP 404"),
    ],
)
def test_it_reports_an_unusable_answer_with_a_short_excerpt(upstream, status, body, detail):
    upstream.post(URL, status=status, body=body)

    with pytest.raises(ProviderBadResponse) as caught:
        make_client().add(service=1, link="https://x.test/p", quantity=100)

    error = caught.value
    excerpt = " ".join(body.split())
    assert error.message == f"Provider acme, action add: {detail}" + (f" (answer: {excerpt})" if excerpt else "")
    assert error.excerpt == excerpt
    assert (error.permanent, error.request_sent) == (False, True)
    assert len(upstream.calls) == 1


def test_it_cuts_the_excerpt_of_a_long_page_to_200_characters(upstream):
    upstream.post(URL, status=503, body="<html>" + "x" * 5000 + "</html>")

    with pytest.raises(ProviderBadResponse) as caught:
        make_client(retries=0).balance()

    assert len(caught.value.excerpt) == 200
    assert caught.value.excerpt.endswith("…")
    assert caught.value.http_status == 503


def test_it_does_not_follow_a_redirect(upstream):
    upstream.post(URL, status=302, headers={"Location": "https://elsewhere.test/api/v2"})
    elsewhere = upstream.post("https://elsewhere.test/api/v2", json={"balance": "1"})

    with pytest.raises(ProviderBadResponse) as caught:
        make_client().balance()

    assert caught.value.message.startswith(
        "Provider acme, action balance: HTTP 302: redirected to https://elsewhere.test/api/v2;"
    )
    assert caught.value.http_status == 302
    assert len(upstream.calls) == 1
    assert elsewhere.call_count == 0


def test_it_does_not_take_an_answer_without_an_order_id_for_a_refusal(upstream):
    upstream.post(URL, json={"status": "success"})

    with pytest.raises(ProviderBadResponse) as caught:
        make_client().add(service=1, link="https://x.test/p", quantity=100)

    assert (caught.value.permanent, caught.value.request_sent) == (False, True)
    assert "expected an object with the new order id" in caught.value.message


def test_it_refuses_an_answer_larger_than_the_limit(upstream, settings):
    settings.PROVIDER_MAX_CATALOG_BYTES = 100
    upstream.post(URL, body="[" + "1," * 200 + "1]")

    with pytest.raises(ProviderBadResponse, match="larger than 100 bytes"):
        make_client().services()


def test_it_removes_control_characters_a_database_would_refuse_from_the_excerpt(upstream):
    upstream.post(URL, body=b'{"order":\x00\xff\xfe<br />\n<b>Warning</b>: Too many connections')

    with pytest.raises(ProviderBadResponse) as caught:
        make_client().add(service=1, link="https://x.test/p", quantity=100)

    assert caught.value.excerpt == '{"order": \ufffd\ufffd<br /> <b>Warning</b>: Too many connections'
    assert "\x00" not in str(caught.value)


# Refusals


@pytest.mark.parametrize(
    ("status", "answer", "message"),
    [
        (200, {"error": "Incorrect service ID"}, "Incorrect service ID"),
        (200, {"error": "Not enough funds"}, "Not enough funds"),
        (200, {"status": "error", "message": "Incorrect link"}, "Incorrect link"),
        (200, {"status": "fail", "error": "Quantity less than minimal 50"}, "Quantity less than minimal 50"),
        (200, {"error": {"message": "Service is disabled"}}, "Service is disabled"),
        (401, {"error": "Invalid API key"}, "Invalid API key"),
    ],
)
def test_it_raises_a_permanent_refusal_with_the_upstream_text(upstream, status, answer, message):
    upstream.post(URL, status=status, json=answer)

    with pytest.raises(ProviderRefused) as caught:
        make_client().add(service=1, link="https://x.test/p", quantity=100)

    error = caught.value
    assert error.message == message
    assert (error.permanent, error.request_sent) == (True, True)
    assert (error.provider, error.action) == ("acme", "add")
    assert str(error) == f"Provider acme refused add: {message}"
    assert len(upstream.calls) == 1


def test_it_keeps_the_upstream_refusal_on_one_line_without_control_characters(upstream):
    upstream.post(URL, json={"error": "Not enough\u0000 funds\non balance"})

    with pytest.raises(ProviderRefused) as caught:
        make_client().add(service=1, link="https://x.test/p", quantity=100)

    assert caught.value.message == "Not enough funds on balance"


def test_it_raises_a_top_level_error_on_a_status_request_and_does_not_retry_it(upstream):
    upstream.post(URL, json={"error": "Incorrect request"})

    with pytest.raises(ProviderRefused, match="Incorrect request"):
        make_client().statuses(["1", "2"])

    assert len(upstream.calls) == 1


def test_it_keeps_per_id_errors_and_missing_ids_on_their_own_results(upstream):
    upstream.post(URL, json={"1": {"status": "Completed", "charge": "1"}, "2": {"error": "Incorrect order ID"}})

    assert make_client().statuses(["1", "2", "3"]) == {
        "1": OrderStatusResult("1", OrderStatus.COMPLETED, "Completed", Decimal("1"), None, None, None, None),
        "2": OrderStatusResult("2", None, "", None, None, None, None, "Incorrect order ID"),
        "3": OrderStatusResult("3", None, "", None, None, None, None, MISSING_FROM_ANSWER),
    }


# Chunking


def _statuses_answer(ids):
    return {order_id: {"status": "In progress", "charge": "0.1", "remains": 3} for order_id in ids}


def _refills_answer(ids):
    return [{"order": int(order_id), "refill": int(order_id) + 1000} for order_id in ids]


def _refill_statuses_answer(ids):
    return [{"refill": int(refill_id), "status": "Pending"} for refill_id in ids]


def _cancel_answer(ids):
    return [{"order": int(order_id), "cancel": 1} for order_id in ids]


@pytest.mark.parametrize(
    ("method", "id_param", "answer"),
    [
        ("statuses", "orders", _statuses_answer),
        ("refills", "orders", _refills_answer),
        ("refill_statuses", "refills", _refill_statuses_answer),
        ("cancel", "orders", _cancel_answer),
        ("product_order_statuses", "orders", _statuses_answer),
    ],
)
def test_it_sends_250_ids_in_three_requests_of_at_most_100_and_merges_the_answers(upstream, method, id_param, answer):
    def reply(request):
        ids = parse_qs(request.body)[id_param][0].split(",")
        return 200, {}, json.dumps(answer(ids))

    upstream.add_callback(responses.POST, URL, callback=reply, content_type="application/json")
    ids = [str(number) for number in range(1, 251)]

    results = getattr(make_client(), method)(ids)

    sent = [form(call)[id_param].split(",") for call in upstream.calls]
    assert [len(chunk) for chunk in sent] == [100, 100, 50]
    assert [order_id for chunk in sent for order_id in chunk] == ids
    assert list(results) == ids
    assert all(result.error is None for result in results.values())


def test_it_sends_no_request_for_no_ids(upstream):
    assert make_client().statuses([]) == {}
    assert len(upstream.calls) == 0


def test_chunked_cuts_in_order_without_an_empty_tail():
    assert list(chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunked(range(4), 2)) == [[0, 1], [2, 3]]


# Retries


SAFE_CALLS = {
    "services": lambda client: client.services(),
    "statuses": lambda client: client.statuses(["1"]),
    "refill_statuses": lambda client: client.refill_statuses(["1"]),
    "balance": lambda client: client.balance(),
    "products": lambda client: client.products(),
}
UNSAFE_CALLS = {
    "add": lambda client: client.add(service=1, link="https://x.test/p", quantity=100),
    "refills": lambda client: client.refills(["1"]),
    "cancel": lambda client: client.cancel(["1"]),
    "add_product_order": lambda client: client.add_product_order(product=1, quantity=1, require="me"),
}


@pytest.mark.parametrize("call", SAFE_CALLS.values(), ids=SAFE_CALLS.keys())
@pytest.mark.parametrize("fault", [connection_reset, read_timeout, connect_timeout])
def test_it_retries_a_safe_action_after_a_transport_failure(upstream, call, fault):
    upstream.post(URL, body=fault())

    with pytest.raises(ProviderUnreachable):
        call(make_client(retries=2))

    assert len(upstream.calls) == 3


@pytest.mark.parametrize("call", SAFE_CALLS.values(), ids=SAFE_CALLS.keys())
def test_it_retries_a_safe_action_after_a_5xx(upstream, call):
    upstream.post(URL, status=503, body="Service Unavailable")

    with pytest.raises(ProviderBadResponse):
        call(make_client(retries=2))

    assert len(upstream.calls) == 3


@pytest.mark.parametrize("call", UNSAFE_CALLS.values(), ids=UNSAFE_CALLS.keys())
@pytest.mark.parametrize("fault", [read_timeout, connection_reset, connect_timeout])
def test_it_sends_an_action_that_changes_something_exactly_once(upstream, call, fault):
    upstream.post(URL, body=fault())

    with pytest.raises(ProviderUnreachable):
        call(make_client(retries=5))

    assert len(upstream.calls) == 1


@pytest.mark.parametrize("call", UNSAFE_CALLS.values(), ids=UNSAFE_CALLS.keys())
def test_it_does_not_retry_an_action_that_changes_something_after_a_5xx(upstream, call):
    upstream.post(URL, status=500, body="Internal Server Error")

    with pytest.raises(ProviderBadResponse):
        call(make_client(retries=5))

    assert len(upstream.calls) == 1


def test_it_backs_off_exponentially_and_returns_the_answer_that_finally_comes(upstream, monkeypatch):
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    upstream.post(URL, body=connection_reset())
    upstream.post(URL, status=502, body="Bad Gateway")
    upstream.post(URL, json={"balance": "5.5", "currency": "EUR"})

    result = make_client(retries=2, backoff=0.5).balance()

    assert (result.balance, result.currency) == (Decimal("5.5"), "EUR")
    assert slept == [0.5, 1.0]
    assert len(upstream.calls) == 3


def test_it_does_not_retry_an_unusable_2xx_answer(upstream):
    upstream.post(URL, body="<html>Maintenance</html>")

    with pytest.raises(ProviderBadResponse):
        make_client(retries=3).balance()

    assert len(upstream.calls) == 1


# The API key stays secret


KEY_ECHOES = {
    "refusal": lambda upstream: upstream.post(URL, json={"error": f"Invalid API key {KEY}"}),
    "5xx page": lambda upstream: upstream.post(URL, status=500, body=f"<html>Fatal error: key={KEY}</html>"),
    "html page": lambda upstream: upstream.post(URL, body=f"<html>key={KEY}</html>"),
    "echoed form": lambda upstream: upstream.post(URL, body=f"key={KEY}&action=status"),
    "redirect": lambda upstream: upstream.post(
        URL, status=302, headers={"Location": f"https://elsewhere.test/?key={KEY}"}
    ),
    "reset": lambda upstream: upstream.post(URL, body=connection_reset()),
    "per-id error": lambda upstream: upstream.post(URL, json={"1": {"error": f"order of {KEY} not found"}}),
    "unknown status": lambda upstream: upstream.post(URL, json={"1": {"status": f"{KEY}"}}),
}


@pytest.mark.parametrize("echo", KEY_ECHOES.values(), ids=KEY_ECHOES.keys())
def test_the_key_never_appears_in_an_error_its_excerpt_a_result_or_a_log_record(upstream, caplog, echo):
    caplog.set_level(logging.DEBUG)
    echo(upstream)
    client = make_client(retries=1)

    try:
        result = client.statuses(["1"])
    except ProviderError as error:
        shown = [str(error), error.message, error.excerpt, repr(error)]
    else:
        shown = [result["1"].error or "", result["1"].raw_status]

    for text in shown + [record.getMessage() for record in caplog.records]:
        assert KEY not in text
    assert KEY not in repr(client)


def test_the_key_is_replaced_where_the_upstream_echoes_it(upstream):
    upstream.post(URL, json={"error": f"Invalid API key {KEY}"})

    with pytest.raises(ProviderRefused) as caught:
        make_client().balance()

    assert caught.value.message == "Invalid API key ***"


def test_the_key_does_not_leak_from_a_real_refused_connection_to_a_url_carrying_it(caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(url=f"http://127.0.0.1:{unused_port()}/api/v2?key={KEY}", retries=1)

    with pytest.raises(ProviderUnreachable) as caught:
        client.balance()

    assert KEY not in str(caught.value)
    assert KEY not in repr(client)
    assert all(KEY not in record.getMessage() for record in caplog.records)


def test_a_non_http_url_carrying_the_key_is_refused_without_showing_it():
    with pytest.raises(ValueError) as caught:
        ProviderClient(url=f"ftp://provider.test/?key={KEY}", key=KEY)

    assert KEY not in str(caught.value)


# Bodies that must not be repaired


@pytest.mark.parametrize(
    "text",
    [
        '<html><body>{ "error": 1 }</body></html>',
        "Warning: mysql_connect(): Too many connections",
        '{"order": 1',
        '{"type": default value}',
        "[1 2]",
        '{"a": 1} trailing',
        "   ",
    ],
)
def test_lenient_json_refuses_what_is_not_json_with_a_documented_typo(text):
    with pytest.raises(ValueError):
        loads_lenient(text)


def test_lenient_json_strips_a_bom_and_repairs_only_between_lines():
    assert loads_lenient('\ufeff  {"a": "x: y"\n"b": ok\n}\n') == {"a": "x: y", "b": "ok"}
    assert loads_lenient('{"a": "1, \\"2\\"" }') == {"a": '1, "2"'}
