"""Ids people type or a query string carries: one rule for the website, `/api/v2`, the forms and the services.

An id is ASCII digits that fit a bigint. Anything else ("12a", " +5", "1_000", "²", a
20-digit number) is simply not an id: callers answer "Incorrect order ID" or ignore it,
never a 500 from int() or the database.
"""

import re

ID_TEXT = re.compile(r"[0-9]{1,18}")


def id_parse(value: object) -> int | None:
    """The id in `value` (text or an int, surrounding spaces allowed), or None when it is not one."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, str | int) else ""
    return int(text) if ID_TEXT.fullmatch(text) else None
