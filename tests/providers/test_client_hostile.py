"""Whatever an upstream sends, the client ends with a ProviderError naming it, within the deadline.

Each fault is served by a real local socket (tests/providers/hostile.py), with small deadlines so
that each test takes about a second at most.
"""

import json
import logging
from decimal import Decimal

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from providers.client import OrderStatusResult, ProviderClient, parsing
from providers.errors import ProviderBadResponse, ProviderError, ProviderUnreachable
from providers.statuses import OrderStatus
from tests.providers.hostile import HostileServer, Stopwatch, dripped, hang, tls_drip, whole

KEY = "k3y-SECRET-9f8e7d6c5b4a"
DEADLINE = 0.8


@pytest.fixture
def serve():
    servers = []

    def start(answer, **options) -> HostileServer:
        servers.append(HostileServer(answer, **options))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def client_for(server: HostileServer, **options) -> ProviderClient:
    options = {"key": KEY, "name": "acme", "retries": 0, "backoff": 0, "deadline": DEADLINE, **options}
    return ProviderClient(url=options.pop("url", server.url), **options)


def assert_names_the_provider(error: ProviderError, action: str) -> None:
    assert (error.provider, error.action) == ("acme", action)
    assert str(error).startswith(f"Provider acme, action {action}: ")


# Bombs and garbage


def test_a_json_bomb_nested_too_deeply_is_a_bad_response_not_a_recursion_error(serve):
    bomb = b"[" * 200_000 + b"]" * 200_000
    server = serve(whole(bomb))

    with pytest.raises(ProviderBadResponse) as caught:
        client_for(server).statuses(["1"])

    assert_names_the_provider(caught.value, "status")
    assert "an answer nested too deeply to read" in caught.value.message


def test_a_deep_entry_that_json_can_read_is_kept_as_that_order_s_error(serve):
    deep = "[" * 500 + "]" * 500
    server = serve(whole(f'{{"1": {{"status": {deep}}}, "2": {{"status": "Completed"}}}}'.encode()))

    results = client_for(server).statuses(["1", "2"])

    assert results["1"].status is None and results["1"].error
    assert len(results["1"].error) <= 200
    assert results["2"].status is OrderStatus.COMPLETED


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (bytes(range(256)) * 4, "an answer that is not JSON"),
        (b"\xff\xfe\xfa\xfb\x00\x80 not utf-8 at all", "an answer that is not JSON"),
        (b"\xef\xbb\xbf\xef\xbb\xbf[1, 2", "an answer that is not JSON"),
        (b"null", "unexpected answer: expected an object or a list"),
        (b'"Completed"', "unexpected answer: expected an object or a list"),
    ],
    ids=["binary", "invalid utf-8", "double bom", "null", "a string"],
)
def test_garbage_is_a_bad_response_naming_the_provider(serve, body, detail):
    server = serve(whole(body))

    with pytest.raises(ProviderBadResponse) as caught:
        client_for(server).statuses(["1"])

    assert_names_the_provider(caught.value, "status")
    assert detail in caught.value.message
    assert "\x00" not in str(caught.value)


def test_invalid_utf8_inside_a_string_is_replaced_and_the_answer_is_read(serve):
    server = serve(whole(b'{"1": {"status": "Completed", "charge": "1", "currency": "\xff\xfeUSD"}}'))

    result = client_for(server).statuses(["1"])["1"]

    assert (result.status, result.currency) == (OrderStatus.COMPLETED, "\ufffd\ufffdUSD")


def test_huge_numbers_are_unreadable_fields_not_a_frozen_worker(serve, caplog):
    answer = {"1": {"status": "In progress", "charge": "1e999999999", "start_count": "1e999999999", "remains": 7}}
    server = serve(whole(json.dumps(answer).encode()))

    with Stopwatch() as took:
        result = client_for(server).statuses(["1"])["1"]

    assert result == OrderStatusResult("1", OrderStatus.IN_PROGRESS, "In progress", None, None, 7, None, None)
    assert took.seconds < 1
    assert "2 problems in the answer" in caplog.text


