"""The report sinks, on hand-built results: no database needed."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from dragonfly_ci.findings import Finding, GateResult, Location
from dragonfly_ci.report import github, json_report, render, summary, terminal
from dragonfly_ci.rules import finding

ANSI = re.compile(r"\x1b\[[0-9;]*m")
MIGRATION = "supabase/migrations/20240101000000_ops_schema.sql"
CONTRACT = "supabase/contract.yml"


def missing_rpc(n: int = 0) -> Finding:
    return finding(
        "contract/rpc-missing",
        f"RPC ops.claim_pending_job_{n}(uuid) is in the contract but does not exist.",
        location=Location(CONTRACT, 10 + n, column=5),
        hint="Restore it in a new migration, or remove it from the contract.",
        subject=f"ops.claim_pending_job_{n}",
    )


def overloaded(n: int = 0) -> Finding:
    return finding(
        "contract/rpc-overloaded",
        f"Two functions are named ops.enqueue_job_{n}; PostgREST may pick either.",
        location=Location(MIGRATION, 100 + n),
        subject=f"ops.enqueue_job_{n}",
    )


def uncontracted(n: int = 0) -> Finding:
    return finding(
        "contract/rpc-uncontracted",
        f"ops.helper_{n}() is exposed by PostgREST but not in the contract.",
        location=Location(MIGRATION, 200 + n, 210 + n),
        subject=f"ops.helper_{n}",
    )


def result_of(*findings: Finding, **kwargs) -> GateResult:
    kwargs.setdefault("facts", {"migrations": "12 applied to a shadow database"})
    kwargs.setdefault("duration_s", 1.23)
    return GateResult("contract-gate", list(findings), **kwargs)


def mixed() -> GateResult:
    return result_of(
        uncontracted(),
        finding("contract/none", "No contract file: only that the migrations apply was checked."),
        overloaded(),
        missing_rpc(),
        facts={"migrations": "12 applied to a shadow database", "contract": CONTRACT},
    )


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command parsed the way the runner parses it."""
    match = re.fullmatch(r"::(\w+)(?: ([^:]*))?::(.*)", line)
    assert match, line
    name, props, data = match.groups()
    properties = {}
    for pair in (props or "").split(","):
        key, _, value = pair.partition("=")
        properties[key] = unescape_property(value)
    return name, properties, unescape_data(data)


