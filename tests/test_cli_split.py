"""`cli_split`: the Supabase CLI's statement splitter (what `db push` stores).

Expected outputs are the CLI's: the Go test vectors of `pkg/parser`
(state_test.go, token_test.go) and cases of our own, all of which
tests/test_supabase_cli.py also stores through the real CLI (2.117.0) and
compares. `cli_corpus()` is that shared list.
"""

from __future__ import annotations

import pytest

from dragonfly_ci.migrations.cli_split import (
    MAX_STATEMENT_SIZE,
    SCANNER_DEFAULT_BUFFER_SIZE,
    SCANNER_MIN_BUFFER_SIZE,
    is_split_of,
    parse_buffer_size,
    scanner_buffer_error,
    split,
    tokens,
)

# pkg/parser/state_test.go (the release with `isBeginAtomic`, matching CLI
# 2.117.0): `checkSplit` joins the pieces and expects `Split` (no trimming) to
# return them unchanged. Keys are the Go test and subtest names.
GO_STATE_TEST: dict[str, list[str]] = {
    "TestLineComment/after separator": ["END;", "-- comment"],
    "TestLineComment/before separator": ["SELECT --; 1"],
    "TestLineComment/not started": ["- ;", "END"],
    "TestLineComment/between lines": ["-- /* \n;", " */ END"],
    "TestBlockComment/contains separator": ["SELECT /* ; */ 1;"],
    "TestBlockComment/nested block": ["SELECT /*; /*;*/ ;*/ 1"],
    "TestBlockComment/not started": ["/ * ;", " */ END"],
    "TestSeparator/no spaces": [";", "END;", ";"],
    "TestSeparator/between spaces": ["BEGIN   ;", "  END"],
    "TestSeparator/backslash escaped": ["\\;;", "\\;"],
    "TestDollarQuote/named tag": ["$tag$ any ; string$tag$"],
    "TestDollarQuote/anonymous tag": ['$$"Dane\'s horse"$$'],
    "TestDollarQuote/not started": ['SELECT "$";', " $$"],
    "TestSingleQuote/escapes separator": ["SELECT ';' 1"],
    "TestSingleQuote/preserves single quote": ["SELECT ';'';' 1"],
    "TestSingleQuote/literal backslash": ["SELECT '\\';", " 1'"],
    "TestDoubleQuote/escapes separator": ['CREATE POLICY "cats;dogs" on cats_dogs;', " END"],
    "TestDoubleQuote/preserves single quote": ['CREATE POLICY "cat\'s and dog\'s" on cats_dogs;', " END"],
    "TestDoubleQuote/preserves double quote": ['CREATE POLICY "pet""name" on pets;', " END"],
    "TestParentheses/preserves parentheses": [
        'CREATE RULE notify_me AS ON UPDATE TO mytable DO (NOTIFY mytable; SELECT "1");',
        "SELECT 1",
    ],
    "TestParentheses/ignores literals": [
        "CREATE RULE notify_me AS ON UPDATE TO mytable DO (-- )\nSELECT ')';\n-- )\n)\n",
    ],
    "TestBeginAtomic/inline body": [
        "CREATE FUNCTION add(a integer, b integer) RETURNS integer\nLANGUAGE SQL\n"
        "IMMUTABLE STRICT PARALLEL SAFE\nRETURNS NULL ON NULL INPUT\nBEGIN ATOMIC\n"
        "\tSELECT 'add';\n\tSELECT a + b;\nEND;",
    ],
    "TestBeginAtomic/case insenstive": ["begin atomic; select 'end'; end"],
    "TestBeginAtomic/ignores literals": ["CREATE FUNCTION test() BEGIN\nATOMIC-- END;\n-- END;\nEND\n;"],
    **{
        f"TestBeginAtomic/ignores atomic in identifiers/{name}": [
            f"CREATE OR REPLACE FUNCTION {name}()\nRETURNS void LANGUAGE plpgsql AS $$\n"
            "BEGIN\n  NULL;\nEND;\n$$;",
            "\nSELECT 1;",
        ]
        for name in ["fn_atomic", "atomic_fn", "my_atomic_thing", "xatomicx", "fn_ATomiC"]
    },
    "TestBeginAtomic/does not treat schema-qualified atomic function names as begin atomic": [
        "CREATE OR REPLACE FUNCTION public.atomic_example()\nRETURNS INTEGER\nLANGUAGE plpgsql\n"
        "AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$;",
        "\nGRANT EXECUTE ON FUNCTION public.atomic_example() TO authenticated;",
    ],
}

