"""Django's admin with our site as the default one, so every `@admin.register` lands on it.

Alone in its module: INSTALLED_APPS imports it before any model exists.
"""

from django.contrib.admin.apps import AdminConfig


class PanelAdminConfig(AdminConfig):
    default_site = "panel.admin_site.PanelAdminSite"
