"""`dragonfly-ci prod-gate`: the verify phase in one command.

The ledger verified (nothing pending, nothing unknown, nothing edited), doctor,
schema drift and env-doctor, each a row with its verdict. `--strict` turns
warnings into failures, as the runbook's `prod_gate --strict` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dragonfly_ci.config import Project
from dragonfly_ci.findings import GateResult, Severity
from dragonfly_ci.gates.composite import Composite

if TYPE_CHECKING:
    from dragonfly_ci.targets import Target

GATE = "prod-gate"


def ledger_verified(project: Project, target: Target) -> GateResult:
    """migrate status, where a pending migration is an error: production is behind."""
    from dragonfly_ci.gates import migrate

    result = migrate.status(project, target)
    result.findings = [f.with_severity(Severity.ERROR) if f.rule == "ledger/pending" else f
                       for f in result.findings]
    return result


def run(project: Project, target: Target, *, strict: bool = False,
        shadow_url: str | None = None) -> GateResult:
    from dragonfly_ci.gates import doctor, drift, env_doctor

    gate = Composite(GATE, strict=strict)
    gate.run("ledger", lambda: ledger_verified(project, target))
    gate.run("doctor", lambda: doctor.run(project, target, shadow_url=shadow_url))
    gate.run("schema-consistency", lambda: drift.run(project, target, shadow_url=shadow_url))
    if target.env:
        gate.run("env-doctor", lambda: env_doctor.run(project, target.env))
    else:
        gate.skip("env-doctor", "no --env: the environment's variables are unknown")
    result = gate.finish()
    result.facts["database"] = target.label
    return result