_F = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT "

# state_test.go cases added after 2.117.0 (supabase/cli#6562, #6587 and later):
# the later CLI keeps each of these bodies whole; 2.117.0, whose `AtomicState`
# closes at any `end` and whose `TagState` knows only letters and digits, splits
# them as below. The Go subtest names the case; the value is (input, 2.117.0's tokens).
LATER_GO_TESTS: dict[str, tuple[str, list[str]]] = {
    "TestBeginAtomic/ignores end inside identifiers/pending": (
        _F + "1 AS pending; END; SELECT 2;",
        [_F + "1 AS pending;", " END;", " SELECT 2;"],
    ),
    "TestBeginAtomic/ignores identifiers starting with end/endpoint": (
        _F + "endpoint; SELECT 1; END; SELECT 2;",
        [_F + "endpoint;", " SELECT 1;", " END;", " SELECT 2;"],
    ),
    "TestBeginAtomic/ignores end inside inner statements/CASE WHEN true THEN 1 ELSE 0 END": (
        _F + "CASE WHEN true THEN 1 ELSE 0 END; SELECT 1; END; SELECT 2;",
        [_F + "CASE WHEN true THEN 1 ELSE 0 END;", " SELECT 1;", " END;", " SELECT 2;"],
    ),
    "TestBeginAtomic/closes at end preceded only by comments/-- note END": (
        _F + "1; -- note END\nEND; SELECT 2;",
        [_F + "1; -- note END\nEND;", " SELECT 2;"],  # the same in both releases
    ),
    "TestBeginAtomic/ignores non-ASCII begin atomic lookalikes": (
        # JavaScript upper-cases the dotless ı to I, so 2.117.0 opens a body here.
        "BEGIN atomıc; SELECT 'end'; SELECT 2;",
        ["BEGIN atomıc; SELECT 'end'; SELECT 2;"],
    ),
    "TestBeginAtomic/closes atomic body at end right after a positional parameter": (
        # `$1;` leaves the body's inner state in TagState, so END never closes it.
        "CREATE FUNCTION f(int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT $1;END; SELECT 2;",
        ["CREATE FUNCTION f(int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT $1;END; SELECT 2;"],
    ),
    "TestBeginAtomic/requires sql whitespace between begin and atomic/U+00A0": (
        "BEGIN \u00a0 ATOMIC; SELECT 1; end; SELECT 2;",
        ["BEGIN \u00a0 ATOMIC; SELECT 1; end;", " SELECT 2;"],
    ),
    "TestBeginAtomic/requires sql whitespace between begin and atomic/U+FEFF": (
        "BEGIN \ufeff ATOMIC; SELECT 1; end; SELECT 2;",
        ["BEGIN \ufeff ATOMIC; SELECT 1; end;", " SELECT 2;"],
    ),
    "TestBeginAtomic/requires sql whitespace between begin and atomic/U+0085": (
        "BEGIN \u0085 ATOMIC; SELECT 1; end; SELECT 2;",  # not whitespace to JavaScript either
        ["BEGIN \u0085 ATOMIC;", " SELECT 1;", " end;", " SELECT 2;"],
    ),
    "TestBeginAtomic/closes nested atomic body inside parentheses": (
        "DO (BEGIN ATOMIC SELECT 1; END; ); SELECT 2;",
        ["DO (BEGIN ATOMIC SELECT 1; END; );", " SELECT 2;"],  # the same in both releases
    ),
    "TestBeginAtomic/ignores end after overlapping block comment": (
        _F + "1; /* a /*/ b */ SELECT 2 END; SELECT 3; END; SELECT 4;",
        [_F + "1; /* a /*/ b */ SELECT 2 END;", " SELECT 3;", " END;", " SELECT 4;"],
    ),
    "TestDollarQuote/non-ASCII named tag/a²": (
        "$a²$ any ; END; string$a²$; SELECT 2;",  # ² is not a decimal digit: no tag
        ["$a²$ any ;", " END;", " string$a²$;", " SELECT 2;"],
    ),
    "TestDollarQuote/non-ASCII named tag/á": (
        "$á$ any ; END; string$á$; SELECT 2;",
        ["$á$ any ; END; string$á$;", " SELECT 2;"],
    ),
}

