"""What keeps the admin's big lists fast at a million rows: counts that stop early, searches served by indexes.

A stock changelist over 1,000,000 orders spends its time in three places: `COUNT(*)` of the whole table (twice:
the paginator and the "N total" line), the date hierarchy's `SELECT DISTINCT date_trunc(...)` that sorts every row,
and searches that OR `UPPER(col) LIKE '%term%'` over a join, which only a parallel sequential scan can answer.

- `EstimatedCountPaginator` counts exactly up to `EXACT_COUNT_LIMIT` rows and, past that, takes PostgreSQL's own
  estimate of the filtered query (what `EXPLAIN` expects): a page of a million orders costs a count of 10,001 rows.
- `IndexedSearchMixin` replaces `search_fields` with `search_rules`: each rule turns a term into a condition one
  index can answer (an id when the term is a number, an exact reference, a customer resolved by username first,
  a link fragment through a trigram index), or into nothing when it cannot apply, so every arm of the OR has
  an index and PostgreSQL combines them with a BitmapOr.
- `upper_trigram_index` is the migration operation that makes the trigram index behind `Contains` on PostgreSQL
  (and does nothing on SQLite, where the demo runs).

`BigListAdmin` puts them together with `show_full_result_count = False`; the big admins (orders, the ledger,
customers) use it and list no date hierarchy.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections, migrations
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal

EXACT_COUNT_LIMIT = 10_000
# The largest value a PostgreSQL bigint holds: a longer number is no id.
BIGINT_MAX = 2**63 - 1


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_COUNT_LIMIT rows; above, PostgreSQL's estimate (`estimated` is then True)."""

    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet) or connections[queryset.db].vendor != "postgresql":
            return super().count
        capped = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
        if capped <= EXACT_COUNT_LIMIT:
            return capped
        self.estimated = True
        return max(query_row_estimate(queryset), capped)


