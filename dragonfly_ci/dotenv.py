"""`.env` files: exact parsing, with every error at its `file:line`.

Why our own parser: python-dotenv skips a line it cannot parse with a warning
that names no reliable line, and a gate must fail closed at the line to fix.
The format accepted here is the common subset of python-dotenv and
docker compose:

    # a comment
    KEY=value                 # unquoted: trailing spaces and ` # comment` removed
    export KEY=value          # `export ` is ignored
    KEY='literal $and \\n'    # single quotes: nothing is interpreted; may span lines
    KEY="a\\nb \\"q\\" ${OTHER}"  # double quotes: \\n \\r \\t \\" \\\\ \\$ escapes; may span lines
    KEY=${OTHER}              # ${NAME} expands (unquoted and double quotes only)

`${NAME}` takes the process environment's value, else a key defined earlier
in the same file; an undefined name is an error, never an empty string.
`$NAME` without braces is literal. A key defined twice is an error.

Messages never contain a value or the text of a line: a malformed line may be
a pasted secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dragonfly_ci.errors import BadInput

_KEY = re.compile(r"[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*")
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}
_HINT = "write KEY=VALUE; quote values with spaces or #, e.g. KEY='a value'"


@dataclass(frozen=True)
class Entry:
    value: str = field(repr=False)  # a secret, perhaps: never in a repr or a traceback
    line: int = 0


@dataclass(frozen=True)
class DotenvError:
    line: int | None  # None: the file as a whole (unreadable)
    message: str
    hint: str = _HINT


@dataclass
class Dotenv:
    """A parsed file: the keys it defines (in order) and the errors it has."""

    file: str  # as findings show it
    entries: dict[str, Entry] = field(default_factory=dict)
    errors: list[DotenvError] = field(default_factory=list)

    def raise_first(self) -> None:
        if self.errors:
            err = self.errors[0]
            raise BadInput(err.message, file=self.file, line=err.line, hint=err.hint)


def load(path: Path, *, display: str, environ: Mapping[str, str]) -> Dotenv:
    """Parse the file at `path`; a file that cannot be read is one error without a line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return Dotenv(display, errors=[DotenvError(None, ".env file is not UTF-8", "save it as UTF-8")])
    except OSError as exc:
        return Dotenv(display, errors=[DotenvError(None, f"cannot read .env file: {exc.strerror}",
                                                   "check the path and its permissions")])
    return parse(text, file=display, environ=environ)


def parse(text: str, *, file: str, environ: Mapping[str, str]) -> Dotenv:
    result = Dotenv(file)
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        number, line = i + 1, lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _KEY.match(line)
        if match is None:
            result.errors.append(DotenvError(number, "not a KEY=VALUE line (a name is letters, "
                                             "digits and _, not starting with a digit)"))
            continue
        key = match.group(1)
        try:
            value, i = _value(key, line[match.end():], lines, i, result, environ)
        except _Stop as stop:
            result.errors.append(DotenvError(number, str(stop), stop.hint))
            if stop.resume is None:
                break
            i = stop.resume
            continue
        if key in result.entries:
            result.errors.append(DotenvError(
                number, f"{key} is defined twice",
                f"{key} is already set on line {result.entries[key].line}; keep one"))
            continue
        result.entries[key] = Entry(value, number)
    return result


class _Stop(Exception):
    def __init__(self, message: str, hint: str, resume: int | None) -> None:
        super().__init__(message)
        self.hint = hint
        self.resume = resume  # the line index to go on from; None: the rest cannot be read


_QUOTE_NAMES = {"'": "single", '"': "double"}


def _value(key: str, rest: str, lines: list[str], i: int, result: Dotenv,
           environ: Mapping[str, str]) -> tuple[str, int]:
    """The value starting at `rest`, and the index of the line after it."""
    if rest[:1] not in ("'", '"'):
        value = re.split(r"[ \t]#", rest, maxsplit=1)[0].rstrip()
        return _expand(value, key, result, environ, resume=i), i
    quote, body = rest[0], rest[1:]
    while (end := _closing(body, quote)) is None:
        if i >= len(lines):
            raise _Stop(f"{key}: the {_QUOTE_NAMES[quote]} quote opened here is never closed",
                        f"close the value with {quote}", resume=None)
        body += "\n" + lines[i]
        i += 1
    after = body[end + 1:]
    if after.strip() and not re.match(r"[ \t]+#", after):
        raise _Stop(f"{key}: unexpected text after the closing quote",
                    "put a comment after a space and #, or quote the whole value", resume=i)
    if quote == "'":
        return body[:end], i
    return _expand(_unescape(body[:end]), key, result, environ, resume=i).replace(_ESCAPED_DOLLAR, "$"), i


def _closing(body: str, quote: str) -> int | None:
    """The index of the closing quote in `body` (backslash escapes count in double quotes)."""
    j = 0
    while j < len(body):
        if quote == '"' and body[j] == "\\":
            j += 2
        elif body[j] == quote:
            return j
        else:
            j += 1
    return None


_ESCAPED_DOLLAR = "\x00"  # stands for an escaped `\$` until ${...} has been expanded


def _unescape(raw: str) -> str:
    def one(match: re.Match[str]) -> str:
        char = match.group(1)
        return _ESCAPED_DOLLAR if char == "$" else _ESCAPES.get(char, "\\" + char)

    return re.sub(r"\\(.)", one, raw, flags=re.DOTALL)


def _expand(value: str, key: str, result: Dotenv, environ: Mapping[str, str], *, resume: int) -> str:
    if "${" in _REFERENCE.sub("", value):
        raise _Stop(f"{key}: malformed ${{...}} reference",
                    "write ${NAME} with a variable name, or single-quote the value to keep $ "
                    "literally", resume=resume)

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in environ:
            return environ[name]
        if name in result.entries:
            return result.entries[name].value
        raise _Stop(f"{key}: ${{{name}}} is not defined (not in the environment, nor earlier in "
                    "this file)", f"define {name} above this line, or single-quote the value to "
                    "keep ${...} literally", resume=resume)

    return _REFERENCE.sub(one, value)
