from django.urls import path, re_path

from billing import views

urlpatterns = [
    path("funds/", views.add_funds, name="add_funds"),
    path("funds/deposits/", views.deposits, name="deposits"),
    path("funds/deposits/<int:deposit_id>/", views.deposit_detail, name="deposit_detail"),
    path("funds/deposits/<int:deposit_id>/status/", views.deposit_status, name="deposit_status"),
    path("funds/test-gateway/<int:deposit_id>/", views.test_gateway, name="test_gateway"),
    path("funds/test-gateway/<int:deposit_id>/pay/", views.test_gateway_confirm, name="test_gateway_confirm"),
    path("transactions/", views.transactions, name="transactions"),
    path("affiliates/", views.affiliates, name="affiliates"),
    path("affiliates/transfer/", views.affiliates_transfer, name="affiliates_transfer"),
    path("affiliates/payout/", views.affiliates_payout, name="affiliates_payout"),
    # A referral link, as customers share it: /r/<code>, with or without the slash.
    re_path(r"^r/(?P<code>[-\w]{1,64})/?$", views.referral_visit, name="referral"),
    # Gateways post their notifications here (csrf-exempt; each is verified by its signature).
    path("payments/webhook/<slug:gateway>/", views.payment_webhook, name="payment_webhook"),
]
