"""Indexes behind the admin's order search: the provider's order id alone, and link fragments (pg_trgm, PostgreSQL).

On 1,000,000 orders the trigram index takes about a minute to build and writes to orders wait meanwhile.
"""

from django.db import migrations, models

from core.admin import upper_trigram_index


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_staff_permissions")]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["upstream_order_id"], name="order_upstream_id"),
        ),
        upper_trigram_index(table="orders_order", column="link", name="order_link_upper_trgm"),
    ]
