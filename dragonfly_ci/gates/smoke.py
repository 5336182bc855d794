"""`dragonfly-ci smoke --env NAME`: the project's critical paths, end to end.

project (smoke: steps) + target (database, Supabase URL, API keys) -> SQL steps
in one rolled-back transaction, then HTTP and TCP steps -> one finding per
failed step, at its line in the project file. A database that cannot be
reached is CouldNotCheck (exit 3), never a pass. Keys and passwords never
reach a finding or a fact: every text is scrubbed of them before it leaves.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from dragonfly_ci.config import Project
from dragonfly_ci.findings import Finding, GateResult, Location
from dragonfly_ci.report._words import plural
from dragonfly_ci.rules import apply_overrides, finding

if TYPE_CHECKING:
    from dragonfly_ci.smoke.steps import Outcome
    from dragonfly_ci.targets import Target

GATE = "smoke"
# Supabase keys in any text a server sends back: JWTs, and the newer sb_secret_/sb_publishable_ keys.
_TOKENS = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*|sb_(?:secret|publishable)_[\w-]+")


def run(project: Project, target: Target) -> GateResult:
    """Run the declared steps against the target's database and Supabase API."""
    from dragonfly_ci.smoke.probes import Endpoint, run_probe
    from dragonfly_ci.smoke.sql import run_sql_steps
    from dragonfly_ci.smoke.steps import parse_steps

    started = time.perf_counter()
    result = GateResult(GATE)
    steps = parse_steps(project)  # bad input stops here, before anything is touched
    keys = {"anon": target.anon_key, "service_role": target.service_role_key}
    endpoint = Endpoint(target.supabase_url, {role: key for role, key in keys.items() if key})
    secrets = target.secrets  # the database password, both keys and the environment's secrets
    result.facts["database"] = target.label
    if endpoint.supabase_url:
        result.facts["Supabase URL"] = _without_credentials(endpoint.supabase_url)

    sql_steps = [s for s in steps if s.kind == "sql"]
    purpose = f"the {target.env or 'target'} database"
    outcomes = run_sql_steps(target.url, sql_steps, purpose=purpose)  # connects even with no SQL steps
    outcomes += [run_probe(s, endpoint) for s in steps if s.kind != "sql"]

    where = project.display(project.file) if project.file else None
    if not steps:
        result.findings.append(finding(
            "smoke/no-steps",
            "no smoke steps declared: checked only that the database accepts a connection",
            location=Location(where) if where else None,
            hint="declare the critical paths under smoke: steps: in dragonfly.yml (see the README)",
        ))
    result.findings += [_finding(o, where) for o in outcomes if not o.passed]
    passed = sum(o.passed for o in outcomes)
    soft_failed = sum(1 for o in outcomes if not o.passed and o.step.soft)
    summary = f"{len(outcomes)} run, {passed} passed"
    if soft_failed:
        summary += f", {plural(soft_failed, 'soft failure')}"
    result.facts["steps"] = summary
    for o in sorted(outcomes, key=lambda o: o.step.number):
        verdict = "passed" if o.passed else "failed (soft)" if o.step.soft else "FAILED"
        tries = f", {o.attempts} attempts" if o.attempts > 1 else ""
        took = f"{o.seconds * 1000:.0f} ms"
        result.facts[f"step {o.step.number}: {o.step.name}"] = f"{verdict} in {took}{tries}"

    result.findings = [_scrubbed(f, secrets) for f in apply_overrides(result.findings, project.rules)]
    result.facts = {_scrub(k, secrets): _scrub(v, secrets) for k, v in result.facts.items()}
    result.duration_s = time.perf_counter() - started
    return result


def _finding(outcome: Outcome, where: str | None) -> Finding:
    step = outcome.step
    rule = "smoke/soft-step-failed" if step.soft else "smoke/step-failed"
    return finding(
        rule,
        f"smoke step {step.number} ({step.kind}) {step.name!r}: {outcome.detail}",
        location=Location(where, step.line) if where else None,
        hint=outcome.hint,
        subject=step.name,
    )


def _scrub(text: str, secrets: list[str]) -> str:
    from dragonfly_ci.postgres.connect import scrub

    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:  # replacing a 1-3 character password would mangle every message
            text = text.replace(secret, "***")
    return scrub(_TOKENS.sub("***", text))


def _scrubbed(f: Finding, secrets: list[str]) -> Finding:
    return replace(f, message=_scrub(f.message, secrets), hint=_scrub(f.hint, secrets),
                   subject=_scrub(f.subject, secrets))


def _without_credentials(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(not shown: the URL does not parse)"
    if not parts.hostname:
        return "(not shown: the URL has no host)"
    return urlunsplit(parts._replace(netloc=parts.hostname + port, query="", fragment=""))
