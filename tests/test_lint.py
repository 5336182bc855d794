"""squawk on the migrations a pull request adds: rule ids, positions and configured severities."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dragonfly_ci.config import load_project
from dragonfly_ci.errors import BadInput
from dragonfly_ci.findings import Finding, Severity
from dragonfly_ci.gates import contract_gate
from dragonfly_ci.migrations.files import discover
from dragonfly_ci.migrations.lint import lint, squawk_executable
from dragonfly_ci.rules import apply_overrides

MIGRATIONS = "supabase/migrations"


def by_rule(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(f.rule, []).append(f)
    return grouped


def test_findings_carry_squawk_rule_ids_at_character_positions(tmp_path: Path) -> None:
    folder = tmp_path / MIGRATIONS
    folder.mkdir(parents=True)
    # Four two-byte characters before the statement: squawk counts bytes, we count characters.
    (folder / "20240101000000_drop.sql").write_text(
        "-- drop the legacy column\nselect 'éééé'; alter table public.orders drop column legacy;\n")
    files, _ = discover(folder, lambda p: p.relative_to(tmp_path).as_posix())

    found = by_rule(lint(files, tmp_path))

    [drop] = found["lint/ban-drop-column"]
    assert drop.severity is Severity.WARNING
    assert drop.location is not None
    assert (drop.location.file, drop.location.line) == (f"{MIGRATIONS}/20240101000000_drop.sql", 2)
    line = "select 'éééé'; alter table public.orders drop column legacy;"
    assert drop.location.column == line.index("drop column") + 1
    assert "(squawk ban-drop-column)" in drop.message
    assert drop.hint


def test_a_file_that_runs_outside_a_transaction_is_judged_as_such(tmp_path: Path) -> None:
    folder = tmp_path / MIGRATIONS
    folder.mkdir(parents=True)
    path = folder / "20240101000000_index.sql"
    path.write_text("create index concurrently if not exists orders_total_idx on public.orders (total);\n"
                    "alter table public.orders add column if not exists note text;\n")
    files, _ = discover(folder, lambda p: p.relative_to(tmp_path).as_posix())
    rule = "ban-concurrent-index-creation-in-transaction"
    # squawk told the file runs in a transaction (as most files do) objects to it...
    told = subprocess.run([squawk_executable(), "--assume-in-transaction", "--reporter", "gcc",
                           str(path)], capture_output=True, text=True).stdout
    assert rule in told

    found = lint(files, tmp_path)

    # ...but the file cannot run in one, so it runs (and is judged) statement by statement.
    assert f"lint/{rule}" not in {f.rule for f in found}
    assert found  # squawk still judged it (lock and statement timeouts)


def test_overrides_regrade_by_rule_and_by_family() -> None:
    findings = [Finding("lint/ban-drop-column", Severity.WARNING, "a"),
                Finding("lint/prefer-robust-stmts", Severity.WARNING, "b"),
                Finding("lint/require-lock-timeout", Severity.WARNING, "c"),
                Finding("contract/rpc-uncontracted", Severity.NOTICE, "d")]

    graded = apply_overrides(findings, {"lint/*": "notice", "lint/ban-drop-column": "error",
                                        "lint/prefer-robust-stmts": "off"})

    assert [(f.rule, f.severity) for f in graded] == [
        ("lint/ban-drop-column", Severity.ERROR),  # its own entry wins over the family's
        ("lint/require-lock-timeout", Severity.NOTICE),
        ("contract/rpc-uncontracted", Severity.NOTICE),  # another family: untouched
    ]


def test_the_project_file_accepts_a_family_and_refuses_other_wildcards(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / MIGRATIONS).mkdir(parents=True)
    (tmp_path / "dragonfly.yml").write_text("version: 1\nrules:\n  lint/*: notice\n")
    assert load_project(cwd=tmp_path).rules == {"lint/*": "notice"}
    (tmp_path / "dragonfly.yml").write_text("version: 1\nrules:\n  lint/ban-*: notice\n")
    with pytest.raises(BadInput):
        load_project(cwd=tmp_path)


# --- through the gate: only the pull request's new files ---------------------------------------


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)


def test_the_gate_lints_new_migrations_with_the_configured_severities(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / MIGRATIONS).mkdir(parents=True)
    (root / "dragonfly.yml").write_text(
        "version: 1\nexposed_schemas: [public]\nrules:\n"
        "  lint/adding-required-field: error\n"
        "  lint/prefer-robust-stmts: 'off'\n"
        "  lint/*: notice\n"
        "  surface/column-added: 'off'\n"
        "  contract/none: 'off'\n")
    # The base's own hazards have shipped: they are not the pull request's to fix.
    (root / MIGRATIONS / "20240101000000_init.sql").write_text(
        "create table public.orders (id bigint primary key, total integer);\n"
        "alter table public.orders drop column total;\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    new = root / MIGRATIONS / "20240201000000_flag.sql"
    new.write_text("alter table public.orders\n  add column flagged boolean not null;\n")

    result = contract_gate.run(load_project(project_file=root / "dragonfly.yml", cwd=root), base="main")

    lint_findings = [f for f in result.findings if f.rule.startswith("lint/")]
    assert {f.location.file for f in lint_findings} == {f"{MIGRATIONS}/20240201000000_flag.sql"}
    found = by_rule(lint_findings)
    [required] = found["lint/adding-required-field"]
    assert required.severity is Severity.ERROR
    assert (required.location.line, required.location.column) == (2, 3)
    assert "lint/prefer-robust-stmts" not in found
    assert "lint/ban-drop-column" not in found  # only in the base
    others = [f for f in lint_findings if f.rule != "lint/adding-required-field"]
    assert others and all(f.severity is Severity.NOTICE for f in others)
    assert result.facts["lint"] == "squawk on the 1 new migration"
    assert not result.passed()
