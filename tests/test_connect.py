"""Passwords never survive redaction, whatever characters they hold."""

from __future__ import annotations

import pytest

from dragonfly_ci.postgres.connect import redact_url, scrub


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://u:simple@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("postgresql://u:p/a?s#h@host:5432/db?sslmode=require", "postgresql://u:***@host:5432/db?sslmode=require"),
    ("postgres://u:p@ss:w@rd@h/db", "postgres://u:***@h/db"),
    ("postgresql://u@h/db", "postgresql://u@h/db"),
    ("postgresql://h:5432/db", "postgresql://h:5432/db"),
    ("host=h user=u password=s3cr3t dbname=d", "host=h user=u password=*** dbname=d"),
    ("host=h password='a b' dbname=d", "host=h password=*** dbname=d"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_scrub_removes_the_password_from_driver_messages():
    url = "postgresql://ci:t0p/s3cret@db.example:5432/postgres"
    message = "connection to postgresql://ci:t0p/s3cret@db.example failed: password t0p/s3cret rejected"
    assert "t0p/s3cret" not in scrub(message, url)
