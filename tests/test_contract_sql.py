"""`dragonfly-ci contract sql`: the generated psql script, run by real psql."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

from dragonfly_ci.cli import main
from dragonfly_ci.postgres.server import _binaries
from tests.conftest import REPO


@pytest.fixture(scope="module")
def script(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sql") / "verify_db_state.sql"
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        assert main(["contract", "sql", "--output", str(path)]) == 0
    finally:
        os.chdir(cwd)
    return path


def psql(conninfo: str, script: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(_binaries() / "psql"), "-X", "-q", "-d", conninfo, "-f", str(script)],
                          capture_output=True, text=True, timeout=60)


def test_the_reference_database_satisfies_the_contract(script, reference_db):
    done = psql(reference_db, script)
    assert done.returncode == 0, done.stderr
    assert "contract holds: 4 RPC(s), 2 table(s), 2 view(s)" in done.stderr


def test_every_problem_is_named_in_one_error(script, reference_db):
    with psycopg.connect(reference_db, autocommit=True) as conn:
        conn.execute("revoke execute on function ops.queue_job(text, jsonb, integer, timestamptz) "
                     "from service_role")
        conn.execute("alter table ops.job_queue alter column priority type bigint")
        conn.execute("drop view ops.v_worker_status")
        conn.execute("drop function ops.register_heartbeat(text, text, text, text)")
        conn.execute("alter function ops.update_job_status(uuid, text, text, integer) security invoker")
    done = psql(reference_db, script)
    assert done.returncode == 3  # psql: the script failed (ON_ERROR_STOP)
    err = done.stderr
    assert "contract check failed: 5 problem(s)" in err
    assert ("RPC ops.queue_job(text, jsonb, integer, timestamp with time zone): "
            "service_role cannot EXECUTE it") in err
    assert "column ops.job_queue.priority is bigint, the contract says integer" in err
    assert "view ops.v_worker_status is missing" in err
    assert "RPC ops.register_heartbeat(text, text, text, text) is missing" in err
    assert "should be SECURITY DEFINER" in err


def test_the_script_changes_nothing(script, reference_db):
    with psycopg.connect(reference_db, autocommit=True) as conn:
        conn.execute("drop view ops.v_worker_status")
        before = conn.execute("select count(*) from pg_class").fetchone()
    psql(reference_db, script)
    with psycopg.connect(reference_db) as conn:
        assert conn.execute("select count(*) from pg_class").fetchone() == before


def test_no_contract_is_bad_input(project, monkeypatch, capsys):
    (project / "supabase" / "contract.yml").unlink()
    monkeypatch.chdir(project)
    assert main(["contract", "sql"]) == 2
    assert "contract init" in capsys.readouterr().err
