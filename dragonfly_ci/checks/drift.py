"""Schema drift: a live database's Snapshot against the one its migrations build.

Pure: no database, no printing. `expected` is the shadow built from the
migration files, `actual` the live database. Every difference becomes a
Finding at the migration line that defines the object, or, for an object no
migration creates, with no file location and the object's name as subject.

Some differences between a shadow and a production database built from the
SAME migrations are legitimate and are not reported:
- objects in platform-owned schemas (the ignore list), and everything an
  extension owns (the extension itself is compared, its members are not);
- roles, which belong to the cluster, not the project's migrations;
- NOT NULL constraint rows one side lacks: PostgreSQL 18 keeps them in
  pg_constraint, earlier versions do not (nullability is compared on the
  columns, and the rows themselves when both sides have them);
- the MAINTAIN privilege, which PostgreSQL 17 added: compared only when both
  servers have it;
- the name of the role that owns the database, given as `role_aliases`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from dragonfly_ci.findings import Finding, Location, latest
from dragonfly_ci.migrations.sources import COMMENT, CREATE, DEFINITION, DROP, GRANT, REPLACE, SourceIndex
from dragonfly_ci.postgres.catalog import Column, Privileges, Snapshot
from dragonfly_ci.postgres.fingerprints import PARTS, Fingerprint, Plan
from dragonfly_ci.rules import finding

DEFAULT_IGNORED: tuple[str, ...] = (
    "auth", "storage", "realtime", "vault", "extensions", "cron", "net", "pgmq", "graphql",
    "graphql_public", "pgsodium", "supabase_functions", "supabase_migrations", "dragonfly",
    "supabase_*", "pg_*",
)

TABLE_KINDS = ("table", "partitioned table", "foreign table")

# What a difference is about decides its rule, so users can tune grants and
# comments apart from definitions.
DEFINITION_DIFF, GRANT_DIFF, COMMENT_DIFF = "definition", "grant", "comment"
_RULES = {
    DEFINITION_DIFF: "drift/object-differs",
    GRANT_DIFF: "drift/grant-differs",
    COMMENT_DIFF: "drift/comment-differs",
}
_HINTS = {
    DEFINITION_DIFF: "change it in a new migration (or undo the manual change in the database)",
    GRANT_DIFF: "grant or revoke in a new migration (or undo the manual grant or revoke)",
    COMMENT_DIFF: "set the comment in a new migration (or undo the manual comment)",
}


def ignored(schema: str, patterns: Iterable[str]) -> bool:
    """Whether a schema name matches the ignore list (shell patterns: `supabase_*`)."""
    return any(fnmatchcase(schema, p) for p in patterns)


def scope(snapshot: Snapshot, ignore_schemas: Iterable[str] = DEFAULT_IGNORED) -> Snapshot:
    """What drift compares: no ignored schemas, nothing an extension owns, no roles."""
    patterns = tuple(ignore_schemas)
    present = set(snapshot.schemas) | {
        getattr(o, "schema", "")
        for section in (snapshot.functions, snapshot.relations, snapshot.types, snapshot.indexes)
        for o in section.values()
    }
    kept = snapshot.without_schemas(s for s in present if ignored(s, patterns))
    extension_tables = {k for k, r in kept.relations.items() if r.extension}

    def own(objects: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in objects.items()
                if f"{v.schema}.{v.table}" not in extension_tables}

    return replace(
        kept,
        functions={k: f for k, f in kept.functions.items() if not f.extension},
        relations={k: r for k, r in kept.relations.items() if not r.extension},
        types={k: t for k, t in kept.types.items() if not t.extension},
        indexes=own(kept.indexes),
        constraints=own(kept.constraints),
        policies=own(kept.policies),
        triggers=own(kept.triggers),
        roles={},
        event_triggers={k: e for k, e in kept.event_triggers.items()
                        if not ignored(e.function.split(".")[0], patterns)},
    )


def object_counts(expected: Snapshot, actual: Snapshot, sources: SourceIndex | None, *,
                  ignore_schemas: Iterable[str] = DEFAULT_IGNORED,
                  plan: Plan | None = None) -> dict[str, int]:
    """Objects compared per kind (the union of both sides), for the gate's facts.

    With the `plan` that chose what partial snapshots hold, the objects it
    found alike (and the parts of relations one side lacks) count too.
    """
    patterns = tuple(ignore_schemas)
    expected, actual = scope(expected, patterns), scope(actual, patterns)
    sections = ["schemas", "functions", "relations", "indexes", "constraints", "policies",
                "triggers", "types", "extensions", "publications", "event_triggers"]
    counts = {name: len(set(getattr(expected, name)) | set(getattr(actual, name)))
              for name in sections}
    # Indexes by table too, as the other parts are: a partial snapshot counts the
    # unread indexes of a relation one side lacks by its fingerprint, which has no names.
    counts["indexes"] = len({(i.schema, i.table, i.name)
                             for s in (expected, actual) for i in s.indexes.values()})
    counts["extensions"] = sum(
        1 for name in set(expected.extensions) | set(actual.extensions)
        if _project_extension(name, expected, actual, sources, patterns))
    counts["columns"] = len(
        {(k, c.name) for s in (expected, actual) for k, r in s.relations.items() for c in r.columns})
    if plan is not None:
        _count_unread(counts, plan, patterns)
    return counts


def _count_unread(counts: dict[str, int], plan: Plan, patterns: tuple[str, ...]) -> None:
    def compared(fingerprint: Fingerprint) -> bool:
        return not fingerprint.extension and not ignored(fingerprint.schema, patterns)

    counts["functions"] += sum(1 for _ in filter(compared, plan.alike_functions))
    for fingerprint in filter(compared, plan.alike_relations):
        counts["relations"] += 1
        for part, n in zip(PARTS, fingerprint.parts, strict=True):
            counts[part] += n
    for fingerprint in filter(compared, plan.bare_relations):  # read without parts
        for part, n in zip(PARTS, fingerprint.parts, strict=True):
            counts[part] += n
    for want, have, part in plan.alike_parts:  # alike parts of relations read
        if compared(want) or compared(have):  # an extension's member on one side only
            counts[part] += want.parts[PARTS.index(part)]


def _project_extension(name: str, expected: Snapshot, actual: Snapshot,
                       sources: SourceIndex | None, patterns: tuple[str, ...]) -> bool:
    """Whether drift compares an extension: a migration creates it, or it lives outside
    the ignored schemas. Otherwise it is the platform's (pg_stat_statements, pg_graphql)."""
    if sources is not None and sources.locate("extension", name, (CREATE,)) is not None:
        return True
    schemas = {s.extensions[name].schema for s in (expected, actual) if name in s.extensions}
    return not all(ignored(schema, patterns) for schema in schemas)


