"""`migrations check --base REF` on real git repositories built in temp dirs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dragonfly_ci.config import load_project
from dragonfly_ci.errors import BadInput, CouldNotCheck
from dragonfly_ci.findings import GateResult, Location, Severity
from dragonfly_ci.gates import migrations_check

INIT = "create schema ops;\n\ncreate table ops.jobs (\n  id uuid primary key,\n  status text\n);\n"
BASE_FILES = {
    "20240101000000_init.sql": INIT,
    "20240102000000_jobs.sql": "create index jobs_status on ops.jobs (status);\n",
    "20240103000000_heartbeats.sql": "create table ops.heartbeats (worker text);\n",
    "README.md": "Migrations, applied in version order.\n",
}
NEWEST = "20240103000000"


class Repo:
    """A git repository with a dragonfly.yml and a migrations folder committed on `main`."""

    def __init__(self, root: Path, project_dir: str = "", supabase_dir: str = "supabase",
                 rules: str = "") -> None:
        self.root = root
        self.project_dir = root / project_dir
        self.migrations = f"{project_dir + '/' if project_dir else ''}{supabase_dir}/migrations"
        root.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.name", "Test")
        self.git("config", "user.email", "test@example.com")
        self.write(f"{project_dir}/dragonfly.yml".lstrip("/"),
                   f"version: 1\nsupabase_dir: {supabase_dir}\n{rules}")

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.root, check=True, capture_output=True,
                              text=True).stdout

    def path(self, name: str) -> Path:
        return self.root / self.migrations / name

    def write(self, relpath: str, text: str) -> None:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def migration(self, name: str, text: str = "select 1;\n") -> str:
        self.write(f"{self.migrations}/{name}", text)
        return f"{self.migrations}/{name}"

    def commit_base(self, files: dict[str, str] = BASE_FILES) -> None:
        for name, text in files.items():
            self.migration(name, text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "base")

    def check(self, base: str = "main") -> GateResult:
        project = load_project(project_file=self.project_dir / "dragonfly.yml", cwd=self.root)
        return migrations_check.run(project, base)


@pytest.fixture(autouse=True)
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config, and no repository above the temp dir."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.commit_base()
    return repo


def rules_of(result: GateResult) -> list[str]:
    return sorted(f.rule for f in result.findings)


# --- nothing changed, new files ------------------------------------------------------------------


def test_an_unchanged_tree_passes_and_states_what_it_compared(repo: Repo) -> None:
    result = repo.check()

    assert result.gate == "migrations-check"
    assert result.findings == []
    assert result.passed()
    short = repo.git("rev-parse", "--short", "main").strip()
    assert result.facts["base"] == f"main at {short}"
    assert result.facts["migration files at base"] == "3"  # README.md is not a migration
    assert result.facts["new migration files"] == "0"
    assert result.facts["migrations"] == "supabase/migrations"


@pytest.mark.parametrize("staged", [False, True], ids=["untracked", "staged"])
def test_a_new_file_after_the_newest_passes(repo: Repo, staged: bool) -> None:
    repo.migration("20240104000000_queue.sql")
    if staged:
        repo.git("add", "-A")

    result = repo.check()

    assert result.findings == []
    assert result.facts["new migration files"] == "1"


@pytest.mark.parametrize("staged", [False, True], ids=["untracked", "staged"])
def test_a_new_file_before_the_newest_is_a_warning_naming_it(repo: Repo, staged: bool) -> None:
    path = repo.migration("20240102120000_late.sql")
    if staged:
        repo.git("add", "-A")

    result = repo.check()

    [warning] = result.findings
    assert warning.rule == "migrations/new-file-out-of-order"
    assert warning.severity is Severity.WARNING
    assert warning.location == Location(path, 1)
    assert NEWEST in warning.message and "sorts before" in warning.message
    assert "--allow-out-of-order" in warning.hint
    assert result.passed() and not result.passed(strict=True)
    assert result.facts["new migration files"] == "1"


def test_a_new_file_with_the_newest_version_is_out_of_order_too(repo: Repo) -> None:
    repo.migration(f"{NEWEST}_again.sql")

    [warning] = repo.check().findings

    assert warning.rule == "migrations/new-file-out-of-order"
    assert "same version" in warning.message
    assert "never runs it" in warning.hint


def test_committed_changes_on_a_branch_count(repo: Repo) -> None:
    """In CI the pull request's changes are commits, not working-tree edits."""
    repo.git("switch", "-q", "-c", "feature")
    repo.path("20240102000000_jobs.sql").write_text("create index jobs_s on ops.jobs (status);\n")
    repo.migration("20240101120000_late.sql")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "edit an applied migration")

    assert rules_of(repo.check()) == ["migrations/applied-file-modified",
                                      "migrations/new-file-out-of-order"]


