"""The catalogs under locale/: every message of the customer side translated, every .mo in step with its .po.

The messages are found as `make messages` (Django's makemessages) finds them: the templates
through Django's own templatize, the code through its gettext calls, here read with Babel so
that the check needs no GNU gettext. Django admin's words (templates/admin) are Django's to
translate. English is the source language: it has no catalog.
"""

import gettext
import io
import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation import to_locale
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / "locale"
# What `make messages` skips: tools, tests, the demo's files, and Django admin's own words.
SKIPPED = ("tests", "benchmarks", "var", "locale", "templates/admin")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
LOCALES = [to_locale(code) for code, _name in settings.LANGUAGES if code != "en"]


def _sources() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if any(part.startswith(".") for part in relative.parts) or path.suffix not in {".py", ".html", ".txt"}:
            continue
        if any(relative.as_posix().startswith(skipped + "/") for skipped in SKIPPED) or not path.is_file():
            continue
        if path.suffix == ".txt" and "templates" not in relative.parts:
            continue  # requirements files and the like: makemessages reads them, they hold no calls
        found.append(path)
    return found


@cache
def used_messages() -> dict[tuple[str | None, str], tuple[str, str | tuple]]:
    """(context, msgid) of every message the templates and code use -> (where, the message as extracted)."""
    used = {}
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        if path.suffix != ".py":
            text = templatize(text, origin=str(path))
        for lineno, message, _comments, context in extract("python", io.BytesIO(text.encode()), keywords=KEYWORDS):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                used.setdefault((context, msgid), (f"{path.relative_to(ROOT)}:{lineno}", message))
    return used


@cache
def catalog_of(locale: str) -> Catalog:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "django.po").open("rb") as po:
        return read_po(po, locale=locale)


def _compiled(mo: bytes) -> dict:
    messages = gettext.GNUTranslations(io.BytesIO(mo))._catalog
    return {key: value for key, value in messages.items() if key != ""}


def test_the_templates_and_code_use_messages_found_by_the_extraction():
    used = used_messages()
    assert (None, "Log in") in used  # base.html
    assert (None, "Order IDs") in used  # support/forms.py, gettext_lazy
    assert len(used) > 100


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_used_has_a_real_translation_in_the_catalog(locale):
    catalog = catalog_of(locale)
    problems = []
    for (context, msgid), (where, extracted) in sorted(used_messages().items(), key=lambda item: item[1][0]):
        entry = catalog.get(msgid, context=context)
        if entry is None:
            problems.append(f"{where}: missing {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"{where}: fuzzy {msgid!r}")
        elif isinstance(extracted, tuple) != entry.pluralizable:
            problems.append(f"{where}: plural forms differ for {msgid!r}")
        else:
            forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            if not all(form.strip() for form in forms) or (entry.pluralizable and len(forms) != catalog.num_plurals):
                problems.append(f"{where}: untranslated {msgid!r}")
    assert problems == [], f"{len(problems)} messages lack a {locale} translation (make messages, translate):"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalog_is_well_formed(locale):
    catalog = catalog_of(locale)
    assert not catalog.fuzzy, "the header is marked fuzzy: msgfmt would drop the charset and plural forms"
    assert dict(catalog.mime_headers)["Content-Type"].lower() == "text/plain; charset=utf-8"
    errors = [(entry.id, [str(error) for error in errs]) for entry, errs in catalog.check()]
    assert errors == [], "placeholders or plural forms that differ from the English message"


# What a translation must carry over untouched: %(name)s and {name} placeholders, and HTML tags.
KEPT = re.compile(r"%\(\w+\)s|\{\w+\}|<[^>]+>")


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_the_placeholders_and_tags_of_the_english(locale):
    problems = []
    for entry in catalog_of(locale):
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = sorted(KEPT.findall(ids[-1]))
        problems += [(ids[0], form) for form in forms if entry.id and sorted(KEPT.findall(form)) != wanted]
    assert problems == []


@pytest.mark.parametrize("locale", LOCALES)
def test_every_compiled_catalog_is_in_step_with_its_po_file(locale):
    """A .po edited without `make compilemessages` leaves the site speaking the old .mo."""
    committed = (LOCALE_DIR / locale / "LC_MESSAGES" / "django.mo").read_bytes()
    fresh = io.BytesIO()
    write_mo(fresh, catalog_of(locale))
    assert _compiled(committed) == _compiled(fresh.getvalue()), "run `make compilemessages`"