def major(version: str) -> int:
    found = re.match(r"\d+", version)
    return int(found.group()) if found else 0


@dataclass(frozen=True)
class _Field:
    name: str
    label: str
    category: str = DEFINITION_DIFF
    words: Callable[[Any], str] | None = None  # how a value reads in a message


def _flag(yes: str, no: str) -> Callable[[Any], str]:
    return lambda value: yes if value else no


def _quoted(value: str | None) -> str:
    return "none" if value is None else repr(_clip(value))


_FUNCTION_FIELDS = (
    _Field("kind", "kind"),
    _Field("all_args", "arguments"),
    _Field("result", "return type"),
    _Field("language", "language"),
    _Field("volatility", "volatility"),
    _Field("security_definer", "security", words=_flag("definer", "invoker")),
    _Field("strict", "strictness", words=_flag("strict", "called on null input")),
    _Field("leakproof", "leakproof", words=_flag("leakproof", "not leakproof")),
    _Field("parallel", "parallel safety"),
    _Field("config", "settings"),
    _Field("body", "body"),
    _Field("owner", "owner"),
    _Field("execute", "EXECUTE", GRANT_DIFF),
    _Field("comment", "comment", COMMENT_DIFF, words=_quoted),
)
_RELATION_FIELDS = (
    _Field("kind", "kind"),
    _Field("definition", "definition"),
    _Field("rls_enabled", "row level security", words=_flag("enabled", "disabled")),
    _Field("rls_forced", "forced row level security", words=_flag("on", "off")),
    _Field("options", "options"),
    _Field("unlogged", "persistence", words=_flag("unlogged", "logged")),
    _Field("parents", "parents"),
    _Field("partition_key", "partition key"),
    _Field("partition_bound", "partition bound"),
    _Field("owner", "owner"),
    _Field("privileges", "privileges", GRANT_DIFF),
    _Field("comment", "comment", COMMENT_DIFF, words=_quoted),
)
_COLUMN_FIELDS = (
    _Field("type", "type"),
    _Field("not_null", "nullability", words=_flag("not null", "nullable")),
    _Field("default", "default"),
    _Field("identity", "identity"),
    _Field("generated", "generation expression"),
    _Field("generated_kind", "generated kind"),
    _Field("collation", "collation"),
    _Field("privileges", "column privileges", GRANT_DIFF),
    _Field("comment", "comment", COMMENT_DIFF, words=_quoted),
)
_SCHEMA_FIELDS = (
    _Field("owner", "owner"),
    _Field("privileges", "privileges", GRANT_DIFF),
    _Field("comment", "comment", COMMENT_DIFF, words=_quoted),
)
_INDEX_FIELDS = (_Field("definition", "definition"), _Field("constraint", "backed constraint"))
_CONSTRAINT_FIELDS = (_Field("type", "type"), _Field("definition", "definition"))
_POLICY_FIELDS = (
    _Field("command", "command"),
    _Field("permissive", "mode", words=_flag("permissive", "restrictive")),
    _Field("roles", "roles"),
    _Field("using", "USING expression"),
    _Field("with_check", "WITH CHECK expression"),
)
_TRIGGER_FIELDS = (_Field("definition", "definition"), _Field("enabled", "state"))
_TYPE_FIELDS = (
    _Field("kind", "kind"),
    _Field("labels", "labels"),
    _Field("base_type", "base type"),
    _Field("not_null", "nullability", words=_flag("not null", "nullable")),
    _Field("default", "default"),
    _Field("constraints", "constraints"),
    _Field("attributes", "attributes"),
    _Field("comment", "comment", COMMENT_DIFF, words=_quoted),
)
_PUBLICATION_FIELDS = (
    _Field("all_tables", "all tables", words=_flag("yes", "no")),
    _Field("tables", "tables"),
    _Field("schemas", "schemas"),
    _Field("operations", "operations"),
)
_EVENT_TRIGGER_FIELDS = (
    _Field("event", "event"), _Field("function", "function"), _Field("enabled", "state"),
    _Field("tags", "tags"),
)