_BODY = "create function f() returns int language plpgsql as $$\nbegin\n  return 1;\nend;\n$$"

# Our cases: what the CLI stores (`SplitAndTrim`) for a file's text.
CASES: dict[str, tuple[str, list[str]]] = {
    "trailing semicolons are removed": ("select 1;;\nselect 2 ;", ["select 1", "select 2"]),
    "every trailing semicolon of a token goes": ("x\\;;", ["x\\"]),
    "final statement without semicolon": ("select 1;\nselect 2\n", ["select 1", "select 2"]),
    "empty statements are dropped": (";;  ;\n\n;", []),
    "empty file": ("", []),
    "leading comment stays, whitespace is trimmed": (
        "\n\n-- header\n\ncreate table t (id int);\n",
        ["-- header\n\ncreate table t (id int)"],
    ),
    "trailing comment is a statement of its own": ("select 1;\n-- bye\n", ["select 1", "-- bye"]),
    "line comment hides separators and quotes": ("select 1 -- it's; here\n;", ["select 1 -- it's; here"]),
    "nested block comments": ("/* a /* b; */ c; */ select 1;", ["/* a /* b; */ c; */ select 1"]),
    "/*/ opens and closes a block comment": ("/*/ ; */ select 1;", ["/*/", "*/ select 1"]),
    "dollar-quoted body keeps its semicolons": (_BODY + ";\nselect f();", [_BODY, "select f()"]),
    "named dollar tag with $$ inside": (
        "do $body$ begin perform $$;$$; end $body$;\nselect 2;",
        ["do $body$ begin perform $$;$$; end $body$", "select 2"],
    ),
    "$$$ closes an empty dollar quote": ("select $$$; select 1;", ["select $$$", "select 1"]),
    "$ inside an identifier opens a tag": ("select a$b; select 1;", ["select a$b", "select 1"]),
    "quoted identifier with separator and doubled quote": (
        'create table "a;""b" (id int); select 1;',
        ['create table "a;""b" (id int)', "select 1"],
    ),
    "E-string backslash quote ends the string for the CLI": (
        "select E'it\\'s; fine';",
        ["select E'it\\'s", "fine'"],
    ),
    "E-string doubled quote stays inside": ("select E'it''s; fine';", ["select E'it''s; fine'"]),
    "backslash outside quotes escapes a separator": ("select 1 \\; select 2;", ["select 1 \\; select 2"]),
    "parentheses hold separators": (
        "create rule r as on insert to t do also (notify a; notify b); select 1;",
        ["create rule r as on insert to t do also (notify a; notify b)", "select 1"],
    ),
    "a nested ) closes the outer parenthesis too": (
        "create rule r as on insert to t do also (insert into a values (1); "
        "insert into b values (2)); select 1;",
        [
            "create rule r as on insert to t do also (insert into a values (1)",
            "insert into b values (2))",
            "select 1",
        ],
    ),
    "begin atomic body keeps inner statements": (
        "create function f() returns int language sql\nbegin atomic\n  select 1;\n  select 2;\nend;\n"
        "select f();",
        ["create function f() returns int language sql\nbegin atomic\n  select 1;\n  select 2;\nend",
         "select f()"],
    ),
    "begin and atomic on separate lines": (
        "create function f() returns int language sql BEGIN\n\t  ATOMIC select 1; END; select 2;",
        ["create function f() returns int language sql BEGIN\n\t  ATOMIC select 1; END", "select 2"],
    ),
    "begin atomic body closes at any 'end' (2.117.0)": (
        "create function f() returns int language sql begin atomic select 1 as pending; end; select 2;",
        ["create function f() returns int language sql begin atomic select 1 as pending", "end",
         "select 2"],
    ),
    "atomic without begin is an identifier": (
        "select 1 atomic; select 2;",
        ["select 1 atomic", "select 2"],
    ),
    "atomic after a qualified name": ("select x.atomic; select 2;", ["select x.atomic", "select 2"]),
    "function named fn_atomic": (
        "create function fn_atomic() returns void language plpgsql as $$ begin null; end; $$;\n"
        "grant execute on function fn_atomic() to authenticated;",
        ["create function fn_atomic() returns void language plpgsql as $$ begin null; end; $$",
         "grant execute on function fn_atomic() to authenticated"],
    ),
    "byte-order mark is trimmed": ("\ufeffselect 1;\nselect 2;", ["select 1", "select 2"]),
    "byte-order mark before a comment": ("\ufeff-- c\nselect 1;", ["-- c\nselect 1"]),
    "CRLF line ends": ("-- c\r\nselect 1;\r\nselect 2;\r\n", ["-- c\r\nselect 1", "select 2"]),
    "U+0085 is not whitespace to the CLI": ("select 1;\u0085", ["select 1", "\u0085"]),
    "no-break space is whitespace": ("\u00a0select 1\u00a0;", ["select 1"]),
    "non-ASCII text": ("insert into t values ('ünïcødé; 😀');", ["insert into t values ('ünïcødé; 😀')"]),
}