def test_ignored_files_do_not_count(repo: Repo) -> None:
    repo.write(".gitignore", "*_scratch.sql\n")
    repo.migration("20240101000000_scratch.sql")

    result = repo.check()

    assert result.findings == []
    assert result.facts["new migration files"] == "0"


def test_the_first_migrations_are_all_new(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    repo.write("app.py", "")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "no migrations yet")
    repo.migration("20240101000000_init.sql")
    repo.migration("20240102000000_jobs.sql")

    result = repo.check()

    assert result.findings == []
    assert result.facts["migration files at base"] == "0"
    assert result.facts["new migration files"] == "2"


# --- modified ----------------------------------------------------------------------------------


@pytest.mark.parametrize("staged", [False, True], ids=["unstaged", "staged"])
def test_a_modified_file_is_an_error_at_its_first_changed_line(repo: Repo, staged: bool) -> None:
    path = repo.path("20240101000000_init.sql")
    path.write_text(INIT.replace("  id uuid primary key,", "  id bigint primary key,")
                    .replace("  status text", "  status text not null"))
    if staged:
        repo.git("add", "-A")

    result = repo.check()

    [error] = result.findings
    assert error.rule == "migrations/applied-file-modified"
    assert error.severity is Severity.ERROR
    assert error.location == Location("supabase/migrations/20240101000000_init.sql", 4)
    assert "20240101000000_init.sql exists at main" in error.message
    assert "content changed" in error.message
    assert "git checkout main -- supabase/migrations/20240101000000_init.sql" in error.hint
    assert "new migration" in error.hint
    assert not result.passed()


def test_a_deletion_inside_a_file_points_at_the_gap(repo: Repo) -> None:
    repo.path("20240101000000_init.sql").write_text(INIT.replace("\ncreate table", "create table"))

    [error] = repo.check().findings

    assert error.rule == "migrations/applied-file-modified"
    assert error.location.line == 1  # a blank line went; a pure deletion names the line before it


def test_an_appended_line_is_a_modification(repo: Repo) -> None:
    with repo.path("20240102000000_jobs.sql").open("a") as file:
        file.write("drop index jobs_status;\n")

    [error] = repo.check().findings

    assert error.rule == "migrations/applied-file-modified"
    assert error.location.line == 2


def test_a_whitespace_only_change_is_still_a_modification(repo: Repo) -> None:
    repo.path("20240101000000_init.sql").write_text(INIT.replace("  status text", "\tstatus   text"))

    [error] = repo.check().findings

    assert error.rule == "migrations/applied-file-modified"
    assert error.severity is Severity.ERROR
    assert error.location.line == 5
    assert "whitespace only" in error.message
    assert "formatting changes are refused" in error.hint
    assert "supabase db push" in error.hint


def test_a_mode_change_alone_is_not_a_modification(repo: Repo) -> None:
    repo.path("20240101000000_init.sql").chmod(0o755)

    assert repo.check().findings == []


