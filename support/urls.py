from django.urls import path

from support import staff_views, views

app_name = "support"

urlpatterns = [
    path("tickets/", views.tickets, name="tickets"),
    path("tickets/new/", views.ticket_new, name="ticket_new"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:ticket_id>/close/", views.ticket_close_view, name="ticket_close"),
    path("tickets/<int:ticket_id>/reopen/", views.ticket_reopen_view, name="ticket_reopen"),
    path("tickets/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("news/", views.news, name="news"),
    path("account/notifications/", views.notification_settings, name="notification_settings"),
    path("staff/tickets/", staff_views.queue, name="staff_queue"),
    path("staff/tickets/<int:ticket_id>/", staff_views.ticket_detail, name="staff_ticket"),
    path("staff/tickets/<int:ticket_id>/assign/", staff_views.ticket_assign_view, name="staff_ticket_assign"),
    path("staff/tickets/<int:ticket_id>/close/", staff_views.ticket_close_view, name="staff_ticket_close"),
    path("staff/tickets/<int:ticket_id>/reopen/", staff_views.ticket_reopen_view, name="staff_ticket_reopen"),
    path(
        "staff/tickets/<int:ticket_id>/orders/<int:order_id>/<slug:action>/",
        staff_views.order_action,
        name="staff_order_action",
    ),
]
