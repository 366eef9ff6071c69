from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from support.models import Announcement, Notification, Ticket
from support.rendering import markdown_render


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    """Publishing needs the model's own add/change permissions."""

    list_display = ("title", "is_published", "starts_at", "ends_at", "created_by", "created_at")
    list_filter = ("is_published",)
    search_fields = ("title", "body")
    fields = ("title", "body", "preview", "is_published", "starts_at", "ends_at")
    readonly_fields = ("preview",)

    @admin.display(description="Preview")
    def preview(self, obj):
        if not obj.pk:
            return "-"
        return mark_safe(markdown_render(obj.body))  # noqa: S308 - sanitised by nh3

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """A read-only list; staff answer and act on tickets from the support queue."""

    list_display = ("id", "title", "user", "subject_type", "status", "assigned_to", "last_message_at", "open_link")
    list_filter = ("status", "subject_type")
    search_fields = ("=id", "title", "user__username")
    list_select_related = ("user", "assigned_to")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Queue")
    def open_link(self, obj):
        return format_html('<a href="{}">Open</a>', reverse("support:staff_ticket", args=[obj.pk]))


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The e-mail log (read only)."""

    list_display = ("id", "created_at", "user", "kind", "reference", "status", "attempts", "sent_at", "error")
    list_filter = ("status", "kind")
    search_fields = ("user__username", "reference")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
