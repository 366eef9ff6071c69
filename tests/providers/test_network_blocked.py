"""No test reaches the network: pytest-socket lets sockets connect to this machine only."""

import socket

import pytest
from pytest_socket import SocketConnectBlockedError

from providers.client import ProviderClient
from providers.errors import ProviderError


def test_a_connection_to_an_address_outside_this_machine_is_blocked():
    with socket.socket() as outside, pytest.raises(SocketConnectBlockedError):
        outside.connect(("192.0.2.1", 80))  # TEST-NET-1: routed nowhere, and refused before trying


def test_a_provider_client_pointed_outside_fails_without_leaving_the_machine():
    client = ProviderClient(url="http://192.0.2.1/api/v2", key="k", name="outside", retries=0, deadline=2)

    with pytest.raises(ProviderError, match="Provider outside, action balance"):
        client.balance()


def test_this_machine_stays_reachable():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname(), timeout=1):
            pass