def query_row_estimate(queryset: QuerySet) -> int:
    """How many rows PostgreSQL's planner expects `queryset` to return (its statistics, no scan)."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def table_row_estimate(model) -> int:
    """PostgreSQL's estimate of a table's rows (kept by ANALYZE); 0 elsewhere or before the table was analysed."""
    connection = connections[model._default_manager.db]
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row else 0


# Search rules: each takes one search term and answers a condition an index serves, or None when it cannot apply.


@dataclass(frozen=True)
class Number:
    """`field = term` when the term is a whole number (an id): the primary key or another integer index."""

    field: str
    label: str = ""

    def __call__(self, term: str) -> Q | None:
        if term.isdecimal() and term.isascii() and int(term) <= BIGINT_MAX:
            return Q(**{self.field: int(term)})
        return None


@dataclass(frozen=True)
class Exact:
    """`field = term`, case-sensitive (a btree index): a provider's order id, a ledger reference.

    `also` narrows it so an index with a leading column serves it (e.g. `kind IN (every kind)` in front of a
    unique (kind, reference)); `when` limits it to terms that can match (e.g. an e-mail has an "@").
    """

    field: str
    label: str = ""
    also: Q | None = None
    when: Callable[[str], bool] | None = None

    def __call__(self, term: str) -> Q | None:
        if self.when is not None and not self.when(term):
            return None
        condition = Q(**{self.field: term})
        return condition & self.also if self.also is not None else condition


@dataclass(frozen=True)
class Prefix:
    """`field LIKE 'term%'`, case-sensitive: served by the `varchar_pattern_ops` index Django gives unique fields."""

    field: str
    label: str = ""

    def __call__(self, term: str) -> Q | None:
        return Q(**{f"{self.field}__startswith": term})


@dataclass(frozen=True)
class Contains:
    """`UPPER(field) LIKE UPPER('%term%')` (icontains), served on PostgreSQL by a trigram GIN index on UPPER(field)
    (`upper_trigram_index`). A trigram index needs 3 characters: shorter terms do not search this field."""

    field: str
    label: str = ""
    min_length: int = 3

    def __call__(self, term: str) -> Q | None:
        if len(term) < self.min_length:
            return None
        return Q(**{f"{self.field}__icontains": term})


@dataclass(frozen=True)
class Related:
    """Rows of the customers (or other related rows) whose `lookup` is the term: the related rows are resolved
    first, by an exact match or else a prefix (both served by the unique field's indexes, at most `limit`), and the
    rows are then found with `field_id IN (...)`, through the foreign key's index and without any join."""

    field: str
    lookup: str
    label: str = ""
    limit: int = 50

    def bind(self, model) -> "BoundRelated":
        return BoundRelated(self, model._meta.get_field(self.field))


@dataclass(frozen=True)
class BoundRelated:
    rule: Related
    foreign_key: object

    def __call__(self, term: str) -> Q | None:
        related = self.foreign_key.related_model._default_manager
        ids = list(related.filter(**{self.rule.lookup: term}).values_list("pk", flat=True)[: self.rule.limit])
        if not ids:
            ids = list(
                related.filter(**{f"{self.rule.lookup}__startswith": term})
                .order_by(self.rule.lookup)
                .values_list("pk", flat=True)[: self.rule.limit]
            )
        return Q(**{f"{self.foreign_key.attname}__in": ids}) if ids else None


def search_condition(rules: Sequence[Callable[[str], Q | None]], search_term: str) -> Q | None:
    """Every word of the search must match (AND), each through any rule that applies to it (OR).

    None when some word matches no rule at all: nothing can match.
    """
    condition = Q()
    for word in smart_split(search_term):
        if word[:1] in ('"', "'") and word[0] == word[-1] and len(word) > 1:
            word = unescape_string_literal(word)
        word = word.strip()
        if not word:
            continue
        arms = [arm for arm in (rule(word) for rule in rules) if arm is not None]
        if not arms:
            return None
        either = Q()
        for arm in arms:
            either |= arm
        condition &= either
    return condition


class IndexedSearchMixin:
    """A ModelAdmin searching through `search_rules` (see above) instead of Django's `search_fields`."""

    search_rules: Sequence = ()

    def _bound_rules(self) -> list:
        return [rule.bind(self.model) if isinstance(rule, Related) else rule for rule in self.search_rules]

    def get_search_fields(self, request):
        # The changelist shows its search box when this is not empty; the rules decide what a term matches.
        return tuple(rule.label or rule.field for rule in self.search_rules)

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip() or not self.search_rules:
            return queryset, False
        condition = search_condition(self._bound_rules(), search_term)
        if condition is None:
            return queryset.none(), False
        return queryset.filter(condition), False


class RememberingChangeList(ChangeList):
    """The theme renders every cell with its column's header, and each header asks for its sort links again:
    900 identical query strings for a page of 50 rows. They are built once per page here."""

    def get_query_string(self, new_params=None, remove=None):
        # Values may be lists (a hostile or multi-valued query string): the key is their repr.
        key = repr((sorted((str(name), value) for name, value in (new_params or {}).items()), remove))
        built = self.__dict__.setdefault("_query_strings", {})
        if key not in built:
            built[key] = super().get_query_string(new_params, remove)
        return built[key]


class BigListMixin(IndexedSearchMixin):
    """For tables of millions of rows: no full count, counts that stop early, searches served by indexes."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facets count every filter's values over the whole table.
    show_facets = admin.ShowFacets.NEVER
    # The theme renders each cell with the row's headers: a page's cost grows with rows × columns.
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return RememberingChangeList


def upper_trigram_index(*, table: str, column: str, name: str) -> migrations.RunPython:
    """A GIN trigram index on UPPER(column), which serves Django's `icontains` on PostgreSQL; nothing elsewhere.

    Django's Meta.indexes cannot hold it without django.contrib.postgres (which SQLite, the demo's database,
    cannot build), so the migration makes it by hand and the model state does not know it.
    """

    def create(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(table)} "
            f"USING gin (UPPER({quote(column)}) gin_trgm_ops)"
        )

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    return migrations.RunPython(create, drop, elidable=False)


# django-unfold's admin runs Alpine.js, which compiles its `x-data` / `x-on` attributes with the Function
# constructor (script-src 'unsafe-eval'), and writes its theme colours in a <style> element ('unsafe-inline' for
# styles). Scripts still come only from our own static files: no inline <script> is allowed anywhere.
THEME_CSP = {"script-src": ["'unsafe-eval'"], "style-src": ["'unsafe-inline'"]}


def theme_csp(response):
    """Widen the Content-Security-Policy (django-csp reads `_csp_update`) of one admin page for the theme."""
    response._csp_update = THEME_CSP
    return response


# Bulk actions that ask first and then say what happened to each selected row.

BULK_ACTION_LIMIT = 500


def action_confirmed(request) -> bool:
    """The second POST of a confirmed action carries `post=yes` (as Django's own delete confirmation does)."""
    return request.POST.get("post") == "yes"


def action_confirmation(model_admin, request, *, title: str, plan: list[tuple[object, str, bool]], button: str):
    """The page between choosing an action and running it: each selected row and what the action will do to it.

    `plan` holds (row, what will happen, whether it qualifies); the form posts the same action and selection
    again with `post=yes`.
    """
    from django.contrib.admin import helpers
    from django.template.response import TemplateResponse

    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "plan": plan,
        "qualifying": sum(1 for _, _, ok in plan if ok),
        "button": button,
        "action": request.POST.get("action", ""),
        "selected": [row.pk for row, _, _ in plan],
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/console/confirm_action.html", context)


def action_too_many(model_admin, request, queryset) -> bool:
    """Refuses (with a message) a selection larger than BULK_ACTION_LIMIT: "select all" over a million rows."""
    from django.contrib import messages

    if queryset.order_by()[: BULK_ACTION_LIMIT + 1].count() > BULK_ACTION_LIMIT:
        model_admin.message_user(
            request, f"Select at most {BULK_ACTION_LIMIT} rows for this action: nothing was done.", messages.ERROR
        )
        return True
    return False


def action_report(model_admin, request, outcomes: list[tuple[object, str, bool]]) -> None:
    """One message per outcome, naming every row it happened to: "Queued again: 5, 6." / "Left as it is ...: 7"."""
    from django.contrib import messages

    grouped: dict[tuple[str, bool], list[str]] = {}
    for row, outcome, ok in outcomes:
        grouped.setdefault((outcome, ok), []).append(str(row.pk))
    for (outcome, ok), ids in grouped.items():
        model_admin.message_user(request, f"{outcome}: {', '.join(ids)}.", messages.SUCCESS if ok else messages.WARNING)