def test_a_huge_balance_is_a_bad_response(serve):
    server = serve(whole(b'{"balance": 1e999999999, "currency": "USD"}'))

    with pytest.raises(ProviderBadResponse, match="expected a balance amount"):
        client_for(server).balance()


def test_any_exception_while_reading_an_answer_becomes_a_provider_error(serve, monkeypatch):
    def broken(reading, order_id, entry):
        return 1 / 0

    monkeypatch.setattr(parsing, "order_status", broken)
    server = serve(whole(b'{"1": {"status": "Completed"}}'))

    with pytest.raises(ProviderBadResponse) as caught:
        client_for(server).statuses(["1"])

    assert_names_the_provider(caught.value, "status")
    assert "an answer the panel cannot read (ZeroDivisionError)" in caught.value.message


def test_a_worker_s_soft_time_limit_is_not_taken_for_the_upstream_s_fault(serve, monkeypatch):
    def interrupted(reading, order_id, entry):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(parsing, "order_status", interrupted)
    server = serve(whole(b'{"1": {"status": "Completed"}}'))

    with pytest.raises(SoftTimeLimitExceeded):
        client_for(server).statuses(["1"])


# Size


def test_an_oversized_body_is_refused_by_its_declared_length_before_it_is_read(serve):
    server = serve(whole(b"[" + b"1," * 600_000 + b"1]"))

    with pytest.raises(ProviderBadResponse) as caught:
        client_for(server, max_body=1_000_000).statuses(["1"])

    assert_names_the_provider(caught.value, "status")
    assert "the answer is larger than 1000000 bytes" in caught.value.message