def _trimmed(pieces: list[str]) -> list[str]:
    """`SplitAndTrim` of tokens given as the Go tests give them (each piece one token)."""
    return [s for s in (p.rstrip(";").strip(" \t\n\r\v\f\u00a0\ufeff") for p in pieces) if s]


def cli_corpus() -> dict[str, tuple[str, list[str]]]:
    """Every text above with the statements CLI 2.117.0 stores for it."""
    corpus = {f"go {name}": ("".join(pieces), _trimmed(pieces)) for name, pieces in GO_STATE_TEST.items()}
    corpus.update({f"go later {name}": (text, _trimmed(pieces))
                   for name, (text, pieces) in LATER_GO_TESTS.items()})
    corpus.update(CASES)
    return corpus


@pytest.mark.parametrize("name", list(GO_STATE_TEST))
def test_go_state_vectors(name: str) -> None:
    pieces = GO_STATE_TEST[name]
    text = "".join(pieces)
    assert [token.raw for token in tokens(text)] == pieces
    assert split(text) == _trimmed(pieces)


@pytest.mark.parametrize("name", list(LATER_GO_TESTS))
def test_later_go_vectors_as_2_117_splits_them(name: str) -> None:
    text, pieces = LATER_GO_TESTS[name]
    assert [token.raw for token in tokens(text)] == pieces


@pytest.mark.parametrize("name", list(CASES))
def test_split(name: str) -> None:
    text, expected = CASES[name]
    assert split(text) == expected


def test_token_split_keeps_every_character() -> None:
    # token_test.go TestSplit: `Split` returns each statement as it is, comments
    # and blank lines included, and the newline after the last `;` as a last token.
    text = (
        'CREATE SCHEMA "blocks";\n'
        "CREATE TABLE blocks.block\n(\n    id uuid PRIMARY KEY, -- the key; never reused\n"
        "    title text\n);\n\n"
        "CREATE FUNCTION blocks.touch() RETURNS trigger AS $$\nBEGIN\n  NEW.title := 'x;y';\n"
        "  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n"
    )
    found = tokens(text)
    assert [t.raw for t in found] == [
        'CREATE SCHEMA "blocks";',
        "\nCREATE TABLE blocks.block\n(\n    id uuid PRIMARY KEY, -- the key; never reused\n"
        "    title text\n);",
        "\n\nCREATE FUNCTION blocks.touch() RETURNS trigger AS $$\nBEGIN\n  NEW.title := 'x;y';\n"
        "  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;",
        "\n",
    ]
    assert [t.terminated for t in found] == [True, True, True, False]
    assert [t.statement for t in found][-1] == ""
    assert len(split(text)) == 3


