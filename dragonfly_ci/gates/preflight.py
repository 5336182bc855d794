"""`dragonfly-ci preflight`: the runbook's pre-release checklist as one command.

The project's tests, doctor, schema consistency, prod-gate against the
environment, and the dashboard build when configured; each a row with its
verdict and time. Nothing stops early unless asked (`--fail-fast`).
"""

from __future__ import annotations

import subprocess
import time
from typing import TYPE_CHECKING

from dragonfly_ci.config import Project
from dragonfly_ci.findings import GateResult
from dragonfly_ci.gates.composite import Composite

if TYPE_CHECKING:
    from dragonfly_ci.targets import Target

GATE = "preflight"
DEFAULT_TESTS = "pytest -q"
COMMAND_TIMEOUT_S = 3600


def run(project: Project, target: Target, *, strict: bool = False, fail_fast: bool = False,
        shadow_url: str | None = None) -> GateResult:
    from dragonfly_ci.gates import doctor, drift, prod_gate

    gate = Composite(GATE, strict=strict, fail_fast=fail_fast)
    secrets = target.secrets
    _command(gate, "tests", project.preflight.get("tests", DEFAULT_TESTS), project, secrets)
    gate.run("doctor", lambda: doctor.run(project, target, shadow_url=shadow_url))
    gate.run("schema-consistency", lambda: drift.run(project, target, shadow_url=shadow_url))
    gate.run("prod-gate", lambda: prod_gate.run(project, target, strict=strict, shadow_url=shadow_url))
    dashboard = project.preflight.get("dashboard_dir")
    if dashboard:
        _command(gate, "dashboard build", "npm ci && npm run build", project, secrets, subdir=dashboard)
    else:
        gate.skip("dashboard build", "no preflight.dashboard_dir in dragonfly.yml")
    result = gate.finish()
    result.facts["database"] = target.label
    return result


def _command(gate: Composite, name: str, command: str, project: Project, secrets: list[str],
             subdir: str = "") -> None:
    if gate.stopped:
        gate.skip(name, "an earlier check failed (--fail-fast)")
        return
    started = time.perf_counter()
    cwd = project.root / subdir
    if not cwd.is_dir():
        gate.record(name, False, f"{project.display(cwd)} is not a folder", 0.0)
        return
    try:
        done = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        gate.record(name, False, f"`{command}` timed out after {COMMAND_TIMEOUT_S} s",
                    time.perf_counter() - started)
        return
    output = (done.stdout + done.stderr).strip().splitlines()
    last = output[-1].strip() if output else ""
    for secret in secrets:  # a test run may print a URL it was given
        last = last.replace(secret, "***")
    detail = f"`{command}` exited {done.returncode}" + (f": {last}" if last else "")
    gate.record(name, done.returncode == 0, detail if done.returncode else (last or "ok"),
                time.perf_counter() - started)