def test_an_oversized_body_without_a_length_is_cut_at_the_cap(serve):
    def endless(connection, server):
        connection.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n[")
        while not server.stop.is_set():
            connection.sendall(b"1," * 65536)

    server = serve(endless)

    with pytest.raises(ProviderBadResponse, match="larger than 100000 bytes"):
        client_for(server, max_body=100_000).statuses(["1"])


def test_the_catalogue_has_its_own_larger_cap(serve):
    services = [{"service": n, "name": "x" * 50, "rate": "1", "min": 1, "max": 10} for n in range(2000)]
    server = serve(whole(json.dumps(services).encode()))

    client = client_for(server, max_body=1000)

    assert len(client.services()) == 2000
    with pytest.raises(ProviderBadResponse, match="larger than 1000 bytes"):
        client_for(server, max_catalog_body=1000).services()


# Time


@pytest.mark.parametrize(
    "answer",
    [
        dripped(b'{"1": {"status": "Completed"}}', every=0.1),
        dripped(b'{"1": {"status": "Completed"}}', every=0.1, with_length=False),
        dripped(b'{"1": {"status": "Completed"}}', every=0.1, head_too=True),
        hang,
    ],
    ids=["body dripped", "body dripped without a length", "headers dripped", "hang"],
)
def test_a_slow_upstream_is_cut_at_the_deadline_whatever_it_drips(serve, answer):
    server = serve(answer)
    # Each byte comes well within the read timeout: only the deadline can end this.
    client = client_for(server, read_timeout=5)

    with Stopwatch() as took, pytest.raises(ProviderUnreachable) as caught:
        client.statuses(["1"])

    assert_names_the_provider(caught.value, "status")
    assert caught.value.message.endswith("no complete answer within 0.8s (the deadline of one request)")
    assert caught.value.request_sent is True
    assert DEADLINE <= took.seconds < DEADLINE + 0.5


def test_an_add_cut_at_the_deadline_counts_as_sent_and_is_not_resent(serve):
    server = serve(hang)

    with pytest.raises(ProviderUnreachable) as caught:
        client_for(server, retries=3, read_timeout=5).add(service=1, link="https://x.test/p", quantity=100)

    assert caught.value.request_sent is True
    assert server.connections == 1


def test_retries_of_a_safe_action_stay_within_the_one_deadline(serve):
    server = serve(whole(b"busy", status=503))

    with Stopwatch() as took, pytest.raises(ProviderBadResponse, match="HTTP 503"):
        client_for(server, retries=50, backoff=0.1).balance()

    assert took.seconds < DEADLINE + 0.3
    assert 2 <= server.connections < 10


def test_a_tls_handshake_dripped_a_byte_at_a_time_is_cut_at_the_deadline(serve):
    server = serve(tls_drip, read_request=False)
    client = client_for(server, url=f"https://127.0.0.1:{server.port}/api/v2", connect_timeout=5, read_timeout=5)

    with Stopwatch() as took, pytest.raises(ProviderUnreachable) as caught:
        client.balance()

    assert_names_the_provider(caught.value, "balance")
    assert "the deadline of one request" in caught.value.message
    assert took.seconds < DEADLINE + 0.5


def test_the_deadline_comes_from_the_settings(settings):
    settings.PROVIDER_REQUEST_DEADLINE = 12.5

    assert ProviderClient(url="https://provider.test/api/v2", key=KEY).deadline == 12.5
    with pytest.raises(ValueError, match="must be positive"):
        ProviderClient(url="https://provider.test/api/v2", key=KEY, deadline=0)


# Logs


def test_problems_with_entries_make_one_log_line_per_answer_with_a_count(serve, caplog):
    caplog.set_level(logging.DEBUG, logger="providers.client")
    answer = {str(n): {"status": "Teleported", "remains": "lots"} for n in range(1, 101)}
    server = serve(whole(json.dumps(answer).encode()))

    results = client_for(server).statuses([str(n) for n in range(1, 101)])

    assert all(result.status is None and result.error is None for result in results.values())
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("acme status: 200 problems in the answer, the first 3: ")


KEY_ECHOES = {
    "entries": {
        "1": {"status": KEY, "remains": KEY, "charge": [KEY]},
        "2": {"error": f"order of {KEY} not found"},
        "3": [[[[[KEY]]]]],
        "4": {"status": "Completed", "start_count": {"deep": [[[KEY]]]}},
    },
    "a list": [{"order": KEY}, {"order": 1, "status": f"{KEY} Completed"}, {"nothing": KEY}],
    "not json": f"<b>Warning</b>: mysql_connect(key={KEY})",
    "repaired json": f'{{"1": {{"status": "{KEY}"\n"remains": 5}}}}',
}


@pytest.mark.parametrize("answer", KEY_ECHOES.values(), ids=KEY_ECHOES.keys())
def test_the_key_never_appears_in_a_log_line_an_error_or_a_result(serve, caplog, answer):
    caplog.set_level(logging.DEBUG)
    body = answer if isinstance(answer, str) else json.dumps(answer)
    server = serve(whole(body.encode()))

    try:
        results = client_for(server).statuses(["1", "2", "3", "4"])
    except ProviderError as error:
        shown = [str(error), error.excerpt]
    else:
        shown = [text for result in results.values() for text in (result.raw_status, result.error or "")]

    for text in shown + [record.getMessage() for record in caplog.records]:
        assert KEY not in text
    assert "***" in " ".join(shown) + caplog.text


def test_an_unreadable_answer_logs_no_upstream_text(serve, caplog, monkeypatch):
    def broken(reading, order_id, entry):
        raise RuntimeError(f"boom {entry}")

    monkeypatch.setattr(parsing, "order_status", broken)
    server = serve(whole(json.dumps({"1": {"status": KEY}}).encode()))

    with pytest.raises(ProviderBadResponse):
        client_for(server).statuses(["1"])

    assert KEY not in caplog.text
    assert "acme status: unreadable answer (RuntimeError)" in caplog.text


def test_a_healthy_answer_after_a_hostile_one_reads_normally(serve):
    hostile = serve(whole(b"[" * 100_000))
    healthy = serve(whole(b'{"1": {"status": "Completed", "charge": "0.5"}}'))

    with pytest.raises(ProviderBadResponse):
        client_for(hostile).statuses(["1"])

    assert client_for(healthy).statuses(["1"])["1"].charge == Decimal("0.5")
