"""Shared by the Railway tests: a repository with a `railway:` section, a loopback
Railway (tests/fakes/railway.py) holding its project, and the CLI run for real.

Every command run through `World.cli` is checked for the planted tokens: no output
(stdout, stderr, job summary, step outputs) may contain them, except the
`::add-mask::` line that tells GitHub to hide them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dragonfly_ci.cli import main
from tests.fakes.railway import FakeDeployment, FakeInstance, FakeRailway

ACCOUNT_TOKEN = "planted-railway-account-token-7f3a9c"
PROJECT_TOKEN = "planted-railway-project-token-91bd20"
STAGING_TOKEN = "planted-railway-staging-token-5e6c11"
TOKENS = (ACCOUNT_TOKEN, PROJECT_TOKEN, STAGING_TOKEN)

PROJECT_FILE = """\
version: 1
railway:
  project: dragonfly
  environment: production
  environments: {prod: production, dev: staging}
  services: [worker, scheduler]
"""
EU = "europe-west4-drams3a"
TOKEN_VARIABLES = ("RAILWAY_TOKEN", "RAILWAY_API_TOKEN")


@dataclass
class Ran:
    code: int
    out: str
    err: str
    summary: str = ""
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.out + self.err

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


@dataclass
class World:
    fake: FakeRailway
    project: dict[str, Any]
    repo: Path
    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def instance(self, service: str, environment: str = "production") -> FakeInstance:
        return self.fake.instance(self.project, environment, service)

    def latest(self, service: str, environment: str = "production") -> FakeDeployment:
        return self.fake.latest(self.project, environment, service)

    def replicas(self, service: str, environment: str = "production") -> dict[str, int]:
        return self.instance(service, environment).replicas()

    def use_token(self, variable: str | None, value: str | None = None) -> None:
        for name in TOKEN_VARIABLES:
            self.monkeypatch.delenv(name, raising=False)
        if variable:
            self.monkeypatch.setenv(variable, value or "")

    def write_project(self, text: str) -> None:
        (self.repo / "dragonfly.yml").write_text(text)

    def state_file(self) -> Path:
        return self.repo / ".dragonfly" / "railway-state.json"

    def cli(self, *args: str, github: bool = False) -> Ran:
        """`dragonfly-ci railway ...` in the repository; in `github` format with the step
        summary and outputs files GitHub gives a step."""
        summary = self.repo.parent / "step_summary.md"
        outputs = self.repo.parent / "github_output"
        if github:
            summary.write_text("")
            outputs.write_text("")
            self.monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
            self.monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
            args = (*args, "--format", "github")
        self.capsys.readouterr()
        code = main(["railway", *args])
        out, err = self.capsys.readouterr()
        ran = Ran(code, out, err)
        if github:
            ran.summary = summary.read_text()
            ran.outputs = parse_outputs(outputs.read_text())
            self.monkeypatch.delenv("GITHUB_STEP_SUMMARY")
            self.monkeypatch.delenv("GITHUB_OUTPUT")
        assert_no_token(ran.out, ran.err, ran.summary, *ran.outputs.values())
        return ran


def assert_no_token(*texts: str) -> None:
    for text in texts:
        for line in text.splitlines():
            if line.startswith("::add-mask::"):
                continue  # GitHub's own instruction to hide the value everywhere else
            for token in TOKENS:
                assert token not in line, f"a token reached the output: {line!r}"


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as actions_toolkit writes it: `name<<delimiter`, value lines, delimiter."""
    outputs: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        name, _, delimiter = lines[i].partition("<<")
        i += 1
        value = []
        while i < len(lines) and lines[i] != delimiter:
            value.append(lines[i])
            i += 1
        outputs[name] = "\n".join(value)
        i += 1
    return outputs
