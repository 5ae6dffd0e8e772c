"""A runner's subscription addresses: what is stored is an address, in the form delivery needs."""

from __future__ import annotations

import pytest

from bakusoku.races.subscriptions import EMAIL, SubscriptionError, check_address


@pytest.mark.parametrize(
    "address",
    [
        "runner\x1b[2J@example.com",  # an escape sequence, printed wherever the address is
        "run\x7fner@example.com",
        "runner\x00@example.com",
        "run\u202ener@example.com",  # reversed text: another address than the one shown
        "run\u200bner@example.com",
    ],
)
def test_an_email_address_with_control_or_invisible_characters_is_refused(address: str) -> None:
    with pytest.raises(SubscriptionError):
        check_address(EMAIL, address)


@pytest.mark.parametrize("address", ["runner@example.com", "first.last+race@mail.example.jp"])
def test_an_email_address_is_kept(address: str) -> None:
    assert check_address(EMAIL, address) == address
