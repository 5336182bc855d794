"""`dragonfly-ci <gate>`: parse arguments, run a gate, render, map to an exit code.

Subcommands stay thin; the work lives in the library. Everything heavy is
imported inside the command that needs it, so `dragonfly-ci --help` is fast.

Exit codes: 0 passed, 1 the gate failed, 2 bad input, 3 could not check.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from dragonfly_ci import __version__

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_COULD_NOT_CHECK = 0, 1, 2, 3

EPILOG = "exit codes: 0 passed, 1 the gate failed, 2 bad input, 3 could not check"


def _default_format() -> str:
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def _project_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project-file", type=Path, metavar="PATH",
                        help="the project file (default: dragonfly.yml found from the current directory)")
    common.add_argument("--format", choices=("text", "github", "json", "sarif"), default=None,
                        help="report format (default: github when GITHUB_ACTIONS=true, else text)")
    common.add_argument("--strict", action="store_true", help="warnings fail the gate too")
    return common


def _target_options() -> argparse.ArgumentParser:
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument("--db-url", metavar="URL",
                        help="the database to work on (shown without its password; also "
                        "$DRAGONFLY_DB_URL, which keeps it off the command line)")
    target.add_argument("--env", metavar="NAME", help="an environment declared in dragonfly.yml")
    return target


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dragonfly-ci",
        description="Fail-closed release gates for Supabase applications.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"dragonfly-ci {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="<command>")
    common = _project_options()

    gate = commands.add_parser(
        "contract-gate", parents=[common], epilog=EPILOG,
        help="build the schema the migrations define and check the RPC contract",
        description="Apply supabase/migrations to a throwaway shadow database and check the "
        "contract (RPC signatures, tables, views) against what they build.",
    )
    gate.add_argument("--shadow-url", metavar="URL",
                      help="build the shadow on this PostgreSQL server, in a fresh database that is "
                      "dropped afterwards (default: $DRAGONFLY_SHADOW_URL, the project file, "
                      "else a private embedded PostgreSQL)")
    gate.add_argument("--base", metavar="REF",
                      help="a pull request's base (branch, tag or commit, e.g. origin/main): also build "
                      "its migrations, report what the head changes in the API surface at the lines "
                      "that changed it, and lint the new migrations with squawk")
    gate.add_argument("--sarif-file", type=Path, metavar="PATH",
                      help="also write the report as SARIF 2.1.0 here (for code scanning)")
    gate.add_argument("--json-file", type=Path, metavar="PATH",
                      help="also write the JSON report here (e.g. for `dragonfly-ci publish` in a "
                      "workflow_run workflow, for fork pull requests)")
    gate.add_argument("--no-check-run", action="store_true",
                      help="in GitHub Actions with GITHUB_TOKEN set, do not create a check run")
    gate.add_argument("--no-pr-comment", action="store_true",
                      help="in GitHub Actions with GITHUB_TOKEN set, do not write the sticky PR comment")
    gate.set_defaults(run=_contract_gate)

    publish = commands.add_parser(
        "publish", epilog=EPILOG,
        help="post a saved JSON report as a check run and a sticky PR comment (workflow_run, forks)",
        description="Read a report written with --json-file (or --format json) and post it to GitHub "
        "as a check run and the sticky pull-request comment, as the gate does itself when it has a "
        "token. For fork pull requests: run the gate in the pull_request workflow, upload the report "
        "as an artifact, and publish it from a workflow_run workflow that has a write token.",
    )
    publish.add_argument("report", type=Path, help="the JSON report")
    publish.add_argument("--pr", type=int, metavar="NUMBER",
                         help="the pull request (default: from the event payload)")
    publish.add_argument("--sha", metavar="SHA",
                         help="the commit the check run belongs to (default: the pull request's head)")
    publish.add_argument("--no-check-run", action="store_true", help="do not create a check run")
    publish.add_argument("--no-pr-comment", action="store_true", help="do not write the PR comment")
    publish.set_defaults(run=_publish)

    migrate = commands.add_parser(
        "migrate", parents=[common, _target_options()], epilog=EPILOG,
        help="apply pending migrations atomically, one migrator at a time",
        description="Apply every pending migration in one transaction with its ledger rows "
        "(supabase_migrations.schema_migrations, as the Supabase CLI writes it), under an advisory "
        "lock. `migrate status` (or --dry-run) only reports the plan.",
    )
    migrate.add_argument("action", nargs="?", choices=("status",),
                         help="status: the plan, the last applied versions and recent runs")
    migrate.add_argument("--dry-run", action="store_true", help="report the plan; change nothing")
    migrate.add_argument("--allow-out-of-order", action="store_true",
                         help="apply pending files older than the newest applied version")
    migrate.add_argument("--lock-timeout", metavar="DURATION", help="lock_timeout per statement (10s)")
    migrate.add_argument("--statement-timeout", metavar="DURATION",
                         help="statement_timeout per statement (10min)")
    migrate.add_argument("--lock-wait", type=float, metavar="SECONDS",
                         help="how long to wait for another migrator (300)")
    migrate.set_defaults(run=_migrate)

    doctor = commands.add_parser(
        "doctor", parents=[common, _target_options()], epilog=EPILOG,
        help="the health of a live database: connectivity, ledger, contract, dashboard views",
        description="Connect within a timeout, report the server version and the migration ledger, "
        "check the contract on the live database, and check that the dashboard views exist with "
        "the definitions their SQL files produce.",
    )
    doctor.add_argument("--shadow-url", metavar="URL", help="as for contract-gate (for dashboard views)")
    doctor.set_defaults(run=_live_gate("doctor", shadow_url="shadow_url"))

    drift = commands.add_parser(
        "schema-consistency", aliases=["drift"], parents=[common, _target_options()], epilog=EPILOG,
        help="compare a live database with the schema the migrations build",
        description="Report objects in the database that no migration creates, objects the "
        "migrations create that the database lacks, and objects that differ.",
    )
    drift.add_argument("--shadow-url", metavar="URL", help="as for contract-gate")
    drift.set_defaults(run=_live_gate("drift", shadow_url="shadow_url"))

    env_doctor = commands.add_parser(
        "env-doctor", parents=[common], epilog=EPILOG,
        help="check an environment's configuration without touching its database",
        description="Required variables set, database URLs well-formed, Supabase API keys of the "
        "right role and project, .env files valid, and no non-production environment pointing "
        "at production.",
    )
    env_doctor.add_argument("--env", required=True, metavar="NAME", help="the environment to check")
    env_doctor.set_defaults(run=_env_doctor)

    smoke = commands.add_parser(
        "smoke", parents=[common, _target_options()], epilog=EPILOG,
        help="run the project's smoke checks (SQL in a rolled-back transaction, HTTP, probes)",
    )
    smoke.set_defaults(run=_live_gate("smoke"))

    prod = commands.add_parser(
        "prod-gate", parents=[common, _target_options()], epilog=EPILOG,
        help="the verify phase: ledger, doctor, schema consistency and env-doctor in one gate",
    )
    prod.add_argument("--shadow-url", metavar="URL", help="as for contract-gate")
    prod.set_defaults(run=_live_gate("prod_gate", strict="strict", shadow_url="shadow_url"))

    preflight = commands.add_parser(
        "preflight", parents=[common, _target_options()], epilog=EPILOG,
        help="the pre-release checklist: tests, doctor, schema consistency, prod-gate, dashboard build",
    )
    preflight.add_argument("--fail-fast", action="store_true", help="stop at the first failed step")
    preflight.add_argument("--shadow-url", metavar="URL", help="as for contract-gate")
    preflight.set_defaults(run=_live_gate(
        "preflight", strict="strict", fail_fast="fail_fast", shadow_url="shadow_url"))

    migrations = commands.add_parser("migrations", help="check the migration files themselves")
    migrations_commands = migrations.add_subparsers(dest="migrations_command", metavar="<command>",
                                                    required=True)
    check = migrations_commands.add_parser(
        "check", parents=[common], epilog=EPILOG,
        help="fail when a change edits, renames or deletes a migration that exists at the base ref",
        description="Compare the migrations folder at --base with the working tree (staged, unstaged "
        "and untracked files): modifying, renaming or deleting a file that exists at the base is an "
        "error; a new file that sorts before the base's newest version is a warning.",
    )
    check.add_argument("--base", required=True, metavar="REF",
                       help="the pull request's base: a branch, tag or commit, e.g. origin/main "
                       "(in Actions: origin/$GITHUB_BASE_REF, with actions/checkout fetch-depth: 0)")
    check.set_defaults(run=_migrations_check)

    rollback = commands.add_parser("rollback", help="undo a migration with a NEW migration; assess state")
    rollback_commands = rollback.add_subparsers(dest="rollback_command", metavar="<command>",
                                                required=True)
    new = rollback_commands.add_parser(
        "new", parents=[common], epilog=EPILOG, help="draft a migration reverting the newest one",
        description="Write supabase/migrations/<UTC timestamp>_rollback_<slug>.sql: the functions the "
        "newest migration changed as they were before it (checked on a shadow), everything else as a "
        "TODO. A DRAFT: review it before merging. Applied migrations are never edited.")
    new.add_argument("slug", help="lowercase letters, digits and underscores ([a-z0-9_]+)")
    new.add_argument("--shadow-url", metavar="URL", help="as for contract-gate")
    new.set_defaults(run=_rollback_new)
    rollback_status = rollback_commands.add_parser(
        "status", parents=[common, _target_options()], epilog=EPILOG,
        help="assess migration state: last applied versions, pending files, recent runs")
    rollback_status.set_defaults(run=_rollback_status)

    contract = commands.add_parser("contract", help="work with the contract file")
    contract_commands = contract.add_subparsers(dest="contract_command", metavar="<command>",
                                                required=True)
    init = contract_commands.add_parser(
        "init", parents=[common], epilog=EPILOG,
        help="draft a contract from the schema the migrations build",
        description="Build the shadow from the migrations and write a contract listing the "
        "functions, tables and views in the exposed schemas, for you to prune.",
    )
    init.add_argument("--output", type=Path, metavar="PATH",
                      help="where to write it (default: the project's contract path)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument("--shadow-url", metavar="URL", help="as for contract-gate")
    init.set_defaults(run=_contract_init)

    sql = contract_commands.add_parser(
        "sql", parents=[common], epilog=EPILOG,
        help="write verify_db_state.sql: the contract as a psql script a DBA can run",
        description="Emit a standalone psql script that checks every contracted RPC, table and view "
        "in the database it runs in and raises one error naming each problem.",
    )
    sql.add_argument("--output", type=Path, metavar="PATH", help="write here instead of stdout")
    sql.add_argument("--shadow-url", metavar="URL", help="as for contract-gate")
    sql.set_defaults(run=_contract_sql)

    _railway_parser(commands, common)

    schema = commands.add_parser(
        "schema", help="print the JSON Schema of the project file or the contract (for editors)",
    )
    schema.add_argument("which", choices=("project", "contract"))
    schema.set_defaults(run=_schema)

    rules = commands.add_parser("rules", help="list every rule id with its default severity")
    rules.set_defaults(run=_rules)
    return parser


def _contract_gate(args: argparse.Namespace) -> int:
    from dragonfly_ci.config import load_project
    from dragonfly_ci.gates import contract_gate

    if os.environ.get("GITHUB_TOKEN"):  # for the check run and PR comment, after the gate
        _mask([os.environ["GITHUB_TOKEN"]], args)
    project = load_project(args.project_file)
    result = contract_gate.run(project, shadow_url=args.shadow_url, base=args.base)
    code = _report(result, args)
    for fmt, path in (("sarif", args.sarif_file), ("json", args.json_file)):
        if path:
            from dragonfly_ci.report import render

            with open(Path.cwd() / path, "w", encoding="utf-8") as out:
                render(result, fmt, strict=args.strict, stream=out)
    if (args.format or _default_format()) == "github":
        from dragonfly_ci.report.pull_request import publish

        publish(result, strict=args.strict, check_run=not args.no_check_run,
                comment=not args.no_pr_comment, stream=sys.stdout)
    return code


def _publish(args: argparse.Namespace) -> int:
    from dragonfly_ci.report.pull_request import load_report, publish

    result, strict = load_report(args.report)
    posted = publish(result, strict=strict, check_run=not args.no_check_run,
                     comment=not args.no_pr_comment, stream=sys.stdout, pr=args.pr, sha=args.sha,
                     required=True)
    return EXIT_PASSED if posted else EXIT_COULD_NOT_CHECK


def _contract_init(args: argparse.Namespace) -> int:
    from dragonfly_ci.config import load_project
    from dragonfly_ci.gates import contract_init

    project = load_project(args.project_file)
    output = (Path.cwd() / args.output) if args.output else project.contract_file
    written = contract_init.run(project, output, force=args.force, shadow_url=args.shadow_url)
    print(f"wrote {project.display(output)}: {written}")
    return EXIT_PASSED


def _migrate(args: argparse.Namespace) -> int:
    from dragonfly_ci.config import load_project
    from dragonfly_ci.gates import migrate

    project = load_project(args.project_file)
    target = _target(project, args)
    fmt = args.format or _default_format()
    if args.action == "status":
        return _report(migrate.status(project, target), args)
    result = migrate.run(
        project, target, dry_run=args.dry_run, allow_out_of_order=args.allow_out_of_order,
        lock_timeout=args.lock_timeout, statement_timeout=args.statement_timeout,
        lock_wait=args.lock_wait, progress=_progress_printer(fmt),
    )
    return _report(result, args)


def _env_doctor(args: argparse.Namespace) -> int:
    from dragonfly_ci.config import load_project
    from dragonfly_ci.gates import env_doctor
    from dragonfly_ci.targets import environment_secrets

    project = load_project(args.project_file)
    _mask(environment_secrets(project, args.env), args)
    return _report(env_doctor.run(project, args.env), args)


def _mask(secrets: list[str], args: argparse.Namespace) -> None:
    """In Actions, `::add-mask::` every secret before anything else is printed."""
    if (args.format or _default_format()) == "github":
        from actions_toolkit import core

        for secret in secrets:
            core.set_secret(secret)


def _live_gate(gate: str, **options: str) -> Callable[[argparse.Namespace], int]:
    """A command that runs gates/<gate>.py's run(project, target, ...) on --db-url/--env.

    `options` maps run()'s keyword arguments to the attributes of the parsed arguments.
    """

    def command(args: argparse.Namespace) -> int:
        import importlib

        from dragonfly_ci.config import load_project

        project = load_project(args.project_file)
        target = _target(project, args)
        module = importlib.import_module(f"dragonfly_ci.gates.{gate}")
        kwargs = {key: getattr(args, attr) for key, attr in options.items()}
        return _report(module.run(project, target, **kwargs), args)

    return command


def _rollback_new(args: argparse.Namespace) -> int:
    from dragonfly_ci.config import load_project
    from dragonfly_ci.gates import rollback

    project = load_project(args.project_file)
    draft = rollback.new_rollback(project, args.slug, shadow_url=args.shadow_url)
    version, name = draft.reverts
    print(f"wrote {project.display(draft.path)}: a DRAFT reverting {version}_{name}.sql; review it")
    for identity in draft.functions_restored:
        print(f"  restores {identity}")
    for identity in draft.functions_dropped:
        print(f"  new in it (drop commented out): {identity}")
    for note in draft.notes:
        print(f"  note: {note}")
    return EXIT_PASSED


def _rollback_status(args: argparse.Namespace) -> int:
    from dragonfly_ci.config import load_project
    from dragonfly_ci.gates import rollback
    from dragonfly_ci.migrations.files import discover
    from dragonfly_ci.postgres.connect import connect

    project = load_project(args.project_file)
    target = _target(project, args)
    files, _ = discover(project.migrations_dir, project.display)
    with connect(target.url, autocommit=True, purpose=f"the {target.env or 'target'} database") as conn:
        result = rollback.rollback_status(conn, files, rules=project.rules)
    result.facts = {"database": target.label, **result.facts}
    return _report(result, args)


def _target(project, args: argparse.Namespace):  # noqa: ANN001, ANN202 - Project -> Target
    """Resolve --db-url/--env, masking its secrets in Actions before anything is printed."""
    from dragonfly_ci.targets import resolve_target

    db_url = args.db_url or os.environ.get("DRAGONFLY_DB_URL") or None
    target = resolve_target(project, db_url=db_url, env=args.env)
    _mask(target.secrets, args)
    if db_url and not args.db_url and args.env:
        # A variable left exported in a shell must not silently redirect --env.
        print(f"dragonfly-ci: $DRAGONFLY_DB_URL is set: using {target.label} instead of "
              f"environment {args.env}'s own database", file=sys.stderr)
    return target


def _migrations_check(args: argparse.Namespace) -> int:
    from dragonfly_ci.config import load_project
    from dragonfly_ci.gates import migrations_check

    project = load_project(args.project_file)
    return _report(migrations_check.run(project, args.base), args)


def _progress_printer(fmt: str):  # noqa: ANN202 - Callable[[Progress], None]
    """A line per file with its time; in Actions each batch is a foldable group."""
    stream = sys.stdout if fmt == "github" else sys.stderr

    def show(progress) -> None:  # noqa: ANN001 - gates.migrate.Progress
        if progress.event == "batch":
            stream.write(f"::group::{progress.text}\n" if fmt == "github" else f"{progress.text}\n")
        elif progress.event == "file":
            stream.write(f"  applied {progress.text} ({progress.seconds * 1000:.0f} ms)\n")
        else:
            stream.write(f"  {progress.text}\n")
            if fmt == "github":
                stream.write("::endgroup::\n")
        stream.flush()

    return show


def _contract_sql(args: argparse.Namespace) -> int:
    from dragonfly_ci.config import load_project
    from dragonfly_ci.gates import contract_sql

    project = load_project(args.project_file)
    text = contract_sql.run(project, shadow_url=args.shadow_url)
    if args.output:
        output = Path.cwd() / args.output
        output.write_text(text, encoding="utf-8")
        print(f"wrote {project.display(output)}")
    else:
        sys.stdout.write(text)
    return EXIT_PASSED


def _railway_parser(commands, common: argparse.ArgumentParser) -> None:  # noqa: ANN001 - subparsers
    railway = commands.add_parser(
        "railway", help="freeze, restore, redeploy and watch worker services on Railway",
        description="Railway's API, with the token in $RAILWAY_TOKEN (a project token) or "
        "$RAILWAY_API_TOKEN (an account or workspace token); the project, environment and services "
        "come from railway: in dragonfly.yml.", epilog=EPILOG)
    subcommands = railway.add_subparsers(dest="railway_command", metavar="<command>", required=True)
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--env", metavar="NAME",
                        help="the Railway environment railway.environments maps NAME to "
                        "(default: railway.environment, else the project token's)")
    shared.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    shared.add_argument("--api-timeout", type=_positive, default=30.0, metavar="SECONDS",
                        help="how long to wait for one answer from Railway's API (30)")
    service = argparse.ArgumentParser(add_help=False)
    service.add_argument("--service", action="append", metavar="NAME",
                         help="a Railway service name or id; repeat for more (default: railway.services)")
    changing = argparse.ArgumentParser(add_help=False)  # scale and restore
    changing.add_argument("--state-file", type=Path, metavar="PATH",
                          help="the state file (default: $RUNNER_TEMP/dragonfly-railway-state.json in "
                          "Actions, else .dragonfly/railway-state.json beside dragonfly.yml)")
    changing.add_argument("--no-redeploy", action="store_true",
                          help="only change the setting; it applies at the service's next deploy")

    scale = subcommands.add_parser(
        "scale", parents=[common, shared, service, changing], epilog=EPILOG,
        help="set replicas, first recording the current ones for `restore`",
        description="Record each service's current replicas (per region) in the state file and the "
        "step outputs, then set them and redeploy the latest deployment to apply them. "
        "--replicas 0 is the freeze.")
    scale.add_argument("--replicas", type=_count, metavar="N",
                       help="replicas in every region the service runs in; 0 stops the workers")
    scale.add_argument("--region", action="append", type=_region_count, metavar="REGION=N",
                       help="replicas in one region (e.g. us-west2=2); repeatable")
    scale.set_defaults(run=_railway)

    restore = subcommands.add_parser(
        "restore", parents=[common, shared, changing], epilog=EPILOG,
        help="put back exactly the replicas `scale` recorded (safe to repeat, and with nothing frozen)",
        description="Put back every service the state records and has not been restored, then mark "
        "it restored. A service already as recorded is left alone; no state is a clean pass.")
    restore.add_argument("--state", metavar="JSON|PATH",
                         help="the state itself (the `state` output of a scale in another job), or a "
                         "file holding it; empty: nothing was frozen")
    restore.set_defaults(run=_railway)

    redeploy = subcommands.add_parser(
        "redeploy", parents=[common, shared, service], epilog=EPILOG,
        help="redeploy the latest deployment; with --wait, until it reaches SUCCESS",
        description="Redeploy each service's latest deployment. With --wait, fail when the new "
        "deployment ends FAILED or CRASHED or is not SUCCESS in time, with its last log lines.")
    redeploy.add_argument("--wait", action="store_true", help="wait for SUCCESS")
    redeploy.add_argument("--timeout", type=_positive, metavar="SECONDS",
                          help="how long --wait waits (railway.redeploy.timeout, 600)")
    redeploy.add_argument("--poll-seconds", type=_positive, metavar="SECONDS",
                          help="between status checks (railway.redeploy.poll_seconds, 5)")
    redeploy.set_defaults(run=_railway)

    watch = subcommands.add_parser(
        "watch", parents=[common, shared, service], epilog=EPILOG,
        help="poll deployment status and logs; fail on a crash, a restart or too many error lines",
        description="Watch each service's latest deployment for --minutes: fail when it crashes or an "
        "instance restarts, or when more log lines than railway.watch.max_error_lines match "
        "railway.watch.error_patterns. The report says what was seen.")
    watch.add_argument("--minutes", type=_positive, metavar="M",
                       help="how long to watch; fractions allowed (railway.watch.minutes, 15)")
    watch.add_argument("--poll-seconds", type=_positive, metavar="SECONDS",
                       help="between polls, one API request per service (railway.watch.poll_seconds, 30)")
    watch.set_defaults(run=_railway)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not above zero")
    return value


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (0, 1, 2, ...)")
    return int(text)


def _region_count(text: str) -> tuple[str, int]:
    region, sep, count = text.partition("=")
    if not sep or not region.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not REGION=N, e.g. us-west2=2")
    return region.strip(), _count(count)


def _railway(args: argparse.Namespace) -> int:
    from dragonfly_ci.gates import railway as gate
    from dragonfly_ci.railway.client import Client, token_from_environment

    token = token_from_environment()
    _mask([token.value], args)
    client = Client(token, timeout=args.api_timeout)
    fmt = args.format or _default_format()
    if args.railway_command == "restore":
        return _report(_railway_restore(args, client), args)

    from dragonfly_ci.config import load_project
    from dragonfly_ci.railway.project import resolve
    from dragonfly_ci.railway.state import default_path

    project = load_project(args.project_file)
    run = gate.Run(client, resolve(client, project, env=args.env, services=args.service or []), project)
    settings = project.railway
    if args.railway_command == "scale":
        if args.replicas is None and not args.region:
            from dragonfly_ci.errors import BadInput

            raise BadInput("railway scale needs --replicas N or --region REGION=N",
                           hint="--replicas 0 freezes the workers")
        path = Path.cwd() / args.state_file if args.state_file else default_path(project.root)
        result = gate.scale(run, replicas=args.replicas, by_region=dict(args.region or ()),
                            dry_run=args.dry_run, redeploy=not args.no_redeploy, state_path=path,
                            state_display=project.display(path), on_recorded=_outputs_writer(fmt))
    elif args.railway_command == "redeploy":
        result = gate.redeploy(run, wait=args.wait, dry_run=args.dry_run,
                               timeout=args.timeout or settings.redeploy_timeout,
                               poll_seconds=args.poll_seconds or settings.redeploy_poll_seconds,
                               progress=_line_printer(fmt))
    else:
        result = gate.watch(run, minutes=args.minutes or settings.watch_minutes,
                            poll_seconds=args.poll_seconds or settings.watch_poll_seconds,
                            patterns=settings.error_patterns, max_error_lines=settings.max_error_lines,
                            dry_run=args.dry_run, progress=_line_printer(fmt))
    return _report(result, args)


def _railway_restore(args: argparse.Namespace, client):  # noqa: ANN001, ANN202 - Client -> GateResult
    """Needs no project file: the state holds ids. A malformed dragonfly.yml must not
    stand between a failed release and its workers."""
    from dragonfly_ci.config import find_project_file
    from dragonfly_ci.gates import railway as gate
    from dragonfly_ci.railway import state as state_file

    if args.state is not None and args.state.strip() and not args.state.lstrip().startswith("{"):
        display = args.state.strip()  # a file holding the state
        path: Path | None = Path.cwd() / display
        if not path.is_file():
            from dragonfly_ci.errors import BadInput

            raise BadInput("--state is neither a state document (JSON) nor a file", file=display,
                           hint="pass the `state` output of `railway scale`, or the state file's path")
        state = state_file.load(path, display)
    elif args.state is not None:
        path, display = None, "--state"
        state = state_file.parse(args.state, display)
    else:
        project_file = (Path.cwd() / args.project_file if args.project_file
                        else find_project_file(Path.cwd()))
        root = project_file.parent if project_file else Path.cwd()
        path = Path.cwd() / args.state_file if args.state_file else state_file.default_path(root)
        display = os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
        state = state_file.load(path, display)
    return gate.restore(client, state, dry_run=args.dry_run, redeploy=not args.no_redeploy,
                        state_path=path, state_display=display)


def _outputs_writer(fmt: str):  # noqa: ANN202 - Callable[[dict[str, str]], None]
    """Step outputs written at once: a step that fails later still leaves them."""

    def write(outputs: dict[str, str]) -> None:
        if fmt == "github" and os.environ.get("GITHUB_OUTPUT"):
            from actions_toolkit import core

            for name, value in outputs.items():
                core.set_output(name, value)

    return write


def _line_printer(fmt: str):  # noqa: ANN202 - Callable[[str], None]
    stream = sys.stdout if fmt == "github" else sys.stderr

    def show(text: str) -> None:
        stream.write(f"  {text}\n")
        stream.flush()

    return show


def _report(result, args: argparse.Namespace) -> int:  # noqa: ANN001 - GateResult, imported lazily
    from dragonfly_ci.report import render

    render(result, args.format or _default_format(), strict=args.strict, stream=sys.stdout)
    if result.passed(strict=args.strict):
        return EXIT_PASSED
    judged_failed = result.errors or (args.strict and result.warnings)
    return EXIT_COULD_NOT_CHECK if result.could_not_check and not judged_failed else EXIT_FAILED


def _schema(args: argparse.Namespace) -> int:
    from dragonfly_ci.yamldoc import schema_text

    sys.stdout.write(schema_text("dragonfly" if args.which == "project" else "contract"))
    return EXIT_PASSED


def _rules(args: argparse.Namespace) -> int:
    from dragonfly_ci.rules import RULES

    width = max(len(r) for r in RULES)
    for rule in RULES.values():
        print(f"{rule.id:<{width}}  {rule.severity.value:<7}  {rule.summary}")
    return EXIT_PASSED


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    from dragonfly_ci.errors import DragonflyError

    try:
        return run(args)
    except DragonflyError as exc:
        _fail(str(exc), args, exc.file, exc.line)
        return exc.exit_code
    except KeyboardInterrupt:
        _fail("interrupted", args)
        return EXIT_COULD_NOT_CHECK
    except Exception as exc:  # noqa: BLE001 - fail closed: never a traceback, never exit 0
        if os.environ.get("DRAGONFLY_DEBUG"):
            raise
        from dragonfly_ci.postgres.connect import scrub

        _fail(f"internal error: {type(exc).__name__}: {scrub(str(exc))}\n"
              "  hint: set DRAGONFLY_DEBUG=1 for a traceback and report it", args)
        return EXIT_COULD_NOT_CHECK


def _fail(message: str, args: argparse.Namespace, file: str | None = None,
          line: int | None = None) -> None:
    print(f"dragonfly-ci: error: {message}", file=sys.stderr)
    if (getattr(args, "format", None) or _default_format()) == "github":
        from actions_toolkit.command import issue_command

        properties = {"title": "dragonfly-ci"}
        if file:
            properties["file"] = file
        if line:
            properties["line"] = str(line)
        issue_command("error", properties, message)
