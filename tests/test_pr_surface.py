"""`contract-gate --base REF`: the public surface at the base against the head, in real git repos.

Each kind of change is a head commit on top of one base commit; the gate
builds both shadows (the head's as a copy of the base's when it only adds
files), and each change must be classified, graded by the contract and placed
at the line of the head migration that made it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dragonfly_ci.config import load_project
from dragonfly_ci.findings import Finding, GateResult, Severity
from dragonfly_ci.gates import contract_gate

BASE_SQL = """\
create table public.orders (
  id bigint primary key generated always as identity,
  total integer not null,
  note text,
  legacy text
);
alter table public.orders enable row level security;
create policy orders_read on public.orders for select to authenticated using (true);
create view public.order_totals as select id, total from public.orders;
create table public.items (id integer primary key, name text);

create function public.place_order(p_total integer, p_note text default null) returns bigint
language sql security definer set search_path = '' as $$
  insert into public.orders (total, note) values (p_total, p_note) returning id
$$;
create function public.find_orders(p_min integer) returns setof public.orders
language sql stable as $$ select * from public.orders where total >= p_min $$;
create function public.cancel_order(p_id bigint) returns void
language sql as $$ delete from public.orders where id = p_id $$;
create function public.order_count() returns integer
language sql as $$ select count(*)::integer from public.orders $$;
create function public.helper(p_x integer) returns integer language sql as $$ select p_x $$;
"""

CONTRACT = """\
version: 1
rpcs:
  public.place_order:
    args: [{name: p_total, type: integer}, {name: p_note, type: text}]
    returns: bigint
  public.find_orders:
    args: [{name: p_min, type: integer}]
  public.cancel_order:
    args: [{name: p_id, type: bigint}]
tables:
  public.orders:
    columns:
      total: integer
      legacy: text
views:
  - public.order_totals
"""

MIGRATIONS = "supabase/migrations"
NEW = f"{MIGRATIONS}/20240201000000_change.sql"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository whose `main` holds the base migration and contract; copied per test."""
    root = tmp_path_factory.mktemp("base") / "repo"
    (root / MIGRATIONS).mkdir(parents=True)
    (root / "dragonfly.yml").write_text(
        "version: 1\nsupabase_dir: supabase\ncontract: supabase/contract.yml\nexposed_schemas: [public]\n"
        "rules:\n  lint/*: 'off'\n")
    (root / "supabase" / "contract.yml").write_text(CONTRACT)
    (root / MIGRATIONS / "20240101000000_init.sql").write_text(BASE_SQL)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=env)
    return root


@pytest.fixture
def repo(base_repo: Path, tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(base_repo, root)
    git(root, "switch", "-q", "-c", "head")
    return root


def head(root: Path, sql: str, *, contract: str | None = None, commit: bool = True) -> None:
    (root / NEW).write_text(sql)
    if contract is not None:
        (root / "supabase" / "contract.yml").write_text(contract)
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "head")


def run(root: Path, base: str = "main") -> GateResult:
    project = load_project(project_file=root / "dragonfly.yml", cwd=root)
    return contract_gate.run(project, base=base)


def surface(result: GateResult) -> list[Finding]:
    return [f for f in result.findings if f.rule.startswith("surface/")]


def only(result: GateResult, rule: str) -> Finding:
    found = [f for f in result.findings if f.rule == rule]
    assert len(found) == 1, (rule, result.findings)
    return found[0]


def line_of(root: Path, text: str) -> int:
    lines = (root / NEW).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


# --- breaking changes to what the contract declares: errors at the line that made them -------------


