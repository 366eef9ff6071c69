"""A third staff group: Supervisors set an order's outcome by hand (completed, partial, cancelled with a full or
partial refund) where a provider never will. Support resends and attaches; closing an order running upstream and
deciding its refund is a supervisor's call. Permissions are created first, as in 0002_staff_groups.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPERVISORS = [
    "orders.view_order",
    "orders.view_orderevent",
    "orders.view_refill",
    "orders.mark_completed_order",
    "orders.mark_partial_order",
    "orders.cancel_order_by_hand",
    "panel.view_user",
]


def create_supervisors(apps, schema_editor):
    alias = schema_editor.connection.alias
    create_permissions(global_apps.get_app_config("orders"), apps=apps, verbosity=0, using=alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(alias).get_or_create(name="Supervisors")
    for permission in SUPERVISORS:
        app_label, codename = permission.split(".")
        group.permissions.add(Permission.objects.using(alias).get(content_type__app_label=app_label, codename=codename))


def delete_supervisors(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name="Supervisors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("panel", "0004_display_currency"),
        ("orders", "0011_order_outcome_permissions"),
    ]

    operations = [migrations.RunPython(create_supervisors, delete_supervisors)]