class _Drift:
    """One comparison of two scoped, normalised Snapshots: locations and the findings so far."""

    def __init__(self, expected: Snapshot, actual: Snapshot, sources: SourceIndex | None,
                 patterns: tuple[str, ...], live: str) -> None:
        self.expected, self.actual, self.sources = expected, actual, sources
        self.patterns, self.live = patterns, live
        self.findings: list[Finding] = []

    # --- locations -------------------------------------------------------------

    def locate(self, kind: str, key: str, actions: Iterable[str] = DEFINITION,
               args: tuple[str, ...] | None = None) -> Location | None:
        return self.sources.locate(kind, key, actions, args) if self.sources else None

    def where(self, kind: str, key: str, category: str = DEFINITION_DIFF,
              args: tuple[str, ...] | None = None, parent: tuple[str, str] | None = None) -> Location | None:
        """The migration line behind this part of the object, else its definition, else its parent's."""
        definition = self.locate(kind, key, DEFINITION, args)
        if category == COMMENT_DIFF:
            found = self.locate(kind, key, (COMMENT,), args)
        elif category == GRANT_DIFF:
            schema = key.split(".")[0]
            candidates = [self.locate(kind, key, (GRANT, CREATE, REPLACE), args),
                          self.locate(f"all-{kind}", schema, (GRANT,))]
            if parent:  # column grants are written on the table
                candidates.append(self.locate(*parent, (GRANT, CREATE)))
            found = latest(candidates)
        else:
            found = definition
        if found is None and category != DEFINITION_DIFF:
            found = definition
        if found is None and parent:
            found = self.locate(*parent)
        return found

    def dropped_at(self, kind: str, key: str, args: tuple[str, ...] | None = None) -> Location | None:
        """The migration line that drops an object production still has, if the last word is a drop."""
        if self.sources is None:
            return None
        events = [e for e in self.sources.events(kind, key) if e.action in DEFINITION
                  and (args is None or e.args is None or e.args == args)]
        return events[-1].location if events and events[-1].action == DROP else None

    # --- findings --------------------------------------------------------------

    def extra(self, noun: str, kind: str, key: str, args: tuple[str, ...] | None = None,
              contents: str = "", label: str | None = None) -> None:
        label = label or key
        dropped = self.dropped_at(kind, key, args)
        how = (f"; the migrations drop it at {dropped}" if dropped
               else "; no migration creates it (manual SQL?)")
        self.findings.append(finding(
            "drift/object-not-in-migrations",
            f"{noun} {label} exists in {self.live}{contents}{how}",
            location=dropped,
            hint="write a migration that creates it (so every environment has it), "
            "or drop it from the database if it should not exist",
            subject=label,
        ))

    def missing(self, noun: str, kind: str, key: str, args: tuple[str, ...] | None = None,
                parent: tuple[str, str] | None = None, label: str | None = None) -> None:
        label = label or key
        self.findings.append(finding(
            "drift/object-missing",
            f"{noun} {label} is created by the migrations but does not exist in {self.live}",
            location=self.where(kind, key, DEFINITION_DIFF, args, parent),
            hint="run `dragonfly-ci migrate` and check the ledger (`dragonfly-ci migrate status`): "
            "a migration may be recorded as applied without having run, or the object was dropped by hand",
            subject=label,
        ))

    def fields(self, noun: str, kind: str, key: str, expected: Any, actual: Any,
               fields: Iterable[_Field], args: tuple[str, ...] | None = None,
               parent: tuple[str, str] | None = None, label: str | None = None) -> None:
        """One finding per category of difference, naming every differing field."""
        if expected == actual:  # nearly always: one tuple comparison, not one per field
            return
        label = label or key
        by_category: dict[str, list[str]] = {}
        for f in fields:
            want, have = getattr(expected, f.name), getattr(actual, f.name)
            if want != have:
                by_category.setdefault(f.category, []).append(self.describe(f, have, want))
        for category, parts in by_category.items():
            self.findings.append(finding(
                _RULES[category],
                f"{noun} {label}: " + "; ".join(parts),
                location=self.where(kind, key, category, args, parent),
                hint=_HINTS[category],
                subject=label,
            ))

    def describe(self, f: _Field, have: Any, want: Any) -> str:
        live = f"in {self.live}"
        if f.name in ("privileges", "execute"):
            return _privilege_change(f.label, have, want, live)
        if isinstance(have, str) and isinstance(want, str) and ("\n" in have or "\n" in want):
            # Bodies and view definitions: say where, not the whole text.
            first = first_differing_line(have, want)
            if first is None:
                return f"{f.label} differs {live} in whitespace only"
            line, a, b = first
            return f"{f.label} differs at its line {line}: {a!r} {live}, {b!r} in the migrations"
        words = f.words or _words
        return f"{f.label} {words(have)} {live}, {words(want)} in the migrations"


