import pytest

from tests.panel.factories import UserFactory


@pytest.fixture
def customer(db):
    return UserFactory(balance="10")


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client
