"""Run one dragonfly-ci gate from a composite action's inputs.

Every action calls this script with the inputs in the environment, never in the
script text: `DRAGONFLY_INPUT_<NAME>` (upper case, `-` as `_`), plus
`DRAGONFLY_GATE`. (Not `INPUT_<NAME>`: act sets those for every input of a
composite action, including ones the script must not see.) It masks secret inputs before anything
else is printed, turns the inputs into the command's flags (URLs and tokens go
through the environment, never the command line), says what it runs, and runs
it in this process with `--format github`, so annotations, the job summary and
the step outputs come from the GitHub sink. Its exit code is the gate's.

An input that does not apply to the gate, or a malformed one, is bad input
(exit 2) naming the input: a typo must not turn a gate into a no-op.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

EXIT_BAD_INPUT = 2
PREFIX = "DRAGONFLY_INPUT_"

# Inputs every gate takes.
COMMON = ("project-file", "strict")
TARGET = ("environment", "database-url")

# Inputs that are secrets: masked first, passed as environment variables.
SECRET_ENV = {
    "database-url": "DRAGONFLY_DB_URL",
    "shadow-url": "DRAGONFLY_SHADOW_URL",
    "railway-token": "RAILWAY_TOKEN",
    "railway-api-token": "RAILWAY_API_TOKEN",
    "github-token": "GITHUB_TOKEN",
}
# Inputs whose default is a credential every job has (`github.token`): set whether
# the user chose them or not, so a gate that does not use them drops them instead
# of refusing them.
AMBIENT = ("github-token",)
URL_INPUTS = ("database-url", "shadow-url")

FLAGS = {  # boolean inputs -> flags
    "strict": "--strict",
    "dry-run": "--dry-run",
    "allow-out-of-order": "--allow-out-of-order",
    "fail-fast": "--fail-fast",
}
OPTIONS = {  # valued inputs -> options
    "project-file": "--project-file",
    "environment": "--env",
    "lock-timeout": "--lock-timeout",
    "statement-timeout": "--statement-timeout",
    "lock-wait": "--lock-wait",
    "base": "--base",
    "replicas": "--replicas",
    "state": "--state",
    "state-file": "--state-file",
    "sarif-file": "--sarif-file",
}


class BadInput(Exception):
    pass


@dataclass(frozen=True)
class Gate:
    command: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    extra: Callable[[dict[str, str]], list[str]] | None = field(default=None, compare=False)


def _railway(inputs: dict[str, str]) -> list[str]:
    """`railway scale` or `railway restore`, from the `action` input."""
    action = inputs.pop("action", "") or "scale"
    if action == "scale":
        # None given: the CLI scales every service dragonfly.yml lists under railway.services.
        services = [s for s in re.split(r"[\s,]+", inputs.pop("service", "")) if s]
        if "state" in inputs:
            raise BadInput("input state applies to action: restore only")
        inputs.setdefault("replicas", "0")
        return ["scale", *(arg for s in services for arg in ("--service", s))]
    if action == "restore":
        for name in ("service", "replicas"):
            if name in inputs:
                raise BadInput(f"input {name} applies to action: scale only; restore puts back "
                               "what the state records")
        return ["restore"]
    raise BadInput(f"input action is {action!r}; expected scale or restore")


GATES: dict[str, Gate] = {
    "contract-gate": Gate(("contract-gate",), ("shadow-url", "base", "github-token", "sarif-file")),
    "migrate": Gate(("migrate",), (*TARGET, "dry-run", "allow-out-of-order", "lock-timeout",
                                   "statement-timeout", "lock-wait")),
    "migrate-status": Gate(("migrate", "status"), TARGET),
    "doctor": Gate(("doctor",), (*TARGET, "shadow-url")),
    "schema-consistency": Gate(("schema-consistency",), (*TARGET, "shadow-url")),
    "env-doctor": Gate(("env-doctor",), ("environment",), required=("environment",)),
    "smoke": Gate(("smoke",), TARGET),
    "prod-gate": Gate(("prod-gate",), (*TARGET, "shadow-url")),
    "preflight": Gate(("preflight",), (*TARGET, "shadow-url", "fail-fast")),
    "migrations-check": Gate(("migrations", "check"), ("base",), required=("base",)),
    "rollback-status": Gate(("rollback", "status"), TARGET),
    "railway-scale": Gate(
        ("railway",),
        ("environment", "action", "service", "replicas", "state", "state-file", "dry-run",
         "railway-token", "railway-api-token"),
        extra=_railway,
    ),
}
ALIASES = {"drift": "schema-consistency"}


def read_inputs(environ: dict[str, str]) -> dict[str, str]:
    """Every non-empty DRAGONFLY_INPUT_* variable, by its input name
    (`DRAGONFLY_INPUT_DRY_RUN` -> dry-run)."""
    inputs = {}
    for key, value in environ.items():
        if key.startswith(PREFIX) and value.strip():
            inputs[key[len(PREFIX):].lower().replace("_", "-")] = value.strip()
    return inputs


def mask(inputs: dict[str, str], write: Callable[[str], None]) -> None:
    """`::add-mask::` each secret, line by line, and a URL's password on its own
    (decoded too), before anything else reaches the log."""
    for name in SECRET_ENV:
        value = inputs.get(name)
        if not value:
            continue
        secrets = [line for line in value.splitlines() if line.strip()]
        if name in URL_INPUTS:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                secrets += [password, unquote(password)]
        for secret in dict.fromkeys(secrets):
            write(f"::add-mask::{secret}\n")


def command(gate_name: str, inputs: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The dragonfly-ci arguments and the environment variables for a gate's inputs."""
    name = ALIASES.get(gate_name, gate_name)
    gate = GATES.get(name)
    if gate is None:
        raise BadInput(f"input gate is {gate_name!r}; expected one of {', '.join(sorted(GATES))}")
    # A boolean at "false" is the default of every action that has it: not a choice
    # the gate must accept (the root action passes every input to every gate).
    inputs = {n: v for n, v in inputs.items() if not (n in FLAGS and not _boolean(n, v))}
    inputs = {n: v for n, v in inputs.items() if n not in AMBIENT or n in gate.inputs}
    argv = list(gate.command)
    if gate.extra:
        argv += gate.extra(inputs)
    allowed = set(COMMON) | set(gate.inputs)
    unknown = sorted(set(inputs) - allowed)
    if unknown:
        raise BadInput(f"input {', '.join(unknown)} does not apply to gate {name}; it takes "
                       f"{', '.join(sorted(allowed))}")
    missing = [n for n in gate.required if n not in inputs]
    if missing:
        raise BadInput(f"gate {name} needs input {', '.join(missing)}")
    env = {}
    for input_name, value in inputs.items():
        if input_name in SECRET_ENV:
            env[SECRET_ENV[input_name]] = value
        elif input_name in FLAGS:
            argv.append(FLAGS[input_name])
        else:
            argv += [OPTIONS[input_name], value]
    return [*argv, "--format", "github"], env