def parse_output_file(path: Path) -> dict[str, str]:
    """The `name<<delimiter` heredoc format GitHub reads from $GITHUB_OUTPUT."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        name, delimiter = line.split("<<", 1)
        value = []
        for body in lines:
            if body == delimiter:
                break
            value.append(body)
        outputs[name] = "\n".join(value)
    return outputs


# -- GitHub annotations ------------------------------------------------------


def test_annotations_keep_to_githubs_caps_errors_first_and_say_how_many_more():
    result = result_of(
        *(uncontracted(i) for i in range(30)),
        *(overloaded(i) for i in range(12)),
        *(missing_rpc(i) for i in range(25)),
    )

    shown = github.annotations(result)

    levels = [level for level, _, _ in shown]
    assert len(shown) <= 50
    assert levels.count("error") == 10
    assert levels.count("warning") == 10
    assert levels.count("notice") == 10  # nine findings and the one saying more exist
    assert levels[:10] == ["error"] * 10
    more = [a for a in shown if "more finding" in a[1]]
    assert len(more) == 1
    # 15 errors + 2 warnings + 21 notices were left out.
    assert more[0][1].startswith("38 more findings")
    assert "job summary" in more[0][1]
    assert shown[-1] == more[0]


def test_annotations_reserve_a_slot_within_the_total_cap():
    result = result_of(*(missing_rpc(i) for i in range(25)), *(overloaded(i) for i in range(12)))

    shown = github.annotations(result, per_level=10, total=15)

    assert len(shown) == 15
    assert [level for level, _, _ in shown].count("error") == 10
    assert [level for level, _, _ in shown].count("warning") == 4
    assert shown[-1][0] == "notice"
    assert shown[-1][1].startswith("23 more findings")


def test_annotations_add_no_notice_when_everything_fits():
    result = result_of(*(uncontracted(i) for i in range(10)), missing_rpc())

    shown = github.annotations(result)

    assert len(shown) == 11
    assert not any("more finding" in message for _, message, _ in shown)


def test_one_notice_too_many_gives_up_a_notice_slot():
    shown = github.annotations(result_of(*(uncontracted(i) for i in range(11))))

    assert len(shown) == 10
    assert shown[-1][1].startswith("2 more findings")


def test_annotation_carries_rule_title_location_and_hint():
    level, message, properties = github.annotations(result_of(missing_rpc(3)))[0]

    assert level == "error"
    assert properties == {
        "title": "contract/rpc-missing",
        "file": CONTRACT,
        "start_line": 13,
        "start_column": 5,
    }
    assert "does not exist" in message
    assert message.endswith("Hint: Restore it in a new migration, or remove it from the contract.")


def test_emitted_commands_escape_messages_and_properties(capsys):
    odd = finding(
        "migration/apply-failed",
        '100% of statement 2 failed:\r\nERROR: relation "ops.jobs" does not exist',
        location=Location("supabase/migrations/20240102000000_a,b:c.sql", 3, 3, 7),
        hint="Apply the migrations in order.",
    )

    github.emit_annotations(result_of(odd))

    line = capsys.readouterr().out.strip()
    assert line == (
        "::error title=migration/apply-failed,"
        "file=supabase/migrations/20240102000000_a%2Cb%3Ac.sql,line=3,endLine=3,col=7"
        '::100%25 of statement 2 failed:%0D%0AERROR: relation "ops.jobs" does not exist'
        "%0AHint: Apply the migrations in order."
    )
    name, properties, data = parse_command(line)
    assert name == "error"
    assert properties["file"] == "supabase/migrations/20240102000000_a,b:c.sql"
    assert data.startswith("100% of statement 2 failed:\r\nERROR")


def test_emitted_commands_send_only_the_properties_they_have(capsys):
    unplaced = finding(
        "contract/none", "No contract file: only that the migrations apply was checked."
    )
    spanning = uncontracted(1)  # lines 201-211, and a column

    github.emit_annotations(result_of(unplaced, spanning))

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"::notice title=contract/rpc-uncontracted,file={MIGRATION},line=201,endLine=211"
        "::ops.helper_1() is exposed by PostgREST but not in the contract."
    )
    # No file, no line: an annotation on the run, not on a file.
    assert lines[1] == (
        "::notice title=contract/none"
        "::No contract file: only that the migrations apply was checked."
    )


def test_emitted_annotations_respect_the_caps(capsys):
    github.emit_annotations(result_of(*(missing_rpc(i) for i in range(25))))

    commands = [parse_command(line) for line in capsys.readouterr().out.splitlines()]
    assert [name for name, _, _ in commands] == ["error"] * 10 + ["notice"]
    assert commands[-1][2].startswith("15 more findings")


# -- GitHub outputs and summary file ------------------------------------------


def test_outputs_are_written_to_github_output(tmp_path, monkeypatch):
    output = tmp_path / "output"
    output.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))

    github.write_outputs(mixed())

    assert parse_output_file(output) == {
        "passed": "false",
        "errors": "1",
        "warnings": "1",
        "notices": "2",
    }


def test_outputs_under_strict_fail_on_warnings(tmp_path, monkeypatch):
    output = tmp_path / "output"
    output.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    warned = result_of(overloaded())

    github.write_outputs(warned)
    assert parse_output_file(output)["passed"] == "true"

    output.write_text("")
    github.write_outputs(warned, strict=True)
    assert parse_output_file(output)["passed"] == "false"


def test_outputs_do_nothing_outside_actions(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)

    github.write_outputs(mixed())

    # Not even the deprecated `::set-output` command on stdout.
    assert capsys.readouterr().out == ""


def test_summary_is_appended_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "summary.md"
    path.write_text("## Build\n\n| a | b |\n| - | - |\n| 1 | 2 |\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))

    github.append_summary(mixed(), "## first gate\n")
    github.append_summary(mixed())  # rendered when no markdown is given

    text = path.read_text(encoding="utf-8")
    assert text.startswith("## Build\n\n| a | b |\n| - | - |\n| 1 | 2 |\n\n## first gate\n")
    assert text.count("## ❌ contract-gate failed") == 1


def test_summary_append_does_nothing_outside_actions(monkeypatch, tmp_path):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)

    github.append_summary(mixed(), "## anything\n")

    assert list(tmp_path.iterdir()) == []


# -- Job summary Markdown -----------------------------------------------------


def table_rows(markdown: str) -> list[str]:
    """The table's rows, without its heading and delimiter rows."""
    return [line for line in markdown.splitlines() if line.startswith("| ")][2:]


