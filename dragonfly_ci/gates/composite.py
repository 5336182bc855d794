"""Gates made of gates (prod-gate, preflight): each sub-check is a row with its verdict.

A sub-check that cannot run (database unreachable, a command missing) is
"could not check": the composite never passes then, and exits 3 unless
something else failed. Bad input still stops everything (exit 2).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from dragonfly_ci.errors import CouldNotCheck
from dragonfly_ci.findings import GateResult, SubCheck
from dragonfly_ci.report._words import counts


class Composite:
    def __init__(self, gate: str, *, strict: bool = False, fail_fast: bool = False) -> None:
        self.result = GateResult(gate)
        self.strict = strict
        self.fail_fast = fail_fast
        self._started = time.perf_counter()

    @property
    def stopped(self) -> bool:
        return self.fail_fast and any(c.verdict not in ("passed", "skipped") for c in self.result.checks)

    def run(self, name: str, check: Callable[[], GateResult]) -> None:
        """Run one sub-gate; its findings join the composite's."""
        if self.stopped:
            self.skip(name, "an earlier check failed (--fail-fast)")
            return
        started = time.perf_counter()
        try:
            sub = check()
        except CouldNotCheck as exc:
            self.result.could_not_check = True
            self.result.checks.append(SubCheck(name, "could not check", exc.message,
                                               time.perf_counter() - started))
            return
        verdict = "passed" if sub.passed(strict=self.strict) else "failed"
        if sub.could_not_check:
            verdict = "could not check"
            self.result.could_not_check = True
        self.result.findings += sub.findings
        self.result.checks.append(SubCheck(name, verdict, counts(sub), time.perf_counter() - started))

    def record(self, name: str, passed: bool, detail: str, seconds: float) -> None:
        """A sub-check that is not a gate (a command's exit status); a failure is a finding."""
        self.result.checks.append(SubCheck(name, "passed" if passed else "failed", detail, seconds))
        if not passed:
            from dragonfly_ci.rules import finding

            self.result.findings.append(finding(
                "preflight/step-failed", f"{name} failed: {detail}", subject=name,
                hint="run it alone to see its whole output"))

    def skip(self, name: str, reason: str) -> None:
        self.result.checks.append(SubCheck(name, "skipped", reason))

    def finish(self) -> GateResult:
        self.result.duration_s = time.perf_counter() - self._started
        return self.result
