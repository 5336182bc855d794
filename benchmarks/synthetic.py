"""Synthetic Supabase projects for benchmarks.

`generate(root, files, seed)` writes `root/supabase/migrations/*.sql` (a history
of `files` migrations that applies in order on a plain PostgreSQL 18) and a
`root/dragonfly.yml` without a contract file, so the contract gate runs in
zero-config mode.

The history is a mix of what real Supabase projects contain: schemas, tables
with checks, defaults and foreign keys to earlier tables, enums, indexes,
plpgsql functions (later replaced with changed bodies), triggers, views,
comments, grants, row level security with policies, and added columns. The
same seed always gives the same files.

    python benchmarks/synthetic.py OUT_DIR --files 1000 [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

PROJECT_FILE = """\
version: 1
supabase_dir: supabase
shadow:
  platform: none
"""

ENTITIES = [
    "customer", "order", "invoice", "product", "project", "task", "comment", "team",
    "member", "document", "event", "payment", "subscription", "message", "channel",
    "upload", "label", "note", "report", "setting", "address", "shipment", "review",
    "coupon", "ticket", "workspace", "integration", "webhook", "audit_entry", "plan",
]
SCHEMAS = ["app", "billing", "analytics", "internal", "content", "support"]

# Columns a new table may get besides id/created_at/updated_at: (name, definition).
OPTIONAL_COLUMNS = [
    ("description", "text"),
    ("status", "text not null default 'draft' check (status in ('draft', 'active', 'archived'))"),
    ("quantity", "integer not null default 0 check (quantity >= 0)"),
    ("position", "integer"),
    ("metadata", "jsonb not null default '{}'::jsonb"),
    ("tags", "text[] not null default '{}'"),
    ("email", "text check (email like '%@%')"),
    ("amount_cents", "integer not null default 0 check (amount_cents >= 0)"),
    ("published_at", "timestamptz"),
    ("due_at", "timestamptz"),
    ("is_active", "boolean not null default true"),
    ("external_id", "text unique"),
]
# Columns `alter table ... add column` may add later: (name, definition).
ADDED_COLUMNS = [
    ("archived_at", "timestamptz"),
    ("priority", "integer not null default 0"),
    ("notes", "text"),
    ("labels", "text[] not null default '{}'"),
    ("settings", "jsonb not null default '{}'::jsonb"),
    ("external_ref", "text"),
    ("score", "integer check (score between 0 and 100)"),
    ("reviewed_by", "uuid"),
    ("deleted_at", "timestamptz"),
    ("revision", "integer not null default 1"),
    ("locale", "text not null default 'en'"),
    ("expires_at", "timestamptz"),
]
# Arguments a function may take: (name, type).
FUNCTION_ARGS = [
    ("p_ids", "uuid[]"),
    ("p_payload", "jsonb"),
    ("p_since", "timestamptz"),
    ("p_tags", "text[]"),
    ("p_owner", "uuid"),
    ("p_limit", "integer"),
]
RETURNS = ["integer", "jsonb", "setof uuid", "void", "boolean"]
VERBS = ["count", "list", "summarize", "touch", "has", "sync", "refresh", "find"]

# The first migration: roles the policies use (ignored when they already exist,
# as on a Supabase server), the default schema, and a shared trigger function.
SETUP = """\
-- Roles Supabase provides; created here so the history runs on a plain PostgreSQL.
do $$
begin
  create role anon nologin noinherit;
exception when duplicate_object then null;
end
$$;

do $$
begin
  create role authenticated nologin noinherit;
exception when duplicate_object then null;
end
$$;

do $$
begin
  create role service_role nologin noinherit bypassrls;
exception when duplicate_object then null;
end
$$;

create schema if not exists app;
grant usage on schema app to anon, authenticated, service_role;

create or replace function public.set_updated_at()
returns trigger
language plpgsql
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

