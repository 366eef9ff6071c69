"""The shipped Support group (panel/migrations/0002_staff_groups) also answers tickets.

As there, the permissions are made first with this point's historical models, because Django
creates them only after all migrations have run.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = ["handle_ticket", "view_ticket"]


def add_to_support(apps, schema_editor):
    alias = schema_editor.connection.alias
    create_permissions(global_apps.get_app_config("support"), apps=apps, verbosity=0, using=alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(alias).get_or_create(name="Support")
    group.permissions.add(
        *Permission.objects.using(alias).filter(content_type__app_label="support", codename__in=PERMISSIONS)
    )


def remove_from_support(apps, schema_editor):
    alias = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(alias).filter(name="Support").first()
    if group is not None:
        Permission = apps.get_model("auth", "Permission")
        group.permissions.remove(
            *Permission.objects.using(alias).filter(content_type__app_label="support", codename__in=PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0001_tickets_announcements_notifications"),
        ("panel", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(add_to_support, remove_from_support)]
