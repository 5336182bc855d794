"""Which live database a command works on: `--db-url URL` or `--env NAME`.

The one place environment names become URLs. URLs are secrets: shown only
through `Target.label`, with the password removed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dragonfly_ci.config import Project
from dragonfly_ci.errors import BadInput
from dragonfly_ci.postgres.connect import password_of, redact_url


@dataclass(frozen=True)
class Target:
    url: str
    env: str | None = None
    protected: bool = False

    @property
    def label(self) -> str:
        where = redact_url(self.url)
        return f"{where} (environment {self.env})" if self.env else where

    @property
    def secrets(self) -> list[str]:
        """Values to mask in CI logs before anything else is printed."""
        password = password_of(self.url)
        return [password] if password else []


def resolve_target(project: Project, *, db_url: str | None, env: str | None) -> Target:
    if db_url and env:
        raise BadInput("give --db-url or --env, not both")
    if db_url:
        return Target(db_url)
    if not env:
        raise BadInput("no database given", hint="pass --db-url URL, or --env NAME for an "
                       "environment declared in dragonfly.yml")
    spec = project.environments.get(env)
    if spec is None:
        known = ", ".join(sorted(project.environments)) or "none declared"
        raise BadInput(
            f"unknown environment {env!r} (known: {known})",
            file=project.file and project.display(project.file),
            line=project.doc.line(("environments",)) if project.doc else None,
            hint="declare it under environments: in dragonfly.yml, with db_url_env naming "
            "the variable that holds its database URL",
        )
    variable = spec["db_url_env"]
    url = os.environ.get(variable, "").strip()
    if not url:
        raise BadInput(
            f"environment {env!r}: ${variable} is not set",
            file=project.file and project.display(project.file),
            line=project.doc.line(("environments", env, "db_url_env")) if project.doc else None,
            hint=f"export {variable}=postgresql://... (in Actions: a secret passed through env:)",
        )
    return Target(url, env=env, protected=bool(spec.get("protected")))