comment on function public.set_updated_at() is 'Keeps updated_at current on every update.';
"""

OWNER_EXPR = "nullif(current_setting('request.jwt.claim.sub', true), '')::uuid"


def _plural(word: str) -> str:
    if word.endswith("y"):
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("s", "x")) else "s")


@dataclass
class Table:
    schema: str
    name: str
    columns: dict[str, str]  # name -> type (the first word of the definition)
    rls: bool = False
    policies: int = 0

    @property
    def qname(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Function:
    schema: str
    name: str
    table: Table
    args: list[tuple[str, str]]
    returns: str
    secure: bool
    version: int = 1

    @property
    def qname(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def signature(self) -> str:
        return f"{self.qname}({', '.join(t for _, t in self.args)})"


@dataclass
class History:
    rng: random.Random
    schemas: list[str] = field(default_factory=lambda: ["public", "app"])
    tables: list[Table] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    enums: dict[str, list[str]] = field(default_factory=dict)  # qualified name -> values
    names: set[str] = field(default_factory=set)  # every relation/function/type name used
    views: int = 0

    def unique(self, base: str) -> str:
        name, n = base, 1
        while name in self.names:
            n += 1
            name = f"{base}_{n}"
        self.names.add(name)
        return name

    # ---- operations: each returns (slug, sql) ----

    def create_schema(self) -> tuple[str, str]:
        fresh = [s for s in SCHEMAS if s not in self.schemas]
        if not fresh:
            return self.create_table()
        schema = fresh[0]
        self.schemas.append(schema)
        return f"create_{schema}_schema", (
            f"create schema if not exists {schema};\n"
            f"grant usage on schema {schema} to authenticated, service_role;\n"
            f"comment on schema {schema} is 'Objects for the {schema} area.';\n"
        )

    def create_enum(self) -> tuple[str, str]:
        schema = self.rng.choice(self.schemas)
        name = self.unique(f"{self.rng.choice(ENTITIES)}_state")
        values = self.rng.sample(["open", "pending", "closed", "blocked", "done", "new"], 3)
        self.enums[f"{schema}.{name}"] = values
        listed = ", ".join(f"'{v}'" for v in values)
        return f"create_{name}_type", f"create type {schema}.{name} as enum ({listed});\n"

    def add_enum_value(self) -> tuple[str, str]:
        if not self.enums:
            return self.create_enum()
        qname = self.rng.choice(sorted(self.enums))
        # Never used in a default: a value added in a transaction cannot be
        # used before it commits, and the baseline applies all in one.
        value = f"state_{self.rng.randrange(10**6)}"
        return f"add_{qname.split('.')[1]}_value", (
            f"alter type {qname} add value if not exists '{value}';\n"
        )

    def create_table(self) -> tuple[str, str]:
        rng = self.rng
        schema = rng.choice(self.schemas)
        name = self.unique(_plural(rng.choice(ENTITIES)))
        table = Table(schema, name, {"id": "uuid"})
        lines = ["id uuid primary key default gen_random_uuid()"]
        if rng.random() < 0.6:
            lines.append("owner_id uuid not null")
            table.columns["owner_id"] = "uuid"
        lines.append("name text not null check (char_length(name) between 1 and 200)")
        table.columns["name"] = "text"
        for col, definition in rng.sample(OPTIONAL_COLUMNS, rng.randint(2, 6)):
            lines.append(f"{col} {definition}")
            table.columns[col] = definition.split()[0]
        if self.enums and rng.random() < 0.3:
            enum = rng.choice(sorted(self.enums))
            lines.append(f"state {enum} not null default '{self.enums[enum][0]}'")
            table.columns["state"] = enum
        refs = rng.sample(self.tables, min(len(self.tables), rng.choice([0, 1, 1, 2])))
        ref_cols = []
        for ref in refs:
            col = f"{ref.name}_id"
            if col in table.columns:
                continue
            action = rng.choice(["on delete cascade", "on delete set null", ""])
            null = "" if action == "on delete set null" else rng.choice(["", " not null"])
            lines.append(f"{col} uuid{null} references {ref.qname} (id) {action}".rstrip())
            table.columns[col] = "uuid"
            ref_cols.append(col)
        lines.append("created_at timestamptz not null default now()")
        lines.append("updated_at timestamptz not null default now()")
        table.columns["created_at"] = "timestamptz"
        table.columns["updated_at"] = "timestamptz"
        body = ",\n  ".join(lines)
        sql = [f"create table {table.qname} (\n  {body}\n);\n"]
        for col in ref_cols:
            sql.append(self._index_sql(table, col))
        if "owner_id" in table.columns:
            sql.append(self._index_sql(table, "owner_id"))
        sql.append(
            f"create trigger {name}_set_updated_at before update on {table.qname}\n"
            f"  for each row execute function public.set_updated_at();\n"
        )
        if rng.random() < 0.5:
            sql.append(f"comment on table {table.qname} is 'The {name} of a workspace.';\n")
        self.tables.append(table)
        return f"create_{name}", "".join(sql)

    def _index_sql(self, table: Table, col: str, partial: bool = False) -> str:
        index = self.unique(f"{table.name}_{col}"[:55] + "_idx")
        using = " using gin" if table.columns[col] in ("jsonb", "text[]") else ""
        where = " where archived_at is null" if partial else ""
        return f"create index {index} on {table.qname}{using} ({col}){where};\n"

    def create_index(self) -> tuple[str, str]:
        table = self.rng.choice(self.tables)
        col = self.rng.choice(sorted(c for c in table.columns if c != "id"))
        partial = "archived_at" in table.columns and self.rng.random() < 0.5
        return f"index_{table.name}_{col}", self._index_sql(table, col, partial)

    def add_column(self) -> tuple[str, str]:
        rng = self.rng
        table = rng.choice(self.tables)
        if len(self.tables) > 1 and rng.random() < 0.25:
            ref = rng.choice([t for t in self.tables if t is not table])
            col = f"{ref.name}_id"
            if col not in table.columns:
                table.columns[col] = "uuid"
                return f"add_{col}_to_{table.name}", (
                    f"alter table {table.qname}\n"
                    f"  add column {col} uuid references {ref.qname} (id) on delete set null;\n"
                    + self._index_sql(table, col)
                )
        fresh = [(c, d) for c, d in ADDED_COLUMNS if c not in table.columns]
        if fresh:
            col, definition = rng.choice(fresh)
        else:
            col, definition = self.unique(f"extra_{table.name}"), "text"
        table.columns[col] = definition.split()[0]
        sql = f"alter table {table.qname} add column {col} {definition};\n"
        if rng.random() < 0.4:
            sql += f"comment on column {table.qname}.{col} is 'Added for {table.name}.';\n"
        return f"add_{col}_to_{table.name}", sql

    def create_function(self) -> tuple[str, str]:
        rng = self.rng
        table = rng.choice(self.tables)
        schema = table.schema if rng.random() < 0.7 else "public"
        verb = rng.choice(VERBS)
        name = self.unique(f"{verb}_{table.name}")
        args = sorted(rng.sample(FUNCTION_ARGS, rng.randint(1, 4)), key=FUNCTION_ARGS.index)
        function = Function(schema, name, table, args, rng.choice(RETURNS), rng.random() < 0.4)
        self.functions.append(function)
        sql = self._function_sql(function, replace=False)
        if rng.random() < 0.5:
            sql += f"grant execute on function {function.signature} to authenticated;\n"
        return f"create_{name}", sql

    def replace_function(self) -> tuple[str, str]:
        if not self.functions:
            return self.create_function()
        function = self.rng.choice(self.functions)
        function.version += 1
        return f"update_{function.name}", self._function_sql(function, replace=True)

    def _function_sql(self, f: Function, *, replace: bool) -> str:
        t = f.table
        arg_names = {n for n, _ in f.args}
        conds = []
        if "p_ids" in arg_names:
            conds.append("t.id = any(p_ids)")
        if "p_since" in arg_names:
            conds.append("t.created_at >= p_since")
        if "p_tags" in arg_names and t.columns.get("tags") == "text[]":
            conds.append("t.tags && p_tags")
        if "p_owner" in arg_names and "owner_id" in t.columns:
            conds.append("t.owner_id = p_owner")
        if "p_payload" in arg_names and t.columns.get("metadata") == "jsonb":
            conds.append("t.metadata @> p_payload")
        # A later version changes the body: another filter and a debug line.
        if f.version % 2 == 0:
            conds.append("t.updated_at <= now()")
        if f.version % 3 == 0:
            conds.append("t.created_at > now() - interval '365 days'")
        where = " and ".join(conds) or "true"
        limit = " limit p_limit" if "p_limit" in arg_names else ""
        declare = ""
        if f.returns == "integer":
            declare = "declare\n  v_count integer;\n"
            body = (f"  select count(*) into v_count from {t.qname} t where {where};\n"
                    "  return v_count;\n")
        elif f.returns == "jsonb":
            declare = "declare\n  v_result jsonb;\n"
            body = (f"  select coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name,"
                    f" 'at', t.created_at)), '[]'::jsonb)\n    into v_result\n"
                    f"    from (select * from {t.qname} t where {where}{limit}) t;\n"
                    "  return v_result;\n")
        elif f.returns == "setof uuid":
            body = f"  return query select t.id from {t.qname} t where {where}{limit};\n"
        elif f.returns == "void":
            body = f"  update {t.qname} t set updated_at = now() where {where};\n"
        else:
            body = f"  return exists (select 1 from {t.qname} t where {where});\n"
        if f.version > 1:
            body = f"  raise debug '{f.name} v%', {f.version};\n" + body
        args = ", ".join(f"{n} {ty}" for n, ty in f.args)
        security = "security definer\nset search_path = ''\n" if f.secure else ""
        verb = "create or replace" if replace else "create"
        sql = (f"{verb} function {f.qname}({args})\nreturns {f.returns}\nlanguage plpgsql\n"
               f"{security}as $$\n{declare}begin\n{body}end;\n$$;\n")
        if not replace or self.rng.random() < 0.3:
            sql += (f"comment on function {f.signature} is "
                    f"'{f.name.replace('_', ' ')} (v{f.version}).';\n")
        return sql

    def create_view(self) -> tuple[str, str]:
        rng = self.rng
        table = rng.choice(self.tables)
        name = self.unique(f"{table.name}_overview")
        cols = ["t.id", "t.name", "t.created_at"]
        extra = sorted(c for c in table.columns if c not in ("id", "name", "created_at"))
        cols += [f"t.{c}" for c in rng.sample(extra, min(len(extra), rng.randint(0, 3)))]
        source = f"{table.qname} t"
        refs = [c for c in table.columns if c.endswith("_id") and c != "owner_id"]
        parents = {tb.name: tb for tb in self.tables}
        if refs and rng.random() < 0.6:
            col = rng.choice(sorted(refs))
            parent = parents.get(col[:-3])
            if parent is not None:
                source += f"\n  left join {parent.qname} p on p.id = t.{col}"
                cols.append("p.name as parent_name")
        options = " with (security_invoker = true)" if rng.random() < 0.6 else ""
        self.views += 1
        sql = (f"create view {table.schema}.{name}{options} as\n"
               f"  select {', '.join(cols)}\n  from {source};\n"
               f"grant select on {table.schema}.{name} to authenticated;\n")
        if rng.random() < 0.4:
            sql += f"comment on view {table.schema}.{name} is 'Overview of {table.name}.';\n"
        return f"create_{name}_view", sql

    def add_comments(self) -> tuple[str, str]:
        table = self.rng.choice(self.tables)
        cols = self.rng.sample(sorted(table.columns), min(3, len(table.columns)))
        sql = f"comment on table {table.qname} is 'Rows of {table.name}, documented.';\n"
        for col in cols:
            sql += f"comment on column {table.qname}.{col} is 'The {col.replace('_', ' ')}.';\n"
        return f"document_{table.name}", sql

    def secure_table(self) -> tuple[str, str]:
        table = self.rng.choice(self.tables)
        sql = ""
        if not table.rls:
            table.rls = True
            sql += f"alter table {table.qname} enable row level security;\n"
        owned = "owner_id" in table.columns
        for action in self.rng.sample(["select", "insert", "update", "delete"],
                                      self.rng.randint(1, 3)):
            table.policies += 1
            policy = f'"{table.name} {action} {table.policies}"'
            if owned:
                check = f"owner_id = {OWNER_EXPR}"
                roles = "authenticated"
            else:
                check = "true"
                roles = "anon, authenticated" if action == "select" else "authenticated"
            if action == "insert":
                clause = f"with check ({check})"
            elif action == "update":
                clause = f"using ({check})\n  with check ({check})"
            else:
                clause = f"using ({check})"
            sql += (f"create policy {policy} on {table.qname}\n"
                    f"  for {action} to {roles}\n  {clause};\n")
        sql += f"grant select, insert, update, delete on {table.qname} to authenticated;\n"
        return f"secure_{table.name}", sql

    def next_operation(self) -> tuple[str, str]:
        if len(self.tables) < 2:
            return self.create_table()
        ops = [
            (self.create_table, 28), (self.add_column, 12), (self.create_index, 10),
            (self.create_function, 10), (self.replace_function, 7), (self.create_view, 8),
            (self.add_comments, 5), (self.secure_table, 9), (self.create_schema, 2),
            (self.create_enum, 2), (self.add_enum_value, 1),
        ]
        op = self.rng.choices([o for o, _ in ops], weights=[w for _, w in ops])[0]
        return op()


def generate(root: Path, files: int, seed: int = 0) -> Path:
    """Write a synthetic project with `files` migrations under `root`; return `root`."""
    root = Path(root)
    migrations = root / "supabase" / "migrations"
    migrations.mkdir(parents=True, exist_ok=True)
    (root / "dragonfly.yml").write_text(PROJECT_FILE)
    rng = random.Random(seed)
    history = History(rng)
    stamp = datetime(2023, 1, 2, 9, 0, 0)
    for i in range(files):
        if i == 0:
            slug, sql = "init_roles_and_app_schema", SETUP
        else:
            parts = [history.next_operation() for _ in range(rng.choice([1, 1, 1, 2, 2, 3]))]
            slug = parts[0][0]
            sql = "\n".join(part for _, part in parts)
        stamp += timedelta(seconds=rng.randint(60, 3 * 86400))
        name = f"{stamp:%Y%m%d%H%M%S}_{slug[:60]}.sql"
        (migrations / name).write_text(sql)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the project into")
    parser.add_argument("--files", type=int, default=100, help="number of migrations")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    existing = args.out_dir / "supabase" / "migrations"
    if existing.is_dir() and any(existing.iterdir()):
        parser.error(f"{existing} is not empty")
    generate(args.out_dir, args.files, args.seed)
    print(f"wrote {args.files} migrations to {existing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