def test_token_offsets_and_statement_start() -> None:
    text = "select 1;\n\n  -- two\nselect 2;;  \nselect 3"
    found = tokens(text)
    assert "".join(t.raw for t in found) == text
    assert all(text[t.start:t.end] == t.raw for t in found)
    starts = [t.statement_start for t in found if t.statement]
    assert [text[s:s + 8] for s in starts] == ["select 1", "-- two\ns", "select 3"]
    assert [t.terminated for t in found] == [True, True, True, False]


def test_no_statement_limit_without_a_buffer_setting() -> None:
    assert MAX_STATEMENT_SIZE is None
    assert scanner_buffer_error("select '" + "x" * (4 * SCANNER_DEFAULT_BUFFER_SIZE) + "'", None) is None


def test_scanner_buffer_error_as_in_token_test() -> None:
    # token_test.go TestSplitAndTrim: a token longer than the buffer fails
    # after the statements before it; an unparsable setting means 256KB.
    text = "\tBEGIN; " + "a" * SCANNER_DEFAULT_BUFFER_SIZE
    assert scanner_buffer_error(text, "not a size") == (
        "bufio.Scanner: token too long\nAfter statement 1: \tBEGIN;\n"
        "Try setting SUPABASE_SCANNER_BUFFER_SIZE=5MB (current size is 256KB)"
    )
    assert scanner_buffer_error(text, "1MB") is None


def test_scanner_buffer_boundaries() -> None:
    limit = 8 * 1024
    terminated = "x" * (limit - 1) + ";"
    assert scanner_buffer_error(terminated, "8KB") is None  # exactly the buffer: fits
    assert scanner_buffer_error("x" + terminated, "8KB") is not None
    assert scanner_buffer_error("x" * (limit - 1), "8KB") is None  # unterminated: must stay below
    assert scanner_buffer_error("x" * limit, "8KB") is not None
    # Bytes, not characters; and never below bufio's 4096-byte start buffer.
    assert scanner_buffer_error("é" * (limit // 2), "8KB") is not None
    assert scanner_buffer_error("x" * (SCANNER_MIN_BUFFER_SIZE - 1), "10") is None
    assert "current size is 0KB" in (scanner_buffer_error("x" * SCANNER_MIN_BUFFER_SIZE, "10") or "")


@pytest.mark.parametrize(("setting", "size"), [
    ("5MB", 5 << 20), ("4kb", 4096), (" 2 KB ", 2048), ("1GB", 1 << 30), ("4096", 4096), ("100b", 100),
    ("0x1000", 4096), ("010", 8), ("1_000", 1000), ("12.9KB", 12 * 1024),
    ("", 0), ("0", 0), ("-5", 0), ("abc", 0), ("1b", 0), ("_1", 0), ("1__0", 0),
])
def test_parse_buffer_size(setting: str, size: int) -> None:
    assert parse_buffer_size(setting) == size


def test_is_split_of_accepts_any_cli_release() -> None:
    text = "\ufeffselect E'a\\'b; c';\nselect 1 as pending;\n-- end\n"
    assert is_split_of(text, split(text))
    # CLI 3.x knows E'' escapes; the Go CLI keeps the byte-order mark and trims U+0085.
    assert is_split_of(text, ["select E'a\\'b; c'", "select 1 as pending", "-- end"])
    assert is_split_of(text, ["\ufeffselect E'a\\'b", "c'", "select 1 as pending", "-- end"])
    assert is_split_of("a;\u0085", ["a"]) and is_split_of("a;\u0085", ["a", "\u0085"])
    for text, _ in cli_corpus().values():
        assert is_split_of(text, split(text))


@pytest.mark.parametrize(("text", "statements"), [
    ("select 1;\nselect 2;", ["select 1", "select 3"]),  # an edit
    ("select 1;\nselect 2;", ["select 1"]),  # a statement added
    ("select 1;", ["select 1", "select 2"]),  # a statement removed
    ("select 1\nselect 2", ["select 1", "select 2"]),  # no ';' between them
    ("select 2;\nselect 1;", ["select 1", "select 2"]),  # reordered
    ("select  1;", ["select 1"]),  # whitespace inside a statement
    ("-- note\nselect 1;", ["select 1"]),  # a comment added
])
def test_is_split_of_rejects_changes(text: str, statements: list[str]) -> None:
    assert not is_split_of(text, statements)
