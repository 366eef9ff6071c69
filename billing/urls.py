from django.urls import path

from billing import views

urlpatterns = [
    path("funds/", views.add_funds, name="add_funds"),
    path("funds/test-gateway/<int:funds_request_id>/", views.test_gateway, name="test_gateway"),
    path("funds/test-gateway/<int:funds_request_id>/pay/", views.test_gateway_confirm, name="test_gateway_confirm"),
]