def test_summary_lists_every_finding_with_verdict_counts_and_facts():
    markdown = summary.render_markdown(mixed())

    assert markdown.startswith("## ❌ contract-gate failed\n")
    assert "**1** error · **1** warning · **2** notices · took 1.2 s" in markdown
    rows = table_rows(markdown)
    assert len(rows) == 4
    assert rows[0].startswith(f"| ❌ error | `contract/rpc-missing` | `{CONTRACT}:10` |")
    assert "**Hint:** Restore it in a new migration" in rows[0]
    assert rows[-1].startswith("| ℹ️ notice | `contract/none` | — |")
    assert "### What was checked" in markdown
    assert "- **migrations**: 12 applied to a shadow database" in markdown


def test_summary_passes_with_a_tick_and_no_table():
    markdown = summary.render_markdown(result_of(uncontracted()))

    assert markdown.startswith("## ✅ contract-gate passed\n")
    assert table_rows(markdown) == [
        f"| ℹ️ notice | `contract/rpc-uncontracted` | `{MIGRATION}:200` "
        "| ops.helper_0() is exposed by PostgREST but not in the contract. |"
    ]
    assert "No findings." in summary.render_markdown(result_of())


def test_summary_cells_escape_pipes_newlines_and_angle_brackets():
    odd = finding(
        "migration/skipped-file",
        "notes|draft.sql does not match <version>_<name>.sql\nand is skipped",
        location=Location("supabase/migrations/notes|draft.sql"),
    )

    (row,) = table_rows(summary.render_markdown(result_of(odd)))

    assert (
        "notes\\|draft.sql does not match &lt;version&gt;_&lt;name&gt;.sql<br>and is skipped" in row
    )
    assert "`supabase/migrations/notes\\|draft.sql`" in row
    # Exactly the five pipes that delimit four cells remain unescaped.
    assert len(re.findall(r"(?<!\\)\|", row)) == 5


def test_summary_truncates_rows_to_fit_and_says_how_many_were_left_out():
    result = result_of(*(missing_rpc(i) for i in range(200)))

    markdown = summary.render_markdown(result, max_bytes=4_000)

    assert len(markdown.encode("utf-8")) <= 4_000
    shown = len(table_rows(markdown))
    assert 0 < shown < 200
    left_out = re.search(r"_(\d+) more findings not shown", markdown)
    assert left_out and int(left_out.group(1)) == 200 - shown
    assert "--format json" in markdown
    # The verdict and the facts survive truncation.
    assert markdown.startswith("## ❌ contract-gate failed")
    assert "### What was checked" in markdown


# -- JSON -----------------------------------------------------------------------


def test_json_round_trip():
    result = mixed()

    document = json.loads(json_report.render(result))

    assert set(document) >= {"gate", "passed", "counts", "duration_s", "facts", "findings"}
    assert document["gate"] == "contract-gate"
    assert document["passed"] is False
    assert document["counts"] == {"error": 1, "warning": 1, "notice": 2}
    assert document["duration_s"] == 1.23
    assert document["facts"]["contract"] == CONTRACT
    assert [f["rule"] for f in document["findings"]] == [f.rule for f in result.sorted_findings()]
    first = document["findings"][0]
    assert first == {
        "rule": "contract/rpc-missing",
        "severity": "error",
        "message": "RPC ops.claim_pending_job_0(uuid) is in the contract but does not exist.",
        "hint": "Restore it in a new migration, or remove it from the contract.",
        "subject": "ops.claim_pending_job_0",
        "location": {"file": CONTRACT, "line": 10, "end_line": None, "column": 5},
    }
    assert document["findings"][-1]["location"] is None