def test_a_file_removed_from_the_index_but_unchanged_on_disk_is_not_a_change(repo: Repo) -> None:
    repo.git("rm", "-q", "--cached", "supabase/migrations/20240102000000_jobs.sql")

    result = repo.check()

    assert result.findings == []
    assert result.facts["new migration files"] == "0"


def test_a_file_removed_from_the_index_and_edited_is_modified(repo: Repo) -> None:
    repo.git("rm", "-q", "--cached", "supabase/migrations/20240102000000_jobs.sql")
    repo.path("20240102000000_jobs.sql").write_text("select 2;\n")

    [error] = repo.check().findings

    assert error.rule == "migrations/applied-file-modified"
    assert error.location == Location("supabase/migrations/20240102000000_jobs.sql")


# --- renamed and deleted ---------------------------------------------------------------------


def test_a_git_mv_is_a_rename_at_the_new_path_naming_the_old(repo: Repo) -> None:
    repo.git("mv", "supabase/migrations/20240102000000_jobs.sql",
             "supabase/migrations/20240105000000_jobs.sql")

    result = repo.check()

    [error] = result.findings
    assert error.rule == "migrations/applied-file-renamed"
    assert error.severity is Severity.ERROR
    assert error.location == Location("supabase/migrations/20240105000000_jobs.sql")
    assert "renamed from supabase/migrations/20240102000000_jobs.sql" in error.message
    assert ("git mv supabase/migrations/20240105000000_jobs.sql "
            "supabase/migrations/20240102000000_jobs.sql") in error.hint
    assert result.facts["new migration files"] == "0"


def test_a_rename_with_an_edit_is_still_a_rename(repo: Repo) -> None:
    repo.git("mv", "supabase/migrations/20240101000000_init.sql",
             "supabase/migrations/20240101000001_init.sql")
    repo.path("20240101000001_init.sql").write_text(INIT + "-- renamed\n")

    assert rules_of(repo.check()) == ["migrations/applied-file-renamed"]


def test_a_plain_mv_is_a_rename_too(repo: Repo) -> None:
    repo.path("20240102000000_jobs.sql").rename(repo.path("20240102000000_job_index.sql"))

    [error] = repo.check().findings

    assert error.rule == "migrations/applied-file-renamed"
    assert error.location.file == "supabase/migrations/20240102000000_job_index.sql"
    assert "20240102000000_jobs.sql" in error.message


def test_renaming_a_file_out_of_the_cli_s_pattern_is_a_rename(repo: Repo) -> None:
    repo.git("mv", "supabase/migrations/20240103000000_heartbeats.sql",
             "supabase/migrations/20240103000000_heartbeats.sql.bak")

    [error] = repo.check().findings

    assert error.rule == "migrations/applied-file-renamed"
    assert error.location.file.endswith(".sql.bak")


def test_a_deleted_file_is_an_error_at_its_path_without_a_line(repo: Repo) -> None:
    repo.path("20240102000000_jobs.sql").unlink()

    [error] = repo.check().findings

    assert error.rule == "migrations/applied-file-deleted"
    assert error.severity is Severity.ERROR
    assert error.location == Location("supabase/migrations/20240102000000_jobs.sql")
    assert "git checkout main -- supabase/migrations/20240102000000_jobs.sql" in error.hint


def test_deleting_the_whole_folder_reports_every_file(repo: Repo) -> None:
    repo.git("rm", "-q", "-r", "supabase/migrations")
    (repo.root / "supabase").mkdir()  # where config.toml would stay

    assert rules_of(repo.check()) == ["migrations/applied-file-deleted"] * 3


# --- what is not a migration, and configuration ----------------------------------------------------


def test_other_files_in_the_folder_are_ignored(repo: Repo) -> None:
    repo.path("README.md").write_text("changed\n")
    repo.migration("seed.sql")
    repo.migration("20240101_x.SQL")
    repo.migration("archive/20240101000000_old.sql")

    result = repo.check()

    assert result.findings == []
    assert result.facts["new migration files"] == "0"


