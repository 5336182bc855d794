"""Statements exactly as the Supabase CLI splits a migration file.

`supabase db push` stores each file in the ledger as the list
`parser.SplitAndTrim(file)` returns (supabase/cli pkg/parser: token.go and
state.go; pkg/migration/file.go). To write rows byte-identical to the CLI's,
and to compare files with rows the CLI wrote, we split the same way: this is a
port of that state machine, quirks included (a nested "(" ends at the first
")"; "/*/" closes a block comment; "$$$" closes an empty dollar quote), since
matching the CLI matters more here than matching PostgreSQL's lexer.

Each state's `step` mirrors the Go `Next(r, data)`: `data` is the token read
so far including the current character; returning None emits the token. For
speed, `skip` lets a state jump over characters that cannot change it (the
body of a dollar quote, a comment, a string) - same result, fewer steps.
"""

from __future__ import annotations

import re

BEGIN_ATOMIC = "ATOMIC"  # BEGIN is omitted in the CLI too: whitespace may sit between them
END_ATOMIC = "END"

# Go's unicode.IsSpace, for strings.TrimSpace (Python's isspace adds \x1c-\x1f).
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + \
    "\u2028\u2029\u202f\u205f\u3000"


class State:
    def step(self, ch: str, text: str, start: int, end: int) -> State | None:
        raise NotImplementedError

    def skip(self, text: str, start: int, pos: int) -> int:
        """The next position that may change this state (pos itself if unknown)."""
        return pos


# Characters ReadyState.Next does something with; anything else leaves it as it is.
_READY_SPECIAL = re.compile(r"[$'\"\-/\\;(cC]")


class Ready(State):
    def step(self, ch, text, start, end):
        if ch == "$":
            return Tag(offset=end - 1)
        if ch in "'\"":
            return Quote(ch)
        if ch == "-":
            return Comment()
        if ch == "/":
            return Block()
        if ch == "\\":
            return Escape()
        if ch == ";":
            return None
        if ch == "(":
            return Atomic(self, ")")
        if ch in "cC":
            offset = end - len(BEGIN_ATOMIC)
            if (offset > start and text[offset:end].upper() == BEGIN_ATOMIC
                    and text[offset - 1] in _GO_SPACE):
                return Atomic(self, END_ATOMIC)
        return self

    def skip(self, text, start, pos):
        match = _READY_SPECIAL.search(text, pos)
        return match.start() if match else len(text)


class Comment(State):
    """After one '-': a second starts a line comment (no escapes, like a dollar quote)."""

    def step(self, ch, text, start, end):
        if ch == "-":
            return Dollar("\n", opened=end)
        return Ready().step(ch, text, start, end)


class Block(State):
    def __init__(self) -> None:
        self.depth = 0

    def step(self, ch, text, start, end):
        window = text[max(start, end - 2):end]
        if window == "/*":
            self.depth += 1
            return self
        if self.depth == 0:
            return Ready().step(ch, text, start, end)
        if window == "*/":
            self.depth -= 1
            if self.depth == 0:
                return Ready()
        return self


class Quote(State):
    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter
        self.escape = False

    def step(self, ch, text, start, end):
        if self.escape:
            if ch == self.delimiter:  # a doubled quote stays inside
                self.escape = False
                return self
            return Ready().step(ch, text, start, end)
        if ch == self.delimiter:
            self.escape = True
        return self

    def skip(self, text, start, pos):
        if self.escape:
            return pos
        found = text.find(self.delimiter, pos)
        return found if found >= 0 else len(text)


class Dollar(State):
    """Inside $tag$...$tag$ (or a line comment up to '\\n'): nothing is escaped."""

    def __init__(self, delimiter: str, opened: int) -> None:
        self.delimiter = delimiter
        self.opened = opened  # end of the character that opened it

    def step(self, ch, text, start, end):
        if end - start >= len(self.delimiter) and text.endswith(self.delimiter, start, end):
            return Ready()
        return self

    def skip(self, text, start, pos):
        # The first end e > opened with text[:e] ending in the delimiter.
        earliest = max(start, self.opened + 1 - len(self.delimiter))
        found = text.find(self.delimiter, max(earliest, pos - len(self.delimiter) + 1))
        if found < 0:
            return len(text)
        return max(pos, found + len(self.delimiter) - 1)


class Tag(State):
    def __init__(self, offset: int) -> None:
        self.offset = offset

    def step(self, ch, text, start, end):
        if ch == "$":
            return Dollar(text[self.offset:end], opened=end)
        if ch.isalpha() or ch.isdecimal() or ch == "_":
            return self
        return Ready().step(ch, text, start, end)


class Escape(State):
    def step(self, ch, text, start, end):
        return Ready()


class Atomic(State):
    """Inside parentheses or BEGIN ATOMIC ... END: a ';' there ends nothing."""

    def __init__(self, prev: State, delimiter: str) -> None:
        self.prev = prev
        self.delimiter = delimiter

    def step(self, ch, text, start, end):
        current = self.prev.step(ch, text, start, end)
        if current is not None:
            self.prev = current
        if isinstance(self.prev, Ready):
            window = text[max(start, end - len(self.delimiter)):end]
            if window.upper() == self.delimiter.upper():
                return Ready()
        return self


def split(text: str) -> list[str]:
    """parser.SplitAndTrim: tokens ending at ';', trailing ';' and whitespace trimmed, empties dropped."""
    statements = []
    for token in _tokens(text):
        trimmed = token.rstrip(";").strip(_GO_SPACE)
        if trimmed:
            statements.append(trimmed)
    return statements


def _tokens(text: str) -> list[str]:
    tokens = []
    start, pos, state = 0, 0, Ready()
    while pos < len(text):
        pos = state.skip(text, start, pos)
        if pos >= len(text):
            break
        end = pos + 1
        state = state.step(text[pos], text, start, end)
        if state is None:
            tokens.append(text[start:end])
            start, state = end, Ready()
        pos = end
    if start < len(text):
        tokens.append(text[start:])  # a final, unterminated token
    return tokens