def _boolean(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise BadInput(f"input {name} is {value!r}; expected true or false")
    return lowered == "true"


def main() -> int:
    inputs = read_inputs(dict(os.environ))
    mask(inputs, sys.stdout.write)
    sys.stdout.flush()
    try:
        argv, env = command(os.environ.get("DRAGONFLY_GATE", ""), inputs)
    except BadInput as exc:
        print(f"::error title=dragonfly-ci::{exc}", flush=True)
        return EXIT_BAD_INPUT
    os.environ.update(env)
    print("dragonfly-ci " + " ".join(shlex.quote(arg) for arg in argv), flush=True)

    from dragonfly_ci.cli import main as cli_main

    started = time.time()
    code = cli_main(argv)
    _sarif_output(inputs.get("sarif-file"), started)
    return code


def _sarif_output(path: str | None, since: float) -> None:
    """The step output `sarif-file`: the absolute path of the SARIF report this run wrote
    (for github/codeql-action/upload-sarif); not set when it wrote none."""
    if not path or not os.environ.get("GITHUB_OUTPUT"):
        return
    written = Path(path).resolve()
    if written.is_file() and written.stat().st_mtime >= since - 1:
        from actions_toolkit import core

        core.set_output("sarif-file", str(written))


if __name__ == "__main__":
    sys.exit(main())
