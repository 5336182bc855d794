"""Every rule id the toolkit can report, with its default severity.

Rule ids are stable: users silence or escalate them by id in the project file
(`rules: {contract/rpc-uncontracted: warning}`), and the README documents each.
"""

from __future__ import annotations

from dataclasses import dataclass

from dragonfly_ci.findings import Finding, Severity


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str


_E, _W, _N = Severity.ERROR, Severity.WARNING, Severity.NOTICE

RULES: dict[str, Rule] = {
    r.id: r
    for r in [
        Rule("migration/apply-failed", _E, "A migration file failed to apply to the shadow database."),
        Rule("migration/skipped-file", _W, "A file in the migrations folder does not match "
             "<version>_<name>.sql and is skipped, as the Supabase CLI skips it."),
        Rule("contract/none", _N, "No contract file: only that the migrations apply was checked."),
        Rule("contract/rpc-missing", _E, "A contracted RPC does not exist."),
        Rule("contract/rpc-arguments-changed", _E,
             "A contracted RPC exists, but not with the contracted argument types."),
        Rule("contract/rpc-argument-names-changed", _E,
             "A contracted RPC's argument names differ (PostgREST calls RPCs by name)."),
        Rule("contract/rpc-return-type-changed", _E, "A contracted RPC returns another type."),
        Rule("contract/rpc-security-changed", _E,
             "A contracted RPC is SECURITY DEFINER where INVOKER is declared, or the reverse."),
        Rule("contract/rpc-execute-missing", _E,
             "A role the contract names cannot EXECUTE the RPC."),
        Rule("contract/rpc-overloaded", _W,
             "More than one function has a contracted RPC's name; PostgREST may pick either."),
        Rule("contract/rpc-uncontracted", _N,
             "A function in an exposed schema is not in the contract."),
        Rule("contract/table-missing", _E, "A contracted table does not exist."),
        Rule("contract/column-missing", _E, "A contracted column does not exist."),
        Rule("contract/column-type-changed", _E, "A contracted column has another type."),
        Rule("contract/column-nullability-changed", _E,
             "A contracted column's nullability differs."),
        Rule("contract/view-missing", _E, "A contracted view does not exist."),
        Rule("contract/type-missing", _E,
             "A type the contract names does not exist in the live database (doctor)."),
        # The ledger: supabase_migrations.schema_migrations against the files.
        Rule("ledger/pending", _N, "A migration file is not applied yet."),
        Rule("ledger/unknown-version", _E,
             "An applied version has no local file (written from the dashboard, or the file was deleted)."),
        Rule("ledger/out-of-order", _E,
             "A pending file is older than the newest applied version (allowed with --allow-out-of-order)."),
        Rule("ledger/applied-migration-edited", _E,
             "An applied migration's statements differ from the ones stored when it was applied."),
        Rule("ledger/applied-migration-reformatted", _W,
             "An applied migration differs from its stored statements only in whitespace or comments."),
        Rule("ledger/written-outside-git", _W,
             "A ledger row was written by the dashboard or the Management API (created_by is set)."),
        Rule("ledger/statements-unknown", _N,
             "An applied version has no stored statements, so edits to its file cannot be detected."),
        # doctor: a live database's health.
        Rule("doctor/ledger-missing", _E,
             "The database has no migration ledger: never migrated by the Supabase CLI or dragonfly-ci."),
        Rule("doctor/dashboard-view-missing", _E,
             "A view defined in the dashboard SQL files does not exist in the database."),
        Rule("doctor/dashboard-view-differs", _E,
             "A dashboard view's definition differs from what its SQL file produces."),
        # Composite gates.
        Rule("preflight/step-failed", _E,
             "A preflight step that is a command (tests, dashboard build) failed."),
        # Migration files on a pull request, against the base branch.
        Rule("migrations/applied-file-modified", _E,
             "A migration file that exists on the base branch was modified."),
        Rule("migrations/applied-file-renamed", _E,
             "A migration file that exists on the base branch was renamed."),
        Rule("migrations/applied-file-deleted", _E,
             "A migration file that exists on the base branch was deleted."),
        Rule("migrations/new-file-out-of-order", _W,
             "A new migration file sorts before the base branch's newest version."),
        # Schema drift: a live database against the shadow its migrations build.
        Rule("drift/object-not-in-migrations", _E,
             "An object exists in the live database but no migration creates it (manual SQL)."),
        Rule("drift/object-missing", _E,
             "The migrations create an object the live database lacks."),
        Rule("drift/object-differs", _E,
             "An object's definition differs between the live database and the migrations."),
        Rule("drift/grant-differs", _E,
             "Privileges on an object differ between the live database and the migrations."),
        Rule("drift/comment-differs", _W,
             "A comment differs between the live database and the migrations."),
        Rule("drift/extension-version-differs", _W,
             "An extension's version differs between the live database and the shadow."),
        # env-doctor: an environment's configuration, checked without touching a database.
        Rule("env/variable-missing", _E, "A variable the environment needs is not set, or is empty."),
        Rule("env/dotenv-invalid", _E, "The environment's .env file has a line that does not parse."),
        Rule("env/database-url-invalid", _E,
             "The database URL does not parse as postgresql://user:password@host:port/database."),
        Rule("env/database-url-insecure", _W,
             "The database URL allows an unencrypted connection to a remote host (sslmode)."),
        Rule("env/supabase-url-invalid", _E, "The Supabase API URL is not an http(s) URL with a host."),
        Rule("env/key-invalid", _E,
             "A Supabase API key is neither a JWT with a role claim nor an sb_publishable_/sb_secret_ key."),
        Rule("env/key-role-mismatch", _E,
             "A Supabase API key's role is not the one its variable claims (e.g. an anon key as the "
             "service-role key)."),
        Rule("env/key-expired", _E, "A Supabase API key's exp claim is in the past."),
        Rule("env/project-ref-mismatch", _E,
             "The API URL, the keys and the database URL name different Supabase projects."),
        Rule("env/points-at-production", _E,
             "A non-production environment uses a protected environment's database, project or keys."),
        # smoke: the project's critical paths, end to end against a live environment.
        Rule("smoke/step-failed", _E,
             "A smoke step did not return what it expects, raised an error, timed out or could not connect."),
        Rule("smoke/soft-step-failed", _W,
             "A smoke step marked soft failed: a warning, as for the runbook's connectivity probes."),
        Rule("smoke/no-steps", _N,
             "No smoke steps are declared: only that the database accepts a connection was checked."),
        # railway: worker services around a release.
        Rule("railway/config-sets-replicas", _W,
             "The service's railway.json or railway.toml sets replicas: Railway applies them at the next "
             "deploy, undoing a scale."),
        Rule("railway/no-deployment", _E,
             "The service has no deployment that can be redeployed or watched."),
        Rule("railway/deployment-failed", _E,
             "A deployment ended FAILED (or was removed or skipped) instead of reaching SUCCESS."),
        Rule("railway/deployment-crashed", _E, "A deployment CRASHED."),
        Rule("railway/deployment-timeout", _E,
             "A redeployment did not reach SUCCESS within the timeout."),
        Rule("railway/deployment-restarted", _E,
             "An instance of the watched deployment crashed, exited or restarted."),
        Rule("railway/deployment-replaced", _W,
             "Another deployment replaced the watched one during the watch."),
        Rule("railway/error-lines", _E,
             "More log lines than allowed matched the error patterns during the watch."),
        # contract-gate --base: the public surface at the base ref against the head. Breaking
        # changes are errors when the contract declares the object and did not change with it,
        # warnings when it does not declare it, notices when the contract changed too.
        Rule("surface/rpc-removed", _E, "An RPC in an exposed schema was removed."),
        Rule("surface/rpc-arguments-changed", _E,
             "An RPC's argument types changed, or an argument without a default was added or removed."),
        Rule("surface/rpc-argument-renamed", _E,
             "An RPC's argument was renamed (PostgREST calls RPCs by argument name)."),
        Rule("surface/rpc-default-removed", _E, "An RPC argument lost its default."),
        Rule("surface/rpc-return-type-changed", _E, "An RPC returns another type."),
        Rule("surface/rpc-security-changed", _E,
             "An RPC switched between SECURITY DEFINER and SECURITY INVOKER."),
        Rule("surface/rpc-execute-revoked", _E, "An API role can no longer EXECUTE an RPC."),
        Rule("surface/table-removed", _E,
             "A table in an exposed schema was removed or is no longer a table."),
        Rule("surface/view-removed", _E, "A view in an exposed schema was removed or is no longer a view."),
        Rule("surface/column-removed", _E, "A column of an exposed table or view was removed."),
        Rule("surface/column-type-changed", _E, "A column of an exposed table or view changed type."),
        Rule("surface/grant-revoked", _E,
             "An API role lost SELECT, INSERT, UPDATE or DELETE on an exposed table or view."),
        Rule("surface/policy-allows-anon", _E, "A row level security policy now lets anon in."),
        Rule("surface/rls-disabled", _E, "Row level security was disabled on an exposed table."),
        Rule("surface/rpc-added", _N, "A new RPC is callable through the API; declare it in the contract."),
        Rule("surface/rpc-extended", _N,
             "An RPC gained arguments with defaults, or defaults: calls that worked still work."),
        Rule("surface/rpc-execute-granted", _N, "An API role can EXECUTE an RPC it could not before."),
        Rule("surface/table-added", _N, "A new table is exposed through the API."),
        Rule("surface/view-added", _N, "A new view is exposed through the API."),
        Rule("surface/column-added", _N, "A new column in an exposed table or view."),
        Rule("surface/grant-added", _N, "An API role gained a privilege on an exposed table or view."),
        Rule("surface/base-not-built", _E,
             "The base ref's migrations do not apply, so the surface could not be compared."),
    ]
}


def apply_overrides(findings: list[Finding], overrides: dict[str, str]) -> list[Finding]:
    """Re-grade findings by the project file's `rules:` map; `off` drops them.

    A rule's own entry wins over its family's: `lint/*` re-grades every `lint/<squawk rule>`
    (squawk's own ids, see `dragonfly_ci/migrations/lint.py`).
    """
    result = []
    for finding in findings:
        level = overrides.get(finding.rule) or overrides.get(finding.rule.split("/", 1)[0] + "/*")
        if level == "off":
            continue
        result.append(finding.with_severity(Severity(level)) if level else finding)
    return result


def finding(rule: str, message: str, **kwargs) -> Finding:
    """A finding at its rule's default severity."""
    return Finding(rule=rule, severity=RULES[rule].severity, message=message, **kwargs)
