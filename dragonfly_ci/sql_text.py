"""Writing SQL text: identifiers and literals quoted as PostgreSQL quotes them."""

from __future__ import annotations

import re
from functools import cache

_PLAIN_IDENT = re.compile(r"[a-z_][a-z0-9_$]*")


@cache
def _keywords_needing_quotes() -> frozenset[str]:
    # quote_ident quotes every keyword that is not unreserved (ruleutils.c).
    from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

    return frozenset(RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS)


def quote_ident(name: str) -> str:
    """Quote an identifier the way PostgreSQL's quote_ident does."""
    if _PLAIN_IDENT.fullmatch(name) and name not in _keywords_needing_quotes():
        return name
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: object) -> str:
    """A string literal, quotes doubled (standard_conforming_strings, on since 9.1)."""
    return "'" + str(text).replace("'", "''") + "'"