def test_json_passed_follows_strict():
    warned = result_of(overloaded())

    assert json.loads(json_report.render(warned))["passed"] is True
    assert json.loads(json_report.render(warned, strict=True))["passed"] is False


# -- Terminal -------------------------------------------------------------------


def test_terminal_without_color_has_no_escapes_and_with_color_has_them():
    plain = terminal.render(mixed(), color=False)
    coloured = terminal.render(mixed(), color=True)

    assert "\x1b[" not in plain
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == plain


def test_terminal_groups_by_file_errors_first_unplaced_last():
    lines = terminal.render(mixed(), color=False).splitlines()

    findings = [line for line in lines if line.startswith("  ")]
    assert findings[0].split(maxsplit=3) == [
        f"{CONTRACT}:10:5",
        "error",
        "contract/rpc-missing",
        "RPC ops.claim_pending_job_0(uuid) is in the contract but does not exist.",
    ]
    assert (
        findings[1] == "      hint: Restore it in a new migration, or remove it from the contract."
    )
    assert findings[2].split()[:3] == [f"{MIGRATION}:100", "warning", "contract/rpc-overloaded"]
    assert findings[3].split()[:3] == [f"{MIGRATION}:200", "notice", "contract/rpc-uncontracted"]
    assert findings[4].split()[:3] == ["-", "notice", "contract/none"]
    assert "contract: supabase/contract.yml" in lines


def test_terminal_verdict_is_the_last_line():
    lines = terminal.render(mixed(), color=False).splitlines()

    assert lines[-1] == "contract-gate: FAILED — 1 error, 1 warning, 2 notices (1.2 s)"
    assert (
        terminal.render(result_of(duration_s=0.9), color=False).splitlines()[-1]
        == "contract-gate: passed — 0 errors, 0 warnings (0.9 s)"
    )


def test_terminal_strict_fails_on_warnings_alone():
    warned = result_of(overloaded(), overloaded(1))

    assert (
        terminal.render(warned, color=False)
        .splitlines()[-1]
        .startswith("contract-gate: passed — 0 errors, 2 warnings")
    )
    assert (
        terminal.render(warned, color=False, strict=True)
        .splitlines()[-1]
        .startswith("contract-gate: FAILED (strict) — 0 errors, 2 warnings")
    )


# -- Dispatch -------------------------------------------------------------------


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_render_text_colours_a_terminal_unless_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    piped, tty = io.StringIO(), Tty()
    render(mixed(), "text", strict=False, stream=piped)
    render(mixed(), "text", strict=False, stream=tty)
    assert "\x1b[" not in piped.getvalue()
    assert "\x1b[" in tty.getvalue()

    monkeypatch.setenv("NO_COLOR", "1")
    quiet = Tty()
    render(mixed(), "text", strict=False, stream=quiet)
    assert "\x1b[" not in quiet.getvalue()


def test_render_github_writes_log_annotations_outputs_and_summary(tmp_path, monkeypatch):
    output, step_summary = tmp_path / "output", tmp_path / "summary.md"
    output.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    stream = io.StringIO()

    render(mixed(), "github", strict=False, stream=stream)

    log = stream.getvalue().splitlines()
    verdict = log.index("contract-gate: FAILED — 1 error, 1 warning, 2 notices (1.2 s)")
    assert [line.split(" ")[0] for line in log[verdict + 1 :]] == [
        "::error",
        "::warning",
        "::notice",
        "::notice",
    ]
    assert parse_output_file(output)["passed"] == "false"
    assert step_summary.read_text(encoding="utf-8").startswith("## ❌ contract-gate failed")


def test_render_json_and_unknown_format():
    stream = io.StringIO()
    render(mixed(), "json", strict=True, stream=stream)
    assert json.loads(stream.getvalue())["counts"]["error"] == 1

    with pytest.raises(ValueError, match="xml"):
        render(mixed(), "xml", strict=False, stream=io.StringIO())
