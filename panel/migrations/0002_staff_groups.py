"""The two staff groups an operator hands out: Support (orders) and Finance (money).

Django creates permissions in a post_migrate handler, after *all* migrations have run, so on a fresh database the
ones orders 0003 and billing 0003 declare would not exist yet when this runs. We create them here first with
`create_permissions` and this migration's historical app registry: it makes exactly the permissions the models
have at this point of the migration graph and skips those that exist, so the later post_migrate pass (and a
re-run) finds nothing left to do.

Why not a post_migrate handler of our own: it would run on every `migrate` and silently put back a permission an
operator took out of a group on purpose, and in INSTALLED_APPS order (panel first) it would run before the
orders' and billing's permissions exist. A data migration runs once, at a known place; later changes to a group
are new migrations, and tests/panel/test_staff_groups.py checks the groups hold exactly the intended permissions.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Support": [
        "orders.view_order",
        "orders.view_orderevent",
        "orders.view_refill",
        "orders.resend_order",
        "orders.attach_upstream_id",
        "orders.cancel_refund_order",
        "panel.view_user",
    ],
    "Finance": [
        "billing.view_fundsrequest",
        "billing.approve_funds",
        "billing.view_ledgerentry",
        "billing.adjust_balance",
        "billing.view_paymentmethod",
        "orders.view_dashboard",
        "panel.view_user",
    ],
}


def create_staff_groups(apps, schema_editor):
    alias = schema_editor.connection.alias
    for label in ("panel", "billing", "orders"):
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0, using=alias)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, permissions in GROUPS.items():
        group, _ = Group.objects.using(alias).get_or_create(name=name)
        for permission in permissions:
            app_label, codename = permission.split(".")
            group.permissions.add(
                Permission.objects.using(alias).get(content_type__app_label=app_label, codename=codename)
            )


def delete_staff_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("panel", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("billing", "0003_staff_permissions"),
        ("orders", "0003_staff_permissions"),
    ]

    operations = [migrations.RunPython(create_staff_groups, delete_staff_groups)]
