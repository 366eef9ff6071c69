from core.errors import PanelError


class InsufficientFunds(PanelError):
    # The words existing API v2 clients recognise.
    default_message = "Not enough funds on balance"


class InvalidAmount(PanelError):
    default_message = "The amount must be a positive number."


class FundsRequestInvalid(PanelError):
    default_message = "The request to add funds is not valid."
