"""Wording shared by the sinks, so every format states counts and time alike."""

from __future__ import annotations

from dragonfly_ci.findings import GateResult


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def counts(result: GateResult) -> str:
    """`2 errors, 1 warning`, plus notices only when there are any (they never fail)."""
    parts = [plural(result.errors, "error"), plural(result.warnings, "warning")]
    if result.notices:
        parts.append(plural(result.notices, "notice"))
    return ", ".join(parts)


def seconds(duration_s: float) -> str:
    return f"{duration_s:.1f} s"