def _words(value: Any) -> str:
    if value is None or value == ():
        return "none"
    if isinstance(value, str):
        return _clip(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(" ".join(v) if isinstance(v, tuple) else str(v) for v in value) + ")"
    return str(value)


def first_differing_line(a: str, b: str) -> tuple[int, str, str] | None:
    """The 1-based number of the first line where two texts differ beyond indentation,
    and that line of each; None when they differ only in whitespace."""
    lines_a = [line.strip() for line in a.splitlines()]
    lines_b = [line.strip() for line in b.splitlines()]
    for i in range(max(len(lines_a), len(lines_b))):
        la = lines_a[i] if i < len(lines_a) else "<end>"
        lb = lines_b[i] if i < len(lines_b) else "<end>"
        if la != lb:
            return i + 1, _clip(la), _clip(lb)
    return None


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _privilege_change(label: str, have: Privileges | tuple[str, ...],
                      want: Privileges | tuple[str, ...], live: str) -> str:
    """`anon holds INSERT, UPDATE in prod (...); service_role lacks EXECUTE in prod (...)`."""
    def pairs(value: Privileges | tuple[str, ...]) -> set[tuple[str, str]]:
        return {(v, label) if isinstance(v, str) else (v[0], v[1]) for v in value or ()}

    def by_grantee(found: set[tuple[str, str]]) -> dict[str, str]:
        grouped: dict[str, list[str]] = {}
        for grantee, privilege in sorted(found):
            grouped.setdefault(grantee, []).append(privilege)
        return {grantee: ", ".join(privileges) for grantee, privileges in grouped.items()}

    lacking, extra = by_grantee(pairs(want) - pairs(have)), by_grantee(pairs(have) - pairs(want))
    parts = [f"{grantee} lacks {privileges} {live} (the migrations grant it)"
             for grantee, privileges in lacking.items()]
    parts += [f"{grantee} holds {privileges} {live} (the migrations do not grant it)"
              for grantee, privileges in extra.items()]
    return "; ".join(parts)


def _normalised(snapshot: Snapshot, aliases: Mapping[str, str], keep_maintain: bool) -> Snapshot:
    """Roles renamed by `aliases` wherever they appear; MAINTAIN dropped unless kept."""
    def role(name: str) -> str:
        return aliases.get(name, name)

    def privileges(pairs: Privileges) -> Privileges:
        return tuple(sorted({(role(g), p) for g, p in pairs if keep_maintain or p != "MAINTAIN"}))

    def roles(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted({role(r) for r in names}))

    return replace(
        snapshot,
        schemas={k: replace(s, owner=role(s.owner), privileges=privileges(s.privileges))
                 for k, s in snapshot.schemas.items()},
        functions={k: replace(f, owner=role(f.owner), execute=roles(f.execute))
                   for k, f in snapshot.functions.items()},
        relations={k: replace(r, owner=role(r.owner), privileges=privileges(r.privileges),
                              columns=tuple(replace(c, privileges=privileges(c.privileges))
                                            for c in r.columns))
                   for k, r in snapshot.relations.items()},
        policies={k: replace(p, roles=roles(p.roles)) for k, p in snapshot.policies.items()},
    )


def compare(
    expected: Snapshot,
    actual: Snapshot,
    sources: SourceIndex | None,
    *,
    ignore_schemas: Iterable[str] = DEFAULT_IGNORED,
    role_aliases: Mapping[str, str] | None = None,
    live: str = "production",
) -> list[Finding]:
    """Every way `actual` (the live database) differs from `expected` (the migrations).

    `role_aliases` maps a role name in `expected` to the one that plays its
    part in `actual` (the shadow's database owner to production's); `live` is
    how messages name the live database.
    """
    patterns = tuple(ignore_schemas)
    expected, actual = scope(expected, patterns), scope(actual, patterns)
    # MAINTAIN arrived in PostgreSQL 17: a server without it cannot hold it.
    keep_maintain = min(major(expected.server_version), major(actual.server_version)) >= 17
    if role_aliases or not keep_maintain:
        expected = _normalised(expected, role_aliases or {}, keep_maintain)
        actual = _normalised(actual, {}, keep_maintain)
    drift = _Drift(expected, actual, sources, patterns, live)
    gone = _compare_schemas(drift)
    _compare_functions(drift, gone)
    gone |= _compare_relations(drift, gone)
    _compare_table_parts(drift, gone)
    _compare_keyed(drift, "type", "type", drift.expected.types, drift.actual.types, _TYPE_FIELDS, gone)
    _compare_extensions(drift)
    _compare_publications(drift)
    _compare_keyed(drift, "event trigger", "event-trigger", drift.expected.event_triggers,
                   drift.actual.event_triggers, _EVENT_TRIGGER_FIELDS, set())
    return drift.findings


def _pair(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    for key in sorted(set(expected) | set(actual)):
        yield key, expected.get(key), actual.get(key)


def _compare_schemas(d: _Drift) -> set[str]:
    """Compare schemas; return those only one side has, whose contents go unreported."""
    gone = set()
    for name, want, have in _pair(d.expected.schemas, d.actual.schemas):
        if want is None or have is None:
            gone.add(name)
            side = d.actual if want is None else d.expected
            count = _objects_in(side, name)
            if want is None:
                d.extra("schema", "schema", name, contents=f" with {count} objects" if count else "")
            else:
                d.missing("schema", "schema", name)
        else:
            d.fields("schema", "schema", name, want, have, _SCHEMA_FIELDS)
    return gone


def _objects_in(snapshot: Snapshot, schema: str) -> int:
    return sum(1 for section in (snapshot.functions, snapshot.relations, snapshot.types)
               for o in section.values() if o.schema == schema)


def _compare_functions(d: _Drift, gone: set[str]) -> None:
    extra, missing = {}, {}
    for key, want, have in _pair(d.expected.functions, d.actual.functions):
        f = want or have
        if f.schema in gone:
            continue
        if want is None:
            extra[key] = have
        elif have is None:
            missing[key] = want
        else:
            d.fields(want.kind, "function", f.qualified_name, want, have, _FUNCTION_FIELDS,
                     args=want.arg_types, label=key)
    # One function of a name on each side: its signature changed; say so once.
    names = {f.qualified_name for f in extra.values()} & {f.qualified_name for f in missing.values()}
    for name in sorted(names):
        have = [f for f in extra.values() if f.qualified_name == name]
        want = [f for f in missing.values() if f.qualified_name == name]
        if len(have) == len(want) == 1:
            d.findings.append(finding(
                "drift/object-differs",
                f"function {name}: arguments ({', '.join(have[0].arg_types)}) in {d.live}, "
                f"({', '.join(want[0].arg_types)}) in the migrations",
                location=d.where("function", name, DEFINITION_DIFF, want[0].arg_types),
                hint=_HINTS[DEFINITION_DIFF],
                subject=want[0].identity,
            ))
            extra.pop(have[0].identity)
            missing.pop(want[0].identity)
    for key, f in sorted(extra.items()):
        d.extra(f.kind, "function", f.qualified_name, f.arg_types, label=key)
    for key, f in sorted(missing.items()):
        d.missing(f.kind, "function", f.qualified_name, f.arg_types, label=key)


def _compare_relations(d: _Drift, gone: set[str]) -> set[str]:
    """Compare relations and their columns; return relations one side lacks (or of another kind)."""
    skipped = set()
    for key, want, have in _pair(d.expected.relations, d.actual.relations):
        r = want or have
        if r.schema in gone:
            continue
        if want is None or have is None:
            skipped.add(key)
            if want is None:
                d.extra(have.kind, "relation", key)
            else:
                d.missing(want.kind, "relation", key)
            continue
        if want == have:  # columns included
            continue
        d.fields(want.kind, "relation", key, want, have, _RELATION_FIELDS)
        if want.kind != have.kind:
            skipped.add(key)
        elif want.kind in TABLE_KINDS or want.definition == have.definition:
            _compare_columns(d, key, want.columns, have.columns)
    return skipped


def _compare_columns(d: _Drift, table: str, expected: tuple[Column, ...],
                     actual: tuple[Column, ...]) -> None:
    parent = ("relation", table)
    want_by, have_by = {c.name: c for c in expected}, {c.name: c for c in actual}
    for name, want, have in _pair(want_by, have_by):
        key = f"{table}.{name}"
        if want is None:
            d.extra("column", "column", key)
        elif have is None:
            d.missing("column", "column", key, parent=parent)
        else:
            d.fields("column", "column", key, want, have, _COLUMN_FIELDS, parent=parent)
    # The same columns in another order: `select *` and row types change shape.
    common_want = [c.name for c in expected if c.name in have_by]
    common_have = [c.name for c in actual if c.name in want_by]
    if common_want != common_have:
        d.findings.append(finding(
            "drift/object-differs",
            f"table {table}: column order ({', '.join(common_have)}) in {d.live}, "
            f"({', '.join(common_want)}) in the migrations",
            location=d.where("relation", table),
            hint=_HINTS[DEFINITION_DIFF],
            subject=table,
        ))


def _compare_table_parts(d: _Drift, gone: set[str]) -> None:
    """Indexes, constraints, policies and triggers, skipping those of tables reported whole."""
    def of_gone(obj: Any) -> bool:
        return obj.schema in gone or f"{obj.schema}.{obj.table}" in gone

    def keep(objects: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in objects.items() if not of_gone(v)}

    e, a = d.expected, d.actual
    # NOT NULL rows on one side only are nullability, already compared on the
    # columns (and PostgreSQL before 18 has no such rows at all).
    one_sided_not_null = {k for k, c in (*e.constraints.items(), *a.constraints.items())
                          if c.type == "not null"} - (set(e.constraints) & set(a.constraints))

    def constraints(objects: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in keep(objects).items() if k not in one_sided_not_null}

    constraints_e, constraints_a = constraints(e.constraints), constraints(a.constraints)
    # An index that backs a constraint one side lacks is reported with the constraint.
    one_sided = set(constraints_e) ^ set(constraints_a)

    def indexes(objects: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in keep(objects).items()
                if not (v.constraint and f"{v.schema}.{v.table}.{v.constraint}" in one_sided)}

    _compare_keyed(d, "index", "index", indexes(e.indexes), indexes(a.indexes), _INDEX_FIELDS,
                   set(), table_parent=True)
    _compare_keyed(d, "constraint", "constraint", constraints_e, constraints_a, _CONSTRAINT_FIELDS,
                   set(), table_parent=True)
    _compare_keyed(d, "policy", "policy", keep(e.policies), keep(a.policies), _POLICY_FIELDS,
                   set(), table_parent=True)
    _compare_keyed(d, "trigger", "trigger", keep(e.triggers), keep(a.triggers), _TRIGGER_FIELDS,
                   set(), table_parent=True)


def _compare_keyed(d: _Drift, noun: str, kind: str, expected: Mapping[str, Any],
                   actual: Mapping[str, Any], fields: Iterable[_Field], gone: set[str],
                   *, table_parent: bool = False) -> None:
    fields = tuple(fields)
    for key, want, have in _pair(expected, actual):
        obj = want or have
        if getattr(obj, "schema", None) in gone:
            continue
        parent = ("relation", f"{obj.schema}.{obj.table}") if table_parent else None
        if want is None:
            d.extra(noun, kind, key)
        elif have is None:
            d.missing(noun, kind, key, parent=parent)
        else:
            d.fields(noun, kind, key, want, have, fields, parent=parent)


def _compare_extensions(d: _Drift) -> None:
    """Extensions a migration creates, or living in schemas not ignored."""
    for name, want, have in _pair(d.expected.extensions, d.actual.extensions):
        if not _project_extension(name, d.expected, d.actual, d.sources, d.patterns):
            continue
        if want is None:
            d.extra("extension", "extension", name)
        elif have is None:
            d.missing("extension", "extension", name)
        else:
            if want.schema != have.schema:
                d.fields("extension", "extension", name, want, have, (_Field("schema", "schema"),))
            if want.version != have.version:
                d.findings.append(finding(
                    "drift/extension-version-differs",
                    f"extension {name}: version {have.version} in {d.live}, "
                    f"{want.version} in the migrations' shadow",
                    location=d.locate("extension", name),
                    hint="pin the version with `alter extension ... update to` in a migration "
                    "if the objects it provides matter to you",
                    subject=name,
                ))


def _compare_publications(d: _Drift) -> None:
    for name, want, have in _pair(d.expected.publications, d.actual.publications):
        if want is None and name.startswith("supabase_"):
            continue  # the platform's own (Realtime's), not the project's
        if want is None:
            d.extra("publication", "publication", name)
        elif have is None:
            d.missing("publication", "publication", name)
        else:
            d.fields("publication", "publication", name, want, have, _PUBLICATION_FIELDS)
