"""The customer website. `add_funds` lives in billing.urls; the nav links to it when it exists."""

from django.contrib.auth import views as auth_views
from django.urls import path

from panel import currency_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    # Accounts
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # Orders
    path("orders/new/", views.new_order, name="new_order"),
    path("orders/mass/", views.mass_order, name="mass_order"),
    path("orders/", views.orders, name="orders"),
    path("orders/drip-feed/", views.orders, {"kind": "dripfeed"}, name="orders_dripfeed"),
    path("orders/subscriptions/", views.orders, {"kind": "subscriptions"}, name="orders_subscriptions"),
    path("orders/<int:order_id>/refill/", views.order_refill, name="order_refill"),
    path("orders/<int:order_id>/cancel/", views.order_cancel, name="order_cancel"),
    path("refills/", views.refills, name="refills"),
    # Catalog and account
    path("services/", views.services, name="services"),
    path("products/", views.products, name="products"),
    path("products/<int:product_id>/order/", views.product_order, name="product_order"),
    path("services/<int:service_id>/favourite/", views.service_favourite, name="service_favourite"),
    path("updates/", views.updates, name="updates"),
    path("account/", views.account, name="account"),
    path("account/api-key/", views.api_key_new, name="api_key_new"),
    path("account/currency/", currency_views.display_currency_set, name="display_currency_set"),
    path("account/two-factor/", views.two_factor, name="two_factor"),
    path("api/", views.api_docs, name="api_docs"),
]
