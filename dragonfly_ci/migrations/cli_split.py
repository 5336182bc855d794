"""The Supabase CLI's statement splitter, ported so our ledger rows match its rows.

`supabase db push` stores every migration file in
`supabase_migrations.schema_migrations.statements` split into statements by a
small state machine (not by a SQL parser). To write rows byte-identical to the
CLI's, and to compare a file with the statements the CLI stored for it, we split
exactly as it does, quirks included.

Source. The splitter is `pkg/parser` of github.com/supabase/cli (`token.go`:
`Split`, `SplitAndTrim`, `tokenizer.ScanToken`; `state.go`: `ReadyState`,
`CommentState`, `BlockState`, `QuoteState`, `DollarState`, `TagState`,
`EscapeState`, `AtomicState`, `isBeginAtomic`, `isIdentifierRune`), used by
`pkg/migration/file.go` (`NewMigrationFromFile` -> `parseFile` ->
`parser.SplitAndTrim`; `ExecBatch` sends those statements and stores them in
the same batch). The npm CLI 2.117.0, the release we pin, applies migrations
in TypeScript: `db push` and `migration repair --status applied` both store
`legacySplitAndTrim(file)` (`apps/cli/src/command-internal/sql-split.ts`,
"ported 1:1 from Go's pkg/parser"; checked against the code bundled in the
2.117.0 binary and against rows it wrote). That code is the Go algorithm of
the same time: `isBeginAtomic` checks identifier boundaries on both sides of
`BEGIN ATOMIC`, while `AtomicState` closes the body at any `end` (later
releases changed that, see `AtomicState`). Where JavaScript strings make it
differ from the Go code (UTF-16 units, JavaScript's whitespace), the comments
say so and we follow what runs.

The rules, in short:

- A `;` outside quotes, comments, dollar quotes, parentheses and a
  `BEGIN ATOMIC ... END` body ends a statement. The rest of the file after the
  last `;` is a statement too.
- `--` comments run to the newline; `/* */` comments nest; `'...'` and `"..."`
  end at the next lone quote (a doubled quote stays inside); `$tag$ ... $tag$`
  contains anything; a backslash outside quotes escapes the next character.
  A backslash inside quotes escapes nothing, so `E'it\\'s; x'` is cut at `;`.
- Quirks kept: the first `)` closes every open parenthesis; `/*/` opens and
  closes a comment; `$$$` closes an empty dollar quote; any `end`, even inside
  `pending` or `case ... end`, closes a `BEGIN ATOMIC` body, but not one
  that right follows `$1;` (the `$` still counts as an open tag).
- Each statement is stored with every trailing `;` removed, then surrounding
  whitespace trimmed; comments before a statement stay in it. Statements that
  trim to nothing are dropped.

A size limit on tokens applies only when `SUPABASE_SCANNER_BUFFER_SIZE` is set
(`scanner_buffer_error`); without it the CLI reads statements of any size.

Other CLI releases split some texts differently; `is_split_of` tells whether
stored statements are a splitting of a text by any of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

# ---------------------------------------------------------------------------
# Limits (token.go: startBufSize, MaxScannerCapacity; the CLI's i6 check).
# ---------------------------------------------------------------------------

#: `startBufSize`: the smallest effective scanner buffer when a size is set.
SCANNER_MIN_BUFFER_SIZE = 4096
#: `MaxScannerCapacity`: the buffer when `SUPABASE_SCANNER_BUFFER_SIZE` is set
#: but is not a positive size.
SCANNER_DEFAULT_BUFFER_SIZE = 256 * 1024
#: No limit on a statement's size unless `SUPABASE_SCANNER_BUFFER_SIZE` is set:
#: the Go CLI raises its buffer to the file's size (`parseFile`), the TypeScript
#: CLI checks only when the variable is set.
MAX_STATEMENT_SIZE: int | None = None
#: The environment variable that sets the scanner buffer.
SCANNER_BUFFER_ENV = "SUPABASE_SCANNER_BUFFER_SIZE"

# state.go: BEGIN is matched separately, so any whitespace may separate the words.
_BEGIN = "BEGIN"
_BEGIN_ATOMIC = "ATOMIC"
_END_ATOMIC = "END"

# JavaScript's `\s` and `String.prototype.trim` set (WhiteSpace + LineTerminator).
# Go's `unicode.IsSpace` differs in two characters: it has U+0085 and lacks
# U+FEFF. The CLI that runs is the TypeScript one, so a byte-order mark at the
# start of a file is trimmed away and a U+0085 is kept.
_JS_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def _is_identifier_rune(ch: str) -> bool:
    """state.go `isIdentifierRune`: a letter, a decimal digit, `_` or `$`.

    The TypeScript port tests one UTF-16 unit (`data[offset - 1]`), so a
    character outside the Basic Multilingual Plane (seen as a lone surrogate)
    never counts; we follow that.
    """
    if ch in "_$":
        return True
    if ord(ch) > 0xFFFF:
        return False
    category = unicodedata.category(ch)
    return category[0] == "L" or category == "Nd"


def _is_tag_rune(ch: str) -> bool:
    """`TagState.Next`: a dollar-quote tag holds letters, decimal digits and `_`.

    Categories come from Python's Unicode database; a letter newer than it is
    not a letter here.
    """
    if ch == "_":
        return True
    category = unicodedata.category(ch)
    return category[0] == "L" or category == "Nd"


def _upper_equals(text: str, keyword: str) -> bool:
    """JavaScript `text.toUpperCase() === keyword` (Go: `strings.EqualFold`).

    Full Unicode upper-casing, as in JavaScript: `atomıc` (dotless i) matches
    `ATOMIC` here, as it does in the CLI that runs.
    """
    return len(text) == len(keyword) and text.upper() == keyword


class _Token:
    """The text read so far for the current statement: `text[start:end]`.

    The Go code passes this as `data []byte`, the TypeScript code as a string
    that grows by one character per step; a view over the whole file avoids
    copying it for every character.
    """

    __slots__ = ("end", "start", "text")

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text = text
        self.start = start
        self.end = end

    def __len__(self) -> int:
        return self.end - self.start

    def tail(self, size: int) -> str:
        """`data[len(data)-size:]`, clipped at the start of the token."""
        return self.text[max(self.start, self.end - size):self.end]


class _State:
    """state.go `State`: `next` returns the next state, or None to emit the token."""

    __slots__ = ()

    def next(self, ch: str, data: _Token) -> _State | None:  # pragma: no cover - abstract
        raise NotImplementedError


def _is_begin_atomic(data: _Token) -> bool:
    """state.go `isBeginAtomic`: the token ends with the keywords `BEGIN ATOMIC`.

    `ATOMIC` must not follow an identifier character, and the text before it,
    less trailing whitespace, must end with `BEGIN` not following one either.
    """
    offset = data.end - len(_BEGIN_ATOMIC)
    if offset < data.start or not _upper_equals(data.text[offset:data.end], _BEGIN_ATOMIC):
        return False
    if offset > data.start and _is_identifier_rune(data.text[offset - 1]):
        return False
    end = offset
    while end > data.start and data.text[end - 1] in _JS_WHITESPACE:
        end -= 1
    offset = end - len(_BEGIN)
    if offset < data.start or not _upper_equals(data.text[offset:end], _BEGIN):
        return False
    if offset == data.start:
        return True
    return not _is_identifier_rune(data.text[offset - 1])


class _ReadyState(_State):
    """state.go `ReadyState`: between literals, ready for the next token."""

    __slots__ = ()

    def next(self, ch: str, data: _Token) -> _State | None:
        if ch == "$":
            return _TagState(data.end - 1)
        if ch in "'\"":
            return _QuoteState(ch)
        if ch == "-":
            return _CommentState()
        if ch == "/":
            return _BlockState()
        if ch == "\\":
            return _EscapeState()
        if ch == ";":
            return None  # emit the token
        if ch == "(":
            return _AtomicState(_READY, ")")
        if ch in "cC" and _is_begin_atomic(data):
            return _AtomicState(_READY, _END_ATOMIC)
        return self


# ReadyState holds nothing, so one instance serves everywhere the Go code makes a new one.
_READY = _ReadyState()


class _CommentState(_State):
    """state.go `CommentState`: one `-` seen; a second one opens a line comment."""

    __slots__ = ()

    def next(self, ch: str, data: _Token) -> _State | None:
        if ch == "-":
            # Nothing is escaped in a comment: a "dollar quote" closed by the newline.
            return _DollarState("\n")
        return _READY.next(ch, data)


class _BlockState(_State):
    """state.go `BlockState`: one `/` seen; `/*` opens a comment, which nests.

    The open and close marks are found in a sliding two-character window, so
    `/*/` opens and closes at once, as in the CLI.
    """

    __slots__ = ("depth",)

    def __init__(self) -> None:
        self.depth = 0

    def next(self, ch: str, data: _Token) -> _State | None:
        window = data.tail(2)
        if window == "/*":
            self.depth += 1
            return self
        if self.depth == 0:
            return _READY.next(ch, data)
        if window == "*/":
            self.depth -= 1
            if self.depth == 0:
                return _READY
        return self


class _QuoteState(_State):
    """state.go `QuoteState`: inside `'...'` or `"..."`; a doubled quote stays inside."""

    __slots__ = ("delimiter", "escape")

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter
        self.escape = False

    def next(self, ch: str, data: _Token) -> _State | None:
        if self.escape:
            if ch == self.delimiter:  # '' inside '...'
                self.escape = False
                return self
            return _READY.next(ch, data)
        if ch == self.delimiter:
            self.escape = True
        return self


class _DollarState(_State):
    """state.go `DollarState`: inside a dollar quote (or a line comment) until the delimiter."""

    __slots__ = ("delimiter",)

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter

    def next(self, ch: str, data: _Token) -> _State | None:
        if data.tail(len(self.delimiter)) == self.delimiter:
            return _READY
        return self


class _TagState(_State):
    """state.go `TagState`: a `$` seen at `offset`; `$tag$` opens a dollar quote."""

    __slots__ = ("offset",)

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def next(self, ch: str, data: _Token) -> _State | None:
        if ch == "$":
            return _DollarState(data.text[self.offset:data.end])
        if _is_tag_rune(ch):
            return self
        return _READY.next(ch, data)


class _EscapeState(_State):
    """state.go `EscapeState`: a backslash outside quotes; the next character is skipped."""

    __slots__ = ()

    def next(self, ch: str, data: _Token) -> _State | None:
        return _READY


class _AtomicState(_State):
    """state.go `AtomicState`: inside `( ... )` or a `BEGIN ATOMIC ... END` body.

    The inner text goes through its own state machine, so a delimiter inside a
    quote or comment does not count and a `;` does not end the statement. The
    body closes when, at ready state, the token ends with the delimiter, compared
    case-insensitively with no word boundary: `)` of a nested pair closes the
    outer one too, and any `end` (`pending`, `case ... end`) closes a
    `BEGIN ATOMIC` body. CLI releases after 2.117.0 close at an `END` keyword
    only (supabase/cli#6562, #6587), so their rows differ for such bodies.
    """

    __slots__ = ("delimiter", "prev")

    def __init__(self, prev: _State, delimiter: str) -> None:
        self.prev = prev
        self.delimiter = delimiter

    def next(self, ch: str, data: _Token) -> _State | None:
        current = self.prev.next(ch, data)
        if current is not None:
            self.prev = current
        if self.prev is _READY and data.tail(len(self.delimiter)).upper() == self.delimiter:
            return _READY
        return self


@dataclass(frozen=True)
class Token:
    """One token of `Split` (no transform): the raw text between separators.

    `start`/`end` are character offsets of `raw` in the file; `terminated` is
    False only for text after the last separator. `statement` is what
    `SplitAndTrim` stores for it (possibly empty, then it is not stored).
    """

    raw: str
    start: int
    end: int
    terminated: bool

    @property
    def statement(self) -> str:
        return _trim(self.raw)

    @property
    def statement_start(self) -> int:
        """The character offset in the file where `statement` begins."""
        kept = self.raw.rstrip(";")
        return self.start + len(kept) - len(kept.lstrip(_JS_WHITESPACE))


def _trim(raw: str) -> str:
    """`SplitAndTrim`'s transform: `strings.TrimRight(token, ";")`, then trim whitespace."""
    return raw.rstrip(";").strip(_JS_WHITESPACE)


def tokens(text: str) -> list[Token]:
    """token.go `Split` with no transform: every raw token, empty ones included.

    `tokenizer.ScanToken` feeds the state machine one character at a time and
    emits the text read so far when a state returns None; text left at the end
    is a last, unterminated token.
    """
    found: list[Token] = []
    state: _State = _READY
    data = _Token(text, 0, 0)
    for end, ch in enumerate(text, start=1):
        data.end = end
        following = state.next(ch, data)
        if following is None:
            found.append(Token(text[data.start:end], data.start, end, True))
            data = _Token(text, end, end)
            state = _READY
        else:
            state = following
    if data.start < len(text):
        found.append(Token(text[data.start:], data.start, len(text), False))
    return found


def split(text: str) -> list[str]:
    """token.go `SplitAndTrim`: the statements the CLI stores for a file's text.

    `text` is the file decoded as UTF-8, byte-order mark included or not (it is
    trimmed either way).
    """
    statements: list[str] = []
    for token in tokens(text):
        statement = token.statement
        if statement:
            statements.append(statement)
    return statements


# Whitespace some CLI release may trim: JavaScript's set (the npm CLI) and U+0085,
# which Go's `unicode.IsSpace` adds (the Go CLI, which keeps a byte-order mark).
_ANY_WHITESPACE = _JS_WHITESPACE + "\u0085"


def is_split_of(text: str, statements: Sequence[str]) -> bool:
    """Whether `statements` could be what some CLI version stored for `text`.

    CLI releases split differently (2.117.0 closes a `BEGIN ATOMIC` body at any
    `end`, 3.x only at an `END` keyword and knows `E'...'` escapes; the Go CLI
    keeps a byte-order mark the TypeScript one trims), but every one of them
    cuts the file at some `;` characters and trims whitespace and trailing `;`.
    So the statements must appear in order in the text, with only whitespace and
    `;` around them and at least one `;` between two of them. True for
    `split(text)`; False once anything but whitespace or `;` placement changed.
    """
    position = 0
    for index, statement in enumerate(statements):
        found = text.find(statement, position) if statement else -1
        while found >= 0:
            gap = text[position:found]
            if any(ch not in _ANY_WHITESPACE and ch != ";" for ch in gap):
                return False
            if index == 0 or ";" in gap:
                break
            found = text.find(statement, found + 1)
        if found < 0:
            return False
        position = found + len(statement)
    return all(ch in _ANY_WHITESPACE or ch == ";" for ch in text[position:])


# ---------------------------------------------------------------------------
# SUPABASE_SCANNER_BUFFER_SIZE, as the TypeScript CLI checks it before applying
# a file (Go: bufio.Scanner's ErrTooLong in `Split`).
# ---------------------------------------------------------------------------


def _parse_int(text: str) -> int | None:
    """Go `strconv.ParseInt(s, 0, 64)`, as the CLI's port does it (viper's cast.ToInt)."""
    negative = text.startswith("-")
    digits = text[1:] if negative or text.startswith("+") else text
    base, body = 10, digits
    prefix = digits[:2].lower()
    if prefix in _BASE_PREFIXES:
        base, body = _BASE_PREFIXES[prefix], digits[2:]
    elif len(digits) > 1 and digits[0] == "0":
        base, body = 8, digits[1:]
    # Underscores only between digits, or right after a base prefix.
    pattern = _DIGITS[base]
    if not re.fullmatch(("_?" if base != 10 else "") + f"[{pattern}](?:_?[{pattern}])*", body):
        return None
    value = int(body.replace("_", ""), base)
    value = -value if negative else value
    return value if -(2**63) <= value < 2**63 else None


_BASE_PREFIXES = {"0x": 16, "0o": 8, "0b": 2}
_DIGITS = {16: "0-9a-fA-F", 10: "0-9", 8: "0-7", 2: "01"}


def _truncate_decimal(text: str) -> str:
    """cast.ToInt's handling of `12.5` as the CLI ports it: keep the integer part."""
    match = re.fullmatch(r"([+-]?[0-9]*)(?:\.[0-9]*)?", text) if "." in text else None
    if match is None:
        return text
    head = match.group(1)
    if head in ("+", "-"):
        return head + "0"
    return head or "0"


def parse_buffer_size(setting: str) -> int:
    """viper `GetSizeInBytes`: `"5MB"` -> 5242880; 0 when it is not a positive size."""
    text = setting.strip(_JS_WHITESPACE)
    multiplier = 1
    last = len(text) - 1
    if last > 1 and text[last] in "bB":
        unit = text[last - 1].lower()
        if unit in ("k", "m", "g"):
            multiplier = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]
            text = text[:last - 1].strip(_JS_WHITESPACE)
        else:
            text = text[:last].strip(_JS_WHITESPACE)
    value = _parse_int(_truncate_decimal(text))
    return value * multiplier if value is not None and value > 0 else 0


