"""Failures that stop a gate before it can judge anything.

Gates return findings for what they judged; these exceptions are for the two
other outcomes of the documented exit codes: the input was bad (2) or the
check could not be made (3). The CLI turns them into one clear message.
"""

from __future__ import annotations

from pathlib import Path


class DragonflyError(Exception):
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        hint: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class BadInput(DragonflyError):
    """Usage, project file, contract or migration files are wrong: exit 2."""

    exit_code = 2


class CouldNotCheck(DragonflyError):
    """A database, server or API needed for the check was not usable: exit 3."""

    exit_code = 3