def test_rules_in_the_project_file_regrade_findings(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo", rules="rules:\n  migrations/new-file-out-of-order: error\n")
    repo.commit_base()
    repo.migration("20240101120000_late.sql")

    [error] = repo.check().findings

    assert error.rule == "migrations/new-file-out-of-order"
    assert error.severity is Severity.ERROR


def test_a_tag_or_a_sha_is_a_base_too(repo: Repo) -> None:
    repo.git("tag", "-a", "v1", "-m", "v1")
    repo.path("20240102000000_jobs.sql").unlink()
    sha = repo.git("rev-parse", "HEAD").strip()

    assert rules_of(repo.check("v1")) == ["migrations/applied-file-deleted"]
    assert rules_of(repo.check(sha)) == ["migrations/applied-file-deleted"]


def test_a_monorepo_reports_paths_from_the_repository_root(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo", project_dir="apps/my db")
    repo.commit_base()
    folder = "apps/my db/supabase/migrations"
    repo.path("20240101000000_init.sql").write_text(INIT.replace("status text", "state text"))
    repo.git("mv", f"{folder}/20240102000000_jobs.sql", f"{folder}/20240102000000_job index.sql")
    repo.path("20240103000000_heartbeats.sql").unlink()
    repo.migration("20240101000000_second try.sql")

    result = repo.check()

    by_rule = {f.rule: f for f in result.findings}
    assert sorted(by_rule) == ["migrations/applied-file-deleted", "migrations/applied-file-modified",
                               "migrations/applied-file-renamed", "migrations/new-file-out-of-order"]
    assert by_rule["migrations/applied-file-modified"].location == Location(
        f"{folder}/20240101000000_init.sql", 5)
    assert by_rule["migrations/applied-file-renamed"].location == Location(
        f"{folder}/20240102000000_job index.sql")
    assert f"renamed from {folder}/20240102000000_jobs.sql" in \
        by_rule["migrations/applied-file-renamed"].message
    assert by_rule["migrations/applied-file-deleted"].location == Location(
        f"{folder}/20240103000000_heartbeats.sql")
    assert by_rule["migrations/new-file-out-of-order"].location == Location(
        f"{folder}/20240101000000_second try.sql", 1)
    assert "'apps/my db/supabase/migrations/20240101000000_init.sql'" in \
        by_rule["migrations/applied-file-modified"].hint
    assert result.facts["migrations"] == folder


# --- what stops the check --------------------------------------------------------------------


def test_an_unknown_base_ref_is_bad_input_saying_to_fetch_it(repo: Repo) -> None:
    with pytest.raises(BadInput) as caught:
        repo.check("origin/main")

    assert caught.value.exit_code == 2
    assert "origin/main" in caught.value.message
    assert "fetch-depth: 0" in caught.value.hint
    assert "git fetch origin origin/main" in caught.value.hint


def test_a_ref_that_looks_like_an_option_is_bad_input(repo: Repo) -> None:
    with pytest.raises(BadInput):
        repo.check("--output=/tmp/x")


def test_a_folder_outside_any_repository_cannot_be_checked(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "supabase" / "migrations").mkdir(parents=True)
    (plain / "dragonfly.yml").write_text("version: 1\n")
    project = load_project(project_file=plain / "dragonfly.yml", cwd=plain)

    with pytest.raises(CouldNotCheck) as caught:
        migrations_check.run(project, "main")

    assert caught.value.exit_code == 3
    assert "not in a git repository" in caught.value.message
    assert "actions/checkout" in caught.value.hint


def test_no_git_on_path_cannot_be_checked(repo: Repo, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    with pytest.raises(CouldNotCheck) as caught:
        repo.check()

    assert caught.value.exit_code == 3
    assert "git is not installed" in caught.value.message
