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


def redact_url(url: str) -> str:
    """A URL or conninfo with its password replaced, safe to show anywhere."""
    if "://" not in url:
        return _KV_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    if parts.password is None:
        return _KV_PASSWORD.sub(r"\1***", url)  # a password in the query string
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return _KV_PASSWORD.sub(r"\1***", urlunsplit(parts._replace(netloc=netloc)))


def password_of(url: str) -> str | None:
    from psycopg.conninfo import conninfo_to_dict

    try:
        value = conninfo_to_dict(url).get("password")
    except Exception:  # noqa: BLE001 - an unparsable URL has no password we can name
        return None
    return str(value) if value else None


def scrub(text: str, url: str | None = None) -> str:
    """Remove passwords from a driver message, whatever shape they are in."""
    secret = password_of(url) if url else None
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


def connect(conninfo: str, *, autocommit: bool = False, purpose: str = "the database") -> psycopg.Connection:
    """Connect or raise CouldNotCheck naming what could not be reached, password removed."""
    import psycopg

    try:
        return psycopg.connect(conninfo, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_S)
    except (psycopg.Error, ValueError) as exc:
        message = scrub(str(exc).strip(), conninfo)
        raise CouldNotCheck(
            f"could not connect to {purpose} at {redact_url(conninfo)}: {message}",
            hint="check that the server is running and the URL, user and password are right",
        ) from None
