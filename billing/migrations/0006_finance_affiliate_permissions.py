"""Finance decides affiliate payouts and reverses deposits: the group gains those powers and their views.

Same way as panel/migrations/0002_staff_groups.py (read its docstring): the permissions are made here with this
migration's historical models, since Django's post_migrate pass comes only after every migration; then added to
the group. Reversing removes exactly these from Finance.
"""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

FINANCE_GAINS = [
    "billing.approve_affiliate_payout",
    "billing.view_affiliatepayout",
    "billing.view_affiliateaccount",
    "billing.view_affiliateentry",
    "billing.reverse_deposit",
]


def _permissions(apps, alias):
    Permission = apps.get_model("auth", "Permission")
    for name in FINANCE_GAINS:
        app_label, codename = name.split(".")
        yield Permission.objects.using(alias).get(content_type__app_label=app_label, codename=codename)


def finance_gains(apps, schema_editor):
    alias = schema_editor.connection.alias
    create_permissions(global_apps.get_app_config("billing"), apps=apps, verbosity=0, using=alias)
    group, _ = apps.get_model("auth", "Group").objects.using(alias).get_or_create(name="Finance")
    group.permissions.add(*_permissions(apps, alias))


def finance_loses(apps, schema_editor):
    alias = schema_editor.connection.alias
    group = apps.get_model("auth", "Group").objects.using(alias).filter(name="Finance").first()
    if group is not None:
        group.permissions.remove(*_permissions(apps, alias))


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0005_affiliates_deposit_reversal"),
        ("panel", "0002_staff_groups"),
    ]

    operations = [migrations.RunPython(finance_gains, finance_loses)]