@pytest.mark.parametrize(("rule", "sql", "marker"), [
    ("surface/rpc-removed", "select 1;\ndrop function public.cancel_order(bigint);\n", "drop function"),
    ("surface/rpc-arguments-changed",
     "drop function public.find_orders(integer);\n"
     "create function public.find_orders(p_min bigint) returns setof public.orders\n"
     "language sql stable as $$ select * from public.orders where total >= p_min $$;\n",
     "create function"),
    ("surface/rpc-argument-renamed",
     "drop function public.place_order(integer, text);\n"
     "create function public.place_order(p_amount integer, p_note text default null) returns bigint\n"
     "language sql security definer set search_path = '' as $$\n"
     "  insert into public.orders (total, note) values (p_amount, p_note) returning id\n$$;\n"
     "grant execute on function public.place_order(integer, text) to anon, authenticated, service_role;\n",
     "create function"),
    ("surface/rpc-default-removed",
     "drop function public.place_order(integer, text);\n"
     "create function public.place_order(p_total integer, p_note text) returns bigint\n"
     "language sql security definer set search_path = '' as $$\n"
     "  insert into public.orders (total, note) values (p_total, p_note) returning id\n$$;\n",
     "create function"),
    ("surface/rpc-execute-revoked",
     "-- anon may no longer place orders\n"
     "revoke execute on function public.place_order(integer, text) from public, anon;\n", "revoke"),
    ("surface/column-removed", "alter table public.orders drop column legacy;\n", "drop column"),
    ("surface/column-type-changed",
     "alter table public.orders\n  alter column legacy type varchar(200);\n", "alter table"),
    ("surface/grant-revoked", "revoke insert on public.orders from anon;\n", "revoke"),
    ("surface/policy-allows-anon",
     "create policy orders_public on public.orders\n  for select to anon using (true);\n",
     "create policy"),
    ("surface/rls-disabled", "alter table public.orders disable row level security;\n", "disable"),
    ("surface/view-removed", "drop view public.order_totals;\n", "drop view"),
], ids=lambda v: v.split("/")[1] if isinstance(v, str) and v.startswith("surface/") else None)
def test_a_breaking_change_to_a_contracted_object_is_an_error_at_its_line(
        repo: Path, rule: str, sql: str, marker: str) -> None:
    head(repo, sql)

    result = run(repo)

    line = (NEW, line_of(repo, marker))
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert [(f.location.file, f.location.line) for f in errors] == [line], errors  # said once
    found = errors[0]
    if found.rule != rule:  # the contract check saw it too: its finding stands for both
        assert found.rule.startswith("contract/") and rule.split("/")[1].startswith(("rpc", "column", "view"))
        assert rule not in [f.rule for f in result.findings]
    else:
        assert "is in supabase/contract.yml" in found.hint
    assert not result.passed()
    assert result.facts["base shadow"].startswith("copied for the head")
    assert result.on_changed_line(found)  # a new file: every line changed


def test_an_untouched_base_passes_with_no_surface_change(repo: Path) -> None:
    result = run(repo)
    assert surface(result) == []
    assert result.passed()
    assert result.facts["surface changes"] == "0 breaking changes, 0 additive changes"
    assert result.facts["base shadow"] == "the head's own: the pull request adds no migration"


def test_breaking_changes_to_uncontracted_objects_are_warnings(repo: Path) -> None:
    head(repo, "alter table public.items drop column name;\n"
               "alter function public.helper(integer) security definer;\n"
               "drop function public.order_count();\n"
               "create function public.order_count() returns bigint\n"
               "language sql as $$ select count(*) from public.orders $$;\n")

    result = run(repo)

    column = only(result, "surface/column-removed")
    security = only(result, "surface/rpc-security-changed")
    returns = only(result, "surface/rpc-return-type-changed")
    assert {column.severity, security.severity, returns.severity} == {Severity.WARNING}
    assert column.location.line == 1 and security.location.line == 2 and returns.location.line == 4
    assert "integer" in returns.message and "bigint" in returns.message
    assert "is not in supabase/contract.yml" in column.hint
    assert result.errors == 0


def test_a_breaking_change_with_its_contract_entry_changed_is_a_notice(repo: Path) -> None:
    head(repo, "alter table public.orders drop column legacy;\n",
         contract=CONTRACT.replace("      legacy: text\n", ""))

    result = run(repo)

    found = only(result, "surface/column-removed")
    assert found.severity is Severity.NOTICE
    assert "changed its entry for public.orders too" in found.hint
    assert result.passed()


