"""Report sinks: every gate's result is rendered by one of these, never printed by the gate.

- `terminal`: for people (text, optional colour, one verdict line at the end)
- `github`: annotations, step outputs and the job summary inside GitHub Actions
- `summary`: the job summary's Markdown
- `json_report`: a stable document for machines
- `sarif`: SARIF 2.1.0, for code scanning
"""

from __future__ import annotations

import os
from contextlib import redirect_stdout
from typing import TextIO

from dragonfly_ci.findings import GateResult

FORMATS = ("text", "github", "json", "sarif")


def render(
    result: GateResult,
    fmt: str,
    *,
    strict: bool,
    stream: TextIO,
    color: bool | None = None,
) -> None:
    """Write `result` to `stream` in format `fmt`; `color=None` means colour only
    on a terminal and only when NO_COLOR is unset."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "json":
        from dragonfly_ci.report import json_report

        stream.write(json_report.render(result, strict=strict) + "\n")
        return
    if fmt == "sarif":
        from dragonfly_ci.report import sarif

        stream.write(sarif.render(result, strict=strict) + "\n")
        return

    from dragonfly_ci.report import terminal

    if color is None:
        color = _is_tty(stream) and "NO_COLOR" not in os.environ
    stream.write(terminal.render(result, color=color, strict=strict) + "\n")
    if fmt == "github":
        from dragonfly_ci.report import github, summary

        # actions_toolkit writes workflow commands to sys.stdout; send them where
        # the rest of the report goes so they keep their order in the log.
        stream.flush()
        with redirect_stdout(stream):
            github.emit_annotations(result)
        github.write_outputs(result, strict=strict)
        github.append_summary(result, summary.render_markdown(result, strict=strict))


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
