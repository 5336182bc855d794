"""`dragonfly-ci doctor` against live databases built from the reference project."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from dragonfly_ci.cli import main
from dragonfly_ci.migrations.files import discover
from dragonfly_ci.migrations.ledger import ensure_tables, record_version
from tests.conftest import REPO

DASHBOARD_VIEW = """\
-- The queue dashboard's main tile.
create or replace view ops.v_dashboard_backlog
with (security_invoker = true) as
select job_type, count(*) as waiting
from ops.job_queue
where status = 'pending'
group by job_type;
"""


def doctor(root: Path, url: str, monkeypatch, capsys, *args: str) -> tuple[int, dict | None, str]:
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = main(["doctor", "--db-url", url, "--format", "json", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.startswith("{") else None), err


def rules(report: dict) -> list[str]:
    return sorted(f["rule"] for f in report["findings"])


def with_ledger(url: str) -> None:
    """Record the reference migrations as applied, as a migrate run would."""
    files, _ = discover(REPO / "supabase" / "migrations", str)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_tables(conn)
        for f in files:
            record_version(conn, f.version, f.name, [f.text])


def test_healthy_database(reference_db, monkeypatch, capsys):
    with_ledger(reference_db)
    code, report, err = doctor(REPO, reference_db, monkeypatch, capsys)
    assert code == 0, (report, err)
    assert report["findings"] == []
    assert report["facts"]["server"].startswith("18")
    assert report["facts"]["ledger"].startswith("5 applied, newest 20250319090000")


def test_missing_ledger(reference_db, monkeypatch, capsys):
    code, report, _ = doctor(REPO, reference_db, monkeypatch, capsys)
    assert code == 1 and rules(report) == ["doctor/ledger-missing"]


def test_contract_on_the_live_database(reference_db, monkeypatch, capsys):
    with_ledger(reference_db)
    with psycopg.connect(reference_db, autocommit=True) as conn:
        conn.execute("revoke execute on function ops.register_heartbeat(text, text, text, text) "
                     "from service_role")
    code, report, _ = doctor(REPO, reference_db, monkeypatch, capsys)
    assert code == 1 and rules(report) == ["contract/rpc-execute-missing"]
    location = report["findings"][0]["location"]
    # pointed at the migration that granted it, since production changed outside migrations
    assert location["file"] == "supabase/migrations/20250108141500_add_job_queue_rpcs.sql"


# Regression: a type the contract names (a table's row type) missing from the live database was
# reported as bad input in the contract (exit 2); on a live database it is what doctor looks for.
def test_a_contracted_type_missing_from_the_live_database_is_a_finding(reference_db, monkeypatch, capsys):
    with_ledger(reference_db)
    with psycopg.connect(reference_db, autocommit=True) as conn:
        conn.execute("drop table ops.job_queue cascade")
    code, report, err = doctor(REPO, reference_db, monkeypatch, capsys)
    assert code == 1, (report, err)
    missing = [f for f in report["findings"] if f["rule"] == "contract/type-missing"]
    assert len(missing) == 1 and "'ops.job_queue'" in missing[0]["message"], report["findings"]
    assert (missing[0]["location"]["file"], missing[0]["location"]["line"]) == ("supabase/contract.yml", 11)
    assert "contract/table-missing" in rules(report)


@pytest.fixture
def dashboard_project(project: Path) -> Path:
    (project / "dashboards" / "sql").mkdir(parents=True)
    (project / "dashboards" / "sql" / "backlog.sql").write_text(DASHBOARD_VIEW)
    config = project / "dragonfly.yml"
    config.write_text(config.read_text() + "dashboard_views: [dashboards/sql/*.sql]\n")
    return project


def test_dashboard_view_missing(dashboard_project, reference_db, monkeypatch, capsys):
    with_ledger(reference_db)
    code, report, _ = doctor(dashboard_project, reference_db, monkeypatch, capsys)
    assert code == 1 and rules(report) == ["doctor/dashboard-view-missing"]
    assert report["findings"][0]["location"]["file"] == "dashboards/sql/backlog.sql"
    assert report["findings"][0]["location"]["line"] == 2


def test_dashboard_view_present_and_equal(dashboard_project, reference_db, monkeypatch, capsys):
    with_ledger(reference_db)
    with psycopg.connect(reference_db, autocommit=True) as conn:
        # Written differently; PostgreSQL normalises both to the same definition.
        conn.execute("CREATE VIEW ops.v_dashboard_backlog WITH (security_invoker=true) AS "
                     "SELECT job_type, COUNT(*) AS waiting FROM ops.job_queue "
                     "WHERE status = 'pending' GROUP BY 1")
    code, report, _ = doctor(dashboard_project, reference_db, monkeypatch, capsys)
    assert code == 0, report


def test_dashboard_view_differs(dashboard_project, reference_db, monkeypatch, capsys):
    with_ledger(reference_db)
    with psycopg.connect(reference_db, autocommit=True) as conn:
        conn.execute("create view ops.v_dashboard_backlog as select job_type, count(*) as waiting "
                     "from ops.job_queue where status = 'running' group by job_type")
    code, report, _ = doctor(dashboard_project, reference_db, monkeypatch, capsys)
    assert code == 1 and rules(report) == ["doctor/dashboard-view-differs"]
    assert "'running'" in report["findings"][0]["message"]


def test_dashboard_glob_matching_nothing_is_bad_input(project, reference_db, monkeypatch, capsys):
    config = project / "dragonfly.yml"
    config.write_text(config.read_text() + "dashboard_views: [dashboards/none/*.sql]\n")
    code, report, err = doctor(project, reference_db, monkeypatch, capsys)
    assert code == 2 and "dragonfly.yml:" in err and "matches no file" in err


def test_unreachable_database_exits_3_without_the_password(monkeypatch, capsys):
    code, report, err = doctor(REPO, "postgresql://ops:s3cret-pw@127.0.0.1:1/postgres", monkeypatch,
                               capsys)
    assert code == 3 and report is None
    assert "s3cret-pw" not in err and "could not connect" in err


def test_python_dash_m_doctor_with_env(reference_db, project, monkeypatch, capsys):
    with_ledger(reference_db)
    config = project / "dragonfly.yml"
    config.write_text(config.read_text() + "environments:\n  dev:\n    db_url_env: DEV_DATABASE_URL\n")
    monkeypatch.setenv("DEV_DATABASE_URL", reference_db)
    monkeypatch.chdir(project)
    assert main(["doctor", "--env", "dev", "--format", "json"]) == 0
    assert "(environment dev)" in json.loads(capsys.readouterr().out)["facts"]["database"]


def test_dragonfly_db_url_replacing_an_environment_says_so(reference_db, project, monkeypatch, capsys):
    with_ledger(reference_db)
    config = project / "dragonfly.yml"
    config.write_text(config.read_text() + "environments:\n  dev:\n    db_url_env: DEV_DATABASE_URL\n")
    monkeypatch.setenv("DEV_DATABASE_URL", "postgresql://nobody:pw@127.0.0.1:1/nowhere")
    monkeypatch.setenv("DRAGONFLY_DB_URL", reference_db)  # as the actions pass database-url
    monkeypatch.chdir(project)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert main(["doctor", "--env", "dev", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert "$DRAGONFLY_DB_URL is set: using" in err and "instead of environment dev's own database" in err
    assert "nowhere" not in json.loads(out)["facts"]["database"]