def test_additive_changes_are_notices_and_a_new_rpc_suggests_a_contract_entry(repo: Path) -> None:
    head(repo, "create function public.refund(p_id bigint) returns void\n"
               "language sql as $$ select $$;\n"
               "alter table public.orders add column tag text;\n"
               "create table public.extra (id integer primary key);\n"
               "drop function public.cancel_order(bigint);\n"
               "create function public.cancel_order(p_id bigint, p_reason text default null) returns void\n"
               "language sql as $$ delete from public.orders where id = p_id $$;\n")

    result = run(repo)

    added = only(result, "surface/rpc-added")
    assert added.severity is Severity.NOTICE
    assert added.location.line == 1
    assert "add an entry for public.refund under rpcs: in supabase/contract.yml" in added.hint
    assert only(result, "surface/column-added").location.line == 3
    assert only(result, "surface/table-added").location.line == 4
    extended = only(result, "surface/rpc-extended")
    assert extended.location.line == 6 and "p_reason text" in extended.message
    assert "surface/rpc-removed" not in {f.rule for f in result.findings}
    assert all(f.severity is Severity.NOTICE for f in surface(result))
    assert sorted(f.rule for f in surface(result)) == [
        "surface/column-added", "surface/rpc-added", "surface/rpc-extended", "surface/table-added"]
    assert result.facts["surface changes"] == "0 breaking changes, 4 additive changes"


# A breaking change only the base-vs-head diff sees (the contract does not list anon's EXECUTE).
REVOKE_ANON = "revoke execute on function public.place_order(integer, text) from public, anon;\n"


def test_an_uncommitted_head_counts_too(repo: Path) -> None:
    head(repo, REVOKE_ANON, commit=False)

    result = run(repo)

    assert only(result, "surface/rpc-execute-revoked").location.file == NEW


def test_an_edited_base_migration_builds_both_shadows_and_still_locates(repo: Path) -> None:
    init = repo / MIGRATIONS / "20240101000000_init.sql"
    init.write_text(BASE_SQL.replace("create function public.helper(p_x integer) returns integer "
                                     "language sql as $$ select p_x $$;\n", ""))
    git(repo, "commit", "-qam", "edit an applied migration")

    result = run(repo)

    assert result.facts["base shadow"].startswith("built on its own")
    found = only(result, "surface/rpc-removed")
    assert found.severity is Severity.WARNING  # helper is not in the contract
    assert found.location.file == f"{MIGRATIONS}/20240101000000_init.sql"
    assert found.location.line is None  # dropped by deletion: no statement to point at


def test_a_base_whose_migrations_fail_is_an_error_naming_it(repo: Path) -> None:
    # Make the base unbuildable: a migration at main that fails on a shadow.
    git(repo, "switch", "-q", "main")
    (repo / MIGRATIONS / "20240102000000_broken.sql").write_text("select * from nowhere;\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "broken base")
    git(repo, "switch", "-q", "head")
    git(repo, "merge", "-q", "main")
    (repo / MIGRATIONS / "20240102000000_broken.sql").write_text("select 1;\n")

    result = run(repo)

    found = only(result, "surface/base-not-built")
    assert found.message.startswith("at main, ")
    assert found.location.file == f"{MIGRATIONS}/20240102000000_broken.sql"


def test_an_unknown_base_ref_is_bad_input(repo: Path) -> None:
    from dragonfly_ci.errors import BadInput

    with pytest.raises(BadInput, match="unknown git ref 'nope'"):
        run(repo, base="nope")


def test_the_changed_lines_are_recorded_for_the_reports(repo: Path) -> None:
    head(repo, "select 1;\nalter table public.orders drop column legacy;\n")
    (repo / "supabase" / "contract.yml").write_text(CONTRACT + "# note\n")

    result = run(repo)

    assert result.changed_lines[NEW] == frozenset({1, 2})
    assert result.changed_lines["supabase/contract.yml"] == frozenset({len(CONTRACT.splitlines()) + 1})


def test_a_head_that_does_not_apply_fails_and_compares_nothing(repo: Path) -> None:
    head(repo, "select 1;\nalter table public.nowhere add column x text;\n")

    result = run(repo)

    failed = only(result, "migration/apply-failed")
    assert (failed.location.file, failed.location.line) == (NEW, 2)
    assert surface(result) == []
    assert result.facts["surface changes"] == "not compared: a migration of the head failed to apply"


def test_the_command_line_reports_the_change_and_exits_1(repo: Path, monkeypatch, capsys) -> None:
    from dragonfly_ci.cli import main

    monkeypatch.chdir(repo)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    head(repo, REVOKE_ANON)

    assert main(["contract-gate", "--base", "main", "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    [revoked] = [f for f in document["findings"] if f["rule"] == "surface/rpc-execute-revoked"]
    assert revoked["location"] == {"file": NEW, "line": 1, "end_line": 1, "column": 1}
    assert main(["contract-gate", "--base", "no-such-branch"]) == 2
    assert "unknown git ref 'no-such-branch'" in capsys.readouterr().err