def scanner_buffer_error(text: str, setting: str | None) -> str | None:
    """The CLI's refusal of a file whose token exceeds the scanner buffer, or None.

    `setting` is `SUPABASE_SCANNER_BUFFER_SIZE` (None when unset: no limit).
    Sizes are UTF-8 bytes of the raw token; a terminated token may fill the
    buffer exactly, an unterminated last one must stay below it (bufio.Scanner
    only checks when it needs more data).
    """
    if setting is None:
        return None
    size = parse_buffer_size(setting)
    limit = max(size, SCANNER_MIN_BUFFER_SIZE) if size > 0 else SCANNER_DEFAULT_BUFFER_SIZE
    reported = size if size > 0 else SCANNER_DEFAULT_BUFFER_SIZE
    count, previous = 0, ""
    for token in tokens(text):
        length = len(token.raw.encode("utf-8"))
        if length > limit if token.terminated else length >= limit:
            return (
                "bufio.Scanner: token too long\n"
                f"After statement {count}: {previous}\n"
                f"Try setting {SCANNER_BUFFER_ENV}=5MB (current size is {reported // 1024}KB)"
            )
        previous = token.raw
        if token.statement:
            count += 1
    return None


def _tokens(text: str) -> list[str]:
    """The raw token texts of `tokens` (the Go `Split` output), for tests/test_cli_split_vectors.py."""
    return [token.raw for token in tokens(text)]
