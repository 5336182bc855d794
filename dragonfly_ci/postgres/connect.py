"""Connections, and keeping their secrets out of every message."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from dragonfly_ci.errors import CouldNotCheck

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 10
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)", re.IGNORECASE)


# Userinfo runs to the LAST "@", as libpq reads it, so a password holding an
# unencoded "/", "?", "#" or "@" is still removed whole. Over-redacting a URL
# with an "@" in its query string is the safe way to be wrong.
_URL_USERINFO = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:@/?#]*):(?P<password>.*)@(?P<rest>[^@]*)$",
    re.IGNORECASE | re.DOTALL,
)


def redact_url(url: str) -> str:
    """A URL or conninfo with its password replaced, safe to show anywhere."""
    if "://" in url:
        match = _URL_USERINFO.match(url)
        if match:
            url = f"{match['scheme']}{match['user']}:***@{match['rest']}"
    return _KV_PASSWORD.sub(r"\1***", url)


def password_of(url: str) -> str | None:
    from psycopg.conninfo import conninfo_to_dict

    try:
        value = conninfo_to_dict(url).get("password")
    except Exception:  # noqa: BLE001 - an unparsable URL has no password we can name
        return None
    return str(value) if value else None


def written_password(url: str) -> str | None:
    """A URL's password as written: all up to the last "@", as libpq reads an unencoded one."""
    match = _URL_USERINFO.match(url) if "://" in url else None
    return match["password"] if match else None


def scrub(text: str, url: str | None = None) -> str:
    """Remove passwords from a driver message, whatever shape they are in."""
    if url:
        # libpq and our redaction may read an unencoded password differently: remove both.
        for secret in (password_of(url), written_password(url)):
            if secret:
                text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\1***\3", text)
    return _KV_PASSWORD.sub(r"\1***", text)


def with_dbname(url: str, dbname: str) -> str:
    """The same URL or conninfo pointing at another database; URLs stay URLs for messages."""
    if "://" in url:
        return urlunsplit(urlsplit(url)._replace(path="/" + quote(dbname)))
    from psycopg.conninfo import make_conninfo

    return make_conninfo(url, dbname=dbname)


def connect(conninfo: str, *, autocommit: bool = False, purpose: str = "the database",
            application_name: str = "dragonfly-ci") -> psycopg.Connection:
    """Connect or raise CouldNotCheck naming what could not be reached, password removed.

    application_name is a startup parameter, so RESET ALL keeps it (and the
    lock holder stays identifiable in pg_stat_activity).
    """
    import psycopg

    try:
        return psycopg.connect(conninfo, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name=application_name)
    except (psycopg.Error, ValueError) as exc:
        message = scrub(str(exc).strip(), conninfo)
        raise CouldNotCheck(
            f"could not connect to {purpose} at {redact_url(conninfo)}: {message}",
            hint="check that the server is running and the URL, user and password are right",
        ) from None
