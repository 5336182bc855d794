"""Migration files on disk (the Supabase CLI's naming rules) and statement positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from dragonfly_ci.errors import BadInput
from dragonfly_ci.findings import Location, Severity
from dragonfly_ci.migrations.files import discover
from dragonfly_ci.migrations.statements import (
    ParseFailure,
    SourceText,
    may_need_no_transaction,
    parse,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    return tmp_path


def display_from(root: Path):
    return lambda path: path.relative_to(root).as_posix()


def touch(root: Path, *names: str, text: str = "select 1;\n") -> None:
    for name in names:
        (root / "supabase" / "migrations" / name).write_text(text, encoding="utf-8")


def found(root: Path):
    return discover(root / "supabase" / "migrations", display_from(root))


# --- discovery ------------------------------------------------------------------------------


def test_migration_names_follow_the_supabase_cli(root: Path) -> None:
    touch(root, "20240101000000_init.sql", "007_a.b_c.sql", "5_.sql")

    files, skipped = found(root)

    assert [(f.version, f.name) for f in files] == [
        ("007", "a.b_c"), ("20240101000000", "init"), ("5", "")]
    first = files[0]
    assert first.path == root / "supabase" / "migrations" / "007_a.b_c.sql"
    assert first.display == "supabase/migrations/007_a.b_c.sql"
    assert first.text == "select 1;\n"
    assert skipped == []


SKIPPED = ["README.md", "20240101_x.SQL", "init_20240101.sql", "_1.sql", "20240101.sql",
           "20240101-x.sql", "20240101_x.sql.bak", ".20240101_x.sql", "v1_x.sql"]


def test_non_matching_files_are_skipped_with_a_warning(root: Path) -> None:
    touch(root, "1_kept.sql", *SKIPPED)

    files, skipped = found(root)

    assert [f.path.name for f in files] == ["1_kept.sql"]
    assert sorted(f.location.file for f in skipped) == sorted(
        f"supabase/migrations/{name}" for name in SKIPPED)
    for warning in skipped:
        assert warning.rule == "migration/skipped-file"
        assert warning.severity is Severity.WARNING
        assert warning.location.file.split("/")[-1] in warning.message
        assert warning.hint


def test_subdirectories_are_ignored_silently(root: Path) -> None:
    touch(root, "1_a.sql")
    (root / "supabase" / "migrations" / "2_looks_like_one.sql").mkdir()
    (root / "supabase" / "migrations" / "archive").mkdir()
    (root / "supabase" / "migrations" / "archive" / "0_old.sql").write_text("select 1;\n")

    files, skipped = found(root)

    assert [f.path.name for f in files] == ["1_a.sql"]
    assert skipped == []


def test_files_are_sorted_by_version_as_strings(root: Path) -> None:
    touch(root, "9_a.sql", "10_b.sql", "2_c.sql", "100_d.sql", "20250101000000_e.sql", "09_f.sql")

    files, _ = found(root)

    assert [f.version for f in files] == ["09", "10", "100", "2", "20250101000000", "9"]


def test_duplicate_versions_name_both_files(root: Path) -> None:
    touch(root, "20240101000000_first.sql", "20240101000000_second.sql", "20240102000000_other.sql")

    with pytest.raises(BadInput) as caught:
        found(root)

    err = caught.value
    assert err.exit_code == 2
    assert err.file == "supabase/migrations/20240101000000_second.sql"
    assert "duplicate migration version 20240101000000" in err.message
    assert "supabase/migrations/20240101000000_first.sql" in err.message
    assert err.hint


def test_missing_migrations_directory(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as caught:
        discover(tmp_path / "supabase" / "migrations", display_from(tmp_path))

    assert caught.value.exit_code == 2
    assert caught.value.file == "supabase/migrations"
    assert "not found" in caught.value.message


def test_non_utf8_file_is_bad_input_when_read(root: Path) -> None:
    (root / "supabase" / "migrations" / "1_latin1.sql").write_bytes(b"-- caf\xe9\nselect 1;\n")

    files, _ = found(root)
    with pytest.raises(BadInput) as caught:
        _ = files[0].text

    assert caught.value.exit_code == 2
    assert caught.value.file == "supabase/migrations/1_latin1.sql"
    assert "not UTF-8" in caught.value.message
    assert "byte 6" in caught.value.message


def test_text_is_read_once(root: Path) -> None:
    touch(root, "1_a.sql", text="select 'é';\n")
    file = found(root)[0][0]

    assert file.text == "select 'é';\n"
    file.path.write_text("select 2;\n")
    assert file.text == "select 'é';\n"


# --- statements and their positions --------------------------------------------------------


def test_statement_lines_columns_and_end_lines() -> None:
    text = (
        "-- header comment\n"  # 1
        "\n"  # 2
        "/* block\n"  # 3
        "   comment */\n"  # 4
        "create table t (\n"  # 5
        "  id int\n"  # 6
        ");\n"  # 7
        "\n"  # 8
        "   insert into t values (1);  select 1;\n"  # 9
        "-- between\n"  # 10
        "select\n"  # 11
        "  2 -- trailing comment\n"  # 12
        ";\n"  # 13
    )

    parsed = parse(text)

    got = [(s.kind, s.line, s.column, s.end_line) for s in parsed.statements]
    assert got == [
        ("CreateStmt", 5, 1, 7),
        ("InsertStmt", 9, 4, 9),
        ("SelectStmt", 9, 31, 9),
        ("SelectStmt", 11, 1, 12),
    ]
    assert [s.index for s in parsed.statements] == [0, 1, 2, 3]
    assert parsed.source.slice_bytes(*parsed.statements[0].sql_bytes) == "create table t (\n  id int\n)"
    assert parsed.source.slice_bytes(*parsed.statements[2].sql_bytes) == "select 1"


def test_positions_after_multibyte_characters() -> None:
    text = (
        "-- café → 😀\n"  # 1
        "comment on schema public is 'é→😀';\n"  # 2
        "select 'é', '→', '😀';   select 'ü' as \"naïve\";\n"  # 3
        "select 3;\n"  # 4
    )

    parsed = parse(text)
    comment, first, second, third = parsed.statements

    assert (comment.line, comment.column) == (2, 1)
    assert (first.line, first.column) == (3, 1)
    assert (second.line, second.column) == (3, 25)  # characters, not bytes (31)
    assert text.splitlines()[2][24:].startswith("select 'ü'")
    assert (third.line, third.column, third.end_line) == (4, 1, 4)
    # start and end are byte offsets: slicing the UTF-8 bytes gives each statement exactly
    assert parsed.source.slice_bytes(second.start, second.end) == "select 'ü' as \"naïve\""
    assert second.start == len(text[: text.index("select 'ü'")].encode("utf-8"))
    assert parsed.statement_at_byte(second.start) is second
    assert parsed.statement_at_byte(third.start + 3) is third


def test_source_text_offsets() -> None:
    source = SourceText("é\n→😀x\n")

    assert source.line_col_of_char(0) == (1, 1)
    assert source.line_col_of_char(2) == (2, 1)
    assert source.line_col_of_char(4) == (2, 3)
    x_byte = len("é\n→😀".encode())
    assert source.line_col_of_byte(x_byte) == (2, 3)
    assert source.char_of_byte(x_byte) == 4
    assert source.slice_bytes(3, x_byte) == "→😀"


def test_nested_block_comment_before_a_statement() -> None:
    parsed = parse("select 1;\n/* outer /* inner */\n still comment */\nselect 2;\n")

    assert [(s.line, s.column) for s in parsed.statements] == [(1, 1), (4, 1)]


def test_end_line_of_last_statement_without_semicolon() -> None:
    parsed = parse("select 1;\nselect 2\n-- trailing comment\n\n")

    assert parsed.statements[1].end_line == 2


def test_empty_and_comment_only_files_have_no_statements() -> None:
    assert parse("").statements == []
    assert parse("-- nothing\n/* here */\n").statements == []


def test_unparsable_sql_raises_parse_failure_with_offset() -> None:
    with pytest.raises(ParseFailure) as caught:
        parse("select 1;\nselect 'é' frm a b;\n")

    assert "syntax error" in caught.value.message
    assert caught.value.offset == len("select 1;\nselect 'é' frm ")  # characters, at "a"


NO_TRANSACTION = [
    "create index concurrently i on t (x)",
    "create unique index concurrently if not exists i on t (x)",
    "drop index concurrently i",
    "drop index concurrently if exists i, j",
    "reindex index concurrently i",
    "reindex (verbose, concurrently) table t",
    "reindex database d",
    "reindex system",
    "vacuum",
    "vacuum (analyze) t",
    "VACUUM FULL t",
    "alter system set work_mem = '1MB'",
    "alter system reset all",
    "create database d",
    "drop database d",
    "create tablespace s location '/tmp'",
    "alter table p detach partition c concurrently",
]

IN_TRANSACTION = [
    "select 1",
    "create index i on t (x)",
    "drop index i",
    "reindex table t",
    "reindex index i",
    "analyze",
    "analyze t",
    'create table "concurrently" (x int)',
    "comment on table t is 'vacuum the database system concurrently'",
    "alter database d set work_mem = '1MB'",
    "begin",
]


@pytest.mark.parametrize("sql", NO_TRANSACTION)
def test_statements_that_refuse_a_transaction(sql: str) -> None:
    parsed = parse(f"create table t (x int);\n{sql};\nselect 1;\n")

    assert parsed.needs_no_transaction is True
    assert may_need_no_transaction(parsed.source.text)


@pytest.mark.parametrize("sql", IN_TRANSACTION)
def test_statements_that_run_in_a_transaction(sql: str) -> None:
    assert parse(f"create table t (x int);\n{sql};\n").needs_no_transaction is False


def test_plain_files_skip_the_parse() -> None:
    assert not may_need_no_transaction("create table t (id int);\ncreate index i on t (id);\n")


@pytest.mark.parametrize("sql", ["begin", "start transaction", "commit", "rollback", "end"])
def test_transaction_control_alone_runs_inside_the_file_transaction(sql: str) -> None:
    assert parse(f"{sql};\ncreate table t ();\n").needs_no_transaction is False


def test_location_string() -> None:
    assert str(Location("a.sql", 3, 4, 7)) == "a.sql:3:7"
    assert str(Location("a.sql")) == "a.sql"
