"""Indexes behind the admin's orders list at a million rows.

Search: the provider's order id alone, and link fragments (pg_trgm on UPPER(link), PostgreSQL only). Filters: the
newest orders of one provider or service (`WHERE provider_id = 1 ORDER BY id DESC LIMIT 50` otherwise walks
the primary key backwards past every other provider's orders: 1.1 s when that provider's orders are the oldest).
The provider's index is partial on `id > 0`, a condition only the admin's filter states, so that the poll's queries
on one provider's orders keep using their own index.
On 1,000,000 orders the indexes take about a minute to build and writes to orders wait meanwhile.
"""

from django.db import migrations, models

from core.admin import upper_trigram_index


class Migration(migrations.Migration):
    dependencies = [("orders", "0009_customer_prices")]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["upstream_order_id"], name="order_upstream_id"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["provider", "-id"], condition=models.Q(id__gt=0), name="order_provider_recent"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["service", "-id"], name="order_service_recent"),
        ),
        upper_trigram_index(table="orders_order", column="link", name="order_link_upper_trgm"),
    ]
