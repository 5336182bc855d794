"""A database's schema as plain, comparable data: the catalog `Snapshot`.

One query per kind of object, never one per object, so a database with
thousands of objects is read in a few round trips (sent together in a psycopg
pipeline, which matters over a network to production).

Snapshots are compared with `==`, so they hold only what two databases built
from the same SQL agree on: names, definitions, privileges and comments, never
OIDs or physical details (relfilenode, attnum gaps left by dropped columns).
Every collection whose order carries no meaning is sorted. The queries run with
`search_path = pg_catalog`, so every name PostgreSQL formats (types, view and
index definitions, defaults) is schema-qualified in one consistent way whatever
the database's own search_path is.

Supports PostgreSQL 15 and later (TABLES IN SCHEMA publications arrived in 15).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

from dragonfly_ci.errors import CouldNotCheck
from dragonfly_ci.postgres.connect import scrub

if TYPE_CHECKING:
    import psycopg
    from psycopg.abc import Query

Privileges = tuple[tuple[str, str], ...]  # (grantee, privilege type), grantee "PUBLIC" for all


@dataclass(frozen=True)
class Schema:
    name: str
    owner: str
    comment: str | None
    privileges: Privileges


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    kind: str  # "function" | "procedure" | "aggregate" | "window"
    arg_types: tuple[str, ...]  # the identity (IN, INOUT, VARIADIC) arguments
    arg_names: tuple[str, ...]  # "" where unnamed
    arg_defaults: tuple[str, ...]  # for the trailing arguments that have one
    all_args: str
    result: str  # "" for procedures, which have none
    returns_set: bool
    language: str
    volatility: str  # "immutable" | "stable" | "volatile"
    security_definer: bool
    strict: bool
    leakproof: bool
    parallel: str  # "safe" | "restricted" | "unsafe"
    config: tuple[str, ...]  # e.g. ("search_path=''",)
    body: str  # prosrc, or the deparsed BEGIN ATOMIC / RETURN body
    owner: str
    execute: tuple[str, ...]  # roles holding EXECUTE, "PUBLIC" for everyone
    comment: str | None
    extension: str | None

    @property
    def identity(self) -> str:
        return f"{self.schema}.{self.name}({', '.join(self.arg_types)})"

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None
    identity: str | None  # "always" | "by default"
    generated: str | None  # the generation expression
    collation: str | None  # only when not the type's default
    comment: str | None
    privileges: Privileges  # column-level grants only
    generated_kind: str | None = None  # "stored" | "virtual" (PostgreSQL 18's default)
    base_type: str = ""  # the type without its modifier: character varying for varchar(20)

    def has_type(self, spelled: str) -> bool:
        """Whether the column is of this (normalised) type; a type without modifier matches any."""
        return spelled in (self.type, self.base_type)


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    kind: str  # "table" | "partitioned table" | "view" | "materialized view"
    #            | "foreign table" | "sequence"
    columns: tuple[Column, ...]  # in table order; none for sequences
    rls_enabled: bool
    rls_forced: bool
    owner: str
    privileges: Privileges
    comment: str | None
    definition: str | None  # views and materialized views
    extension: str | None
    options: tuple[str, ...] = ()  # reloptions, e.g. "security_invoker=true"
    unlogged: bool = False
    parents: tuple[str, ...] = ()  # partition parent or inherited tables, in order
    partition_key: str | None = None  # partitioned tables, e.g. "RANGE (created_at)"
    partition_bound: str | None = None  # partitions, e.g. "FOR VALUES IN (1)"

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Index:
    schema: str
    table: str
    name: str
    definition: str
    is_primary: bool
    is_unique: bool
    constraint: str | None  # the primary key, unique or exclusion constraint it backs


@dataclass(frozen=True)
class Constraint:
    schema: str
    table: str
    name: str
    type: str  # "primary key" | "foreign key" | "unique" | "check" | "exclusion" | "not null" | ...
    definition: str


@dataclass(frozen=True)
class Policy:
    schema: str
    table: str
    name: str
    command: str  # "ALL" | "SELECT" | "INSERT" | "UPDATE" | "DELETE"
    permissive: bool
    roles: tuple[str, ...]
    using: str | None
    with_check: str | None


@dataclass(frozen=True)
class Trigger:
    schema: str
    table: str
    name: str
    definition: str
    enabled: str  # "enabled" | "disabled" | "replica" | "always"


@dataclass(frozen=True)
class Extension:
    name: str
    version: str
    schema: str


@dataclass(frozen=True)
class Role:
    name: str
    superuser: bool
    inherit: bool
    login: bool
    bypassrls: bool
    member_of: tuple[str, ...]  # direct memberships
    # Direct memberships whose privileges are inherited. Since PostgreSQL 16
    # that is decided per grant, not by `inherit`; None means "derive it from
    # `inherit`", for Roles written by hand.
    inherits_from: tuple[str, ...] | None = None

    def inherited_roles(self) -> tuple[str, ...]:
        if self.inherits_from is not None:
            return self.inherits_from
        return self.member_of if self.inherit else ()


@dataclass(frozen=True)
class Type:
    schema: str
    name: str
    kind: str  # "enum" | "domain" | "composite" | "range" | "base"
    labels: tuple[str, ...]  # enums, in sort order
    base_type: str | None  # domains; the subtype of ranges
    not_null: bool  # domains
    default: str | None  # domains
    constraints: tuple[str, ...]  # domains: 'CONSTRAINT "name" CHECK (...)', by name
    attributes: tuple[tuple[str, str], ...]  # composites: (name, type) in order
    comment: str | None
    extension: str | None

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Publication:
    name: str
    all_tables: bool
    tables: tuple[str, ...]  # qualified, sorted
    schemas: tuple[str, ...] = ()  # FOR TABLES IN SCHEMA
    operations: tuple[str, ...] = ("insert", "update", "delete", "truncate")


@dataclass(frozen=True)
class EventTrigger:
    name: str
    event: str
    function: str  # qualified name; event trigger functions take no arguments
    enabled: str  # as Trigger.enabled
    tags: tuple[str, ...] = ()


_T = TypeVar("_T")


@dataclass(frozen=True)
class Snapshot:
    server_version: str
    schemas: dict[str, Schema]
    functions: dict[str, Function]  # by identity
    relations: dict[str, Relation]  # by qualified name
    indexes: dict[str, Index]  # by "schema.name"
    constraints: dict[str, Constraint]  # by "schema.table.name"
    policies: dict[str, Policy]  # by "schema.table.name"
    triggers: dict[str, Trigger]  # by "schema.table.name"
    extensions: dict[str, Extension]
    roles: dict[str, Role]
    types: dict[str, Type]  # by qualified name
    publications: dict[str, Publication]
    event_triggers: dict[str, EventTrigger] = field(default_factory=dict)

    def functions_named(self, qualified_name: str) -> list[Function]:
        """Every overload of `schema.name`, by identity."""
        return [f for _, f in sorted(self.functions.items()) if f.qualified_name == qualified_name]

    def relation(self, qualified_name: str) -> Relation | None:
        return self.relations.get(qualified_name)

    def role_holds(self, role: str, grantees: Iterable[str]) -> bool:
        """Whether `role` may use a privilege granted to `grantees` without SET ROLE.

        True for superusers, a grant to PUBLIC or to the role itself, or to any
        role it inherits privileges from, transitively.
        """
        granted = set(grantees)
        if "PUBLIC" in granted or role in granted:
            return True
        start = self.roles.get(role)
        if start is None:
            return False
        if start.superuser:
            return True
        seen, pending = {role}, [start]
        while pending:
            for parent in pending.pop().inherited_roles():
                if parent in granted:
                    return True
                if parent not in seen and parent in self.roles:
                    seen.add(parent)
                    pending.append(self.roles[parent])
        return False

    def has_privilege(
        self,
        role: str,
        privileges: Privileges | tuple[str, ...],
        privilege: str | None = None,
    ) -> bool:
        """`role_holds` over a privileges tuple (narrowed to `privilege`) or `Function.execute`."""
        grantees = [
            entry if isinstance(entry, str) else entry[0]
            for entry in privileges
            if isinstance(entry, str) or privilege is None or entry[1] == privilege
        ]
        return self.role_holds(role, grantees)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for json.dumps; `from_dict` turns it back into an equal Snapshot."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        sections = {
            name: {key: _from_plain(kind, value) for key, value in data.get(name, {}).items()}
            for name, kind in _SECTIONS.items()
        }
        return cls(server_version=data["server_version"], **sections)

    def without_schemas(self, names: Iterable[str]) -> Snapshot:
        """The snapshot without objects living in `names`, e.g. platform schemas.

        Extensions, roles and event triggers belong to the database, not a
        schema, and stay; publications lose the tables and schemas dropped.
        """
        dropped = set(names)

        def keep(objects: dict[str, _T]) -> dict[str, _T]:
            return {k: v for k, v in objects.items() if getattr(v, "schema", None) not in dropped}

        def kept_table(qualified: str) -> bool:
            return not any(qualified.startswith(f"{s}.") for s in dropped)

        publications = {
            name: replace(
                p,
                tables=tuple(t for t in p.tables if kept_table(t)),
                schemas=tuple(s for s in p.schemas if s not in dropped),
            )
            for name, p in self.publications.items()
        }
        return replace(
            self,
            schemas={k: v for k, v in self.schemas.items() if k not in dropped},
            functions=keep(self.functions),
            relations=keep(self.relations),
            indexes=keep(self.indexes),
            constraints=keep(self.constraints),
            policies=keep(self.policies),
            triggers=keep(self.triggers),
            types=keep(self.types),
            publications=publications,
        )


_SECTIONS: dict[str, type] = {
    "schemas": Schema,
    "functions": Function,
    "relations": Relation,
    "indexes": Index,
    "constraints": Constraint,
    "policies": Policy,
    "triggers": Trigger,
    "extensions": Extension,
    "roles": Role,
    "types": Type,
    "publications": Publication,
    "event_triggers": EventTrigger,
}


def _tuples(value: Any) -> Any:
    """JSON has no tuples: turn its lists back into the tuples they were."""
    if isinstance(value, (list, tuple)):
        return tuple(_tuples(v) for v in value)
    return value


def _from_plain(kind: type, data: dict[str, Any]) -> Any:
    values = {}
    for f in fields(kind):
        if f.name not in data:
            continue  # a field added later: keep its default
        value = data[f.name]
        if kind is Relation and f.name == "columns":
            values[f.name] = tuple(_from_plain(Column, c) for c in value)
        else:
            values[f.name] = _tuples(value)
    return kind(**values)


# --- reading the catalog ---------------------------------------------------

# pg_catalog, pg_toast, temporary schemas (pg_temp_N, pg_toast_temp_N) and
# information_schema; users cannot create other schemas named pg_*.
_USER_SCHEMA = "{n}.nspname !~ '^pg_' and {n}.nspname <> 'information_schema'"


def _acl(acl: str, kind: str = "", owner: str = "", where: str = "") -> str:
    """(grantee, privilege) pairs; a NULL ACL means the built-in default, so expand that.

    `kind` is an SQL expression for acldefault's object type; without one a
    NULL ACL means no grants (column ACLs).
    """
    source = f"coalesce({acl}, acldefault(({kind})::\"char\", {owner}))" if kind else acl
    return f"""(select array_agg(array[
            case when a.grantee = 0 then 'PUBLIC' else pg_get_userbyid(a.grantee)::text end,
            a.privilege_type])
        from aclexplode({source}) a {where})"""


def _extension_of(catalog: str, oid: str) -> str:
    return f"""(select e.extname::text from pg_depend dep
        join pg_extension e on e.oid = dep.refobjid
        where dep.classid = '{catalog}'::regclass and dep.objid = {oid}
          and dep.refclassid = 'pg_extension'::regclass and dep.deptype = 'e')"""


def _comment(catalog: str, oid: str) -> str:
    return f"""(select d.description from pg_description d
        where d.classoid = '{catalog}'::regclass and d.objoid = {oid} and d.objsubid = 0)"""


_VERSION_SQL = "select current_setting('server_version')"

_SCHEMAS_SQL = f"""
select n.nspname::text, pg_get_userbyid(n.nspowner)::text,
    {_comment('pg_namespace', 'n.oid')}, {_acl('n.nspacl', "'n'", 'n.nspowner')}
from pg_namespace n
where {_USER_SCHEMA.format(n='n')}
"""

_FUNCTIONS_SQL = f"""
select p.oid, n.nspname::text, p.proname::text, p.prokind::text,
    array(select format_type(t, null) from unnest(p.proargtypes) with ordinality u(t, i)
          order by i),
    p.proargmodes::text[], p.proargnames,
    case when p.pronargdefaults > 0 then array(
        select pg_get_function_arg_default(p.oid, i)
        from generate_series(1, coalesce(array_length(p.proallargtypes, 1), p.pronargs)) i)
    end,
    pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), p.proretset,
    l.lanname::text, p.provolatile::text, p.prosecdef, p.proisstrict, p.proleakproof,
    p.proparallel::text, p.proconfig,
    case when p.prosqlbody is not null then pg_get_function_sqlbody(p.oid) else p.prosrc end,
    pg_get_userbyid(p.proowner)::text,
    {_acl('p.proacl', "'f'", 'p.proowner', "where a.privilege_type = 'EXECUTE'")},
    {_comment('pg_proc', 'p.oid')}, {_extension_of('pg_proc', 'p.oid')}
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
join pg_language l on l.oid = p.prolang
where {_USER_SCHEMA.format(n='n')} /*only*/
"""

_RELATION_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
    "S": "sequence",
}

_RELATIONS_SQL = f"""
select c.oid, n.nspname::text, c.relname::text, c.relkind::text,
    c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner)::text,
    {_acl('c.relacl', "case c.relkind when 'S' then 's' else 'r' end", 'c.relowner')},
    {_comment('pg_class', 'c.oid')},
    case when c.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end,
    {_extension_of('pg_class', 'c.oid')},
    c.reloptions, c.relpersistence = 'u',
    array(select format('%s.%s', pn.nspname, pc.relname) from pg_inherits i
          join pg_class pc on pc.oid = i.inhparent
          join pg_namespace pn on pn.oid = pc.relnamespace
          where i.inhrelid = c.oid order by i.inhseqno),
    case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end,
    case when c.relispartition then pg_get_expr(c.relpartbound, c.oid) end
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and {_USER_SCHEMA.format(n='n')} /*only*/
"""

# A DEFAULT cannot refer to columns (PostgreSQL refuses "cannot use column
# reference in DEFAULT expression"), so defaults are deparsed without their
# relation, which spares opening (and, in a fresh session, building the relcache
# entry of) every table that has one; the text is the same. Generation
# expressions do refer to columns and keep theirs.
_COLUMNS_SQL = f"""
select a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
    format_type(a.atttypid, null),
    case when a.attgenerated = '' then pg_get_expr(ad.adbin, 0) end,
    nullif(a.attidentity::text, ''),
    case when a.attgenerated <> '' then pg_get_expr(ad.adbin, ad.adrelid) end,
    nullif(a.attgenerated::text, ''),
    case when a.attcollation <> t.typcollation then a.attcollation::regcollation::text end,
    d.description,
    case when a.attacl is not null then {_acl('a.attacl')} end,
    a.attnum
from pg_attribute a
join pg_class c on c.oid = a.attrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_type t on t.oid = a.atttypid
left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
left join pg_description d
    on d.classoid = 'pg_class'::regclass and d.objoid = a.attrelid and d.objsubid = a.attnum
where a.attnum > 0 and not a.attisdropped
  and c.relkind in ('r', 'p', 'v', 'm', 'f') and {_USER_SCHEMA.format(n='n')} /*only*/
order by a.attrelid, a.attnum
"""

# A join, not a subquery per index: conindid has no index of its own, and FKs
# also point at the index they reference, hence the contype filter.
_INDEXES_SQL = f"""
select n.nspname::text, t.relname::text, i.relname::text, pg_get_indexdef(i.oid),
    x.indisprimary, x.indisunique, con.conname::text
from pg_index x
join pg_class i on i.oid = x.indexrelid
join pg_class t on t.oid = x.indrelid
join pg_namespace n on n.oid = i.relnamespace
left join pg_constraint con
    on con.conindid = x.indexrelid and con.conrelid = x.indrelid and con.contype in ('p', 'u', 'x')
where {_USER_SCHEMA.format(n='n')} /*only*/
"""

_CONSTRAINT_TYPES = {
    "p": "primary key",
    "f": "foreign key",
    "u": "unique",
    "c": "check",
    "x": "exclusion",
    "n": "not null",
    "t": "trigger",
}

_CONSTRAINTS_SQL = f"""
select n.nspname::text, c.relname::text, con.conname::text, con.contype::text,
    {{definition}}
from pg_constraint con
join pg_class c on c.oid = con.conrelid
join pg_namespace n on n.oid = c.relnamespace
where {_USER_SCHEMA.format(n='n')} /*only*/
"""

# PostgreSQL 18 records every NOT NULL as a constraint: thousands of rows, each
# costing pg_get_constraintdef a catalog scan of its own. For the plain ones its
# text is 'NOT NULL ' || quote_ident(column) [|| ' NO INHERIT'] (ruleutils.c,
# CONSTRAINT_NOTNULL), so that is spelled here; NOT VALID, NOT ENFORCED or
# deferrable ones, which get more words, still go through pg_get_constraintdef.
_NOT_NULL_DEFINITION = """case when con.contype = 'n' and con.convalidated and con.conenforced
        and not con.condeferrable and not con.condeferred
        and array_length(con.conkey, 1) = 1
    then 'NOT NULL ' || (select quote_ident(att.attname::text) from pg_attribute att
                         where att.attrelid = con.conrelid and att.attnum = con.conkey[1])
        || case when con.connoinherit then ' NO INHERIT' else '' end
    else pg_get_constraintdef(con.oid)
end"""


def _constraints_sql(server_version: int) -> str:
    """The constraints query; conenforced (and catalogued NOT NULLs) arrived in 18."""
    definition = _NOT_NULL_DEFINITION if server_version >= 180000 else "pg_get_constraintdef(con.oid)"
    return _CONSTRAINTS_SQL.replace("{definition}", definition)

_POLICY_COMMANDS = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}

_POLICIES_SQL = f"""
select n.nspname::text, c.relname::text, p.polname::text, p.polcmd::text, p.polpermissive,
    array(select case when r = 0 then 'PUBLIC' else pg_get_userbyid(r)::text end
          from unnest(p.polroles) r),
    pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
from pg_policy p
join pg_class c on c.oid = p.polrelid
join pg_namespace n on n.oid = c.relnamespace
where {_USER_SCHEMA.format(n='n')} /*only*/
"""

_ENABLED = {"O": "enabled", "D": "disabled", "R": "replica", "A": "always"}

_TRIGGERS_SQL = f"""
select n.nspname::text, c.relname::text, t.tgname::text, pg_get_triggerdef(t.oid),
    t.tgenabled::text
from pg_trigger t
join pg_class c on c.oid = t.tgrelid
join pg_namespace n on n.oid = c.relnamespace
where not t.tgisinternal and {_USER_SCHEMA.format(n='n')} /*only*/
"""

_EXTENSIONS_SQL = """
select e.extname::text, e.extversion, n.nspname::text
from pg_extension e join pg_namespace n on n.oid = e.extnamespace
"""

# Since PostgreSQL 16 inheritance is decided per grant (inherit_option), before
# by the member's rolinherit; reading the column through to_jsonb works on both.
_ROLES_SQL = """
select r.rolname::text, r.rolsuper, r.rolinherit, r.rolcanlogin, r.rolbypassrls,
    array(select g.rolname::text from pg_auth_members m
          join pg_roles g on g.oid = m.roleid where m.member = r.oid),
    array(select g.rolname::text from pg_auth_members m
          join pg_roles g on g.oid = m.roleid
          where m.member = r.oid
            and coalesce((to_jsonb(m) ->> 'inherit_option')::boolean, r.rolinherit))
from pg_roles r
"""

_TYPE_KINDS = {"e": "enum", "d": "domain", "c": "composite", "r": "range", "b": "base"}

# Leaves out what PostgreSQL makes by itself: array types, tables' row types
# and the multirange of every range.
_TYPES_SQL = f"""
select n.nspname::text, t.typname::text, t.typtype::text,
    array(select e.enumlabel::text from pg_enum e
          where e.enumtypid = t.oid order by e.enumsortorder),
    case t.typtype
        when 'd' then format_type(t.typbasetype, t.typtypmod)
        when 'r' then (select format_type(r.rngsubtype, null) from pg_range r
                       where r.rngtypid = t.oid)
    end,
    t.typnotnull, pg_get_expr(t.typdefaultbin, 0),
    array(select format('CONSTRAINT %I %s', con.conname, pg_get_constraintdef(con.oid))
          from pg_constraint con where con.conrelid = 0 and con.contypid = t.oid),
    case when t.typtype = 'c' then array(
        select array[a.attname::text, format_type(a.atttypid, a.atttypmod)]
        from pg_attribute a
        where a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
        order by a.attnum)
    end,
    {_comment('pg_type', 't.oid')}, {_extension_of('pg_type', 't.oid')}
from pg_type t
join pg_namespace n on n.oid = t.typnamespace
left join pg_class c on c.oid = t.typrelid
where t.typtype in ('b', 'c', 'd', 'e', 'r')
  and (t.typrelid = 0 or c.relkind = 'c')
  and not exists (select 1 from pg_type el where el.oid = t.typelem and el.typarray = t.oid)
  and {_USER_SCHEMA.format(n='n')}
"""

_PUBLICATIONS_SQL = """
select p.pubname::text, p.puballtables,
    array(select format('%s.%s', n.nspname, c.relname) from pg_publication_rel pr
          join pg_class c on c.oid = pr.prrelid
          join pg_namespace n on n.oid = c.relnamespace
          where pr.prpubid = p.oid),
    array(select n.nspname::text from pg_publication_namespace pn
          join pg_namespace n on n.oid = pn.pnnspid where pn.pnpubid = p.oid),
    array_remove(array[
        case when p.pubinsert then 'insert' end, case when p.pubupdate then 'update' end,
        case when p.pubdelete then 'delete' end, case when p.pubtruncate then 'truncate' end
    ], null)
from pg_publication p
"""

_EVENT_TRIGGERS_SQL = """
select e.evtname::text, e.evtevent::text, format('%s.%s', n.nspname, p.proname),
    e.evtenabled::text, e.evttags
from pg_event_trigger e
join pg_proc p on p.oid = e.evtfoid
join pg_namespace n on n.oid = p.pronamespace
"""


# The settings that change how a definition prints the same stored value
# (constants in a check or a view, trigger arguments, identifiers): pinned, so
# that two databases with other settings (production's time zone, say) read alike.
_DISPLAY_SETTINGS = "; ".join(f"set local {name} = {value}" for name, value in (
    ("timezone", "'UTC'"), ("datestyle", "'ISO, MDY'"), ("intervalstyle", "postgres"),
    ("extra_float_digits", "1"), ("bytea_output", "hex"), ("standard_conforming_strings", "on"),
    ("quote_all_identifiers", "off"),
))


@contextmanager
def _catalog_transaction(conn: psycopg.Connection, *, read_only: bool) -> Iterator[None]:
    """A transaction (or savepoint) with `search_path = pg_catalog` and the display settings
    pinned, always rolled back.

    Rolling back, never committing, is what undoes SET LOCAL when the caller
    already had a transaction open: releasing a savepoint would keep the
    setting until the caller's transaction ends.
    """
    from psycopg.pq import TransactionStatus

    fresh = conn.info.transaction_status == TransactionStatus.IDLE
    with conn.transaction(force_rollback=True):
        settings = f"set local search_path = pg_catalog; {_DISPLAY_SETTINGS}"
        if fresh:  # one consistent view of the catalog across all the queries
            mode = ", read only" if read_only else ""
            settings = f"set transaction isolation level repeatable read{mode}; {settings}"
        conn.execute(settings)
        yield


def _fetch_all(conn: psycopg.Connection, queries: Sequence[Query]) -> list[list[tuple[Any, ...]]]:
    """Run the queries in one round trip where the driver can pipeline them.

    Statements that return no rows (DDL) give an empty list.
    """
    import psycopg
    from psycopg.rows import tuple_row

    def cursor() -> psycopg.Cursor[tuple[Any, ...]]:
        return conn.cursor(row_factory=tuple_row)  # tuples, whatever the caller's row factory

    if not psycopg.Pipeline.is_supported():
        cursors = [cursor().execute(q) for q in queries]
    else:
        with conn.pipeline():
            cursors = [cursor().execute(q) for q in queries]
    return [c.fetchall() if c.description is not None else [] for c in cursors]


def _pairs(rows: Sequence[Sequence[str]] | None) -> Privileges:
    return tuple(sorted({(grantee, privilege) for grantee, privilege in rows or ()}))


def _sorted(values: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(sorted(set(values or ())))


@dataclass(frozen=True)
class Selection:
    """What a partial snapshot reads of relations and functions, by OID.

    `bare_relations` are read without their parts (a Relation with no
    columns); the parts of the relations in `columns`, `indexes`,
    `constraints`, `policies` and `triggers` are read too. Every other
    section (schemas, types, roles, ...) is read whole.
    """
    functions: frozenset[int] = frozenset()
    bare_relations: frozenset[int] = frozenset()
    columns: frozenset[int] = frozenset()
    indexes: frozenset[int] = frozenset()
    constraints: frozenset[int] = frozenset()
    policies: frozenset[int] = frozenset()
    triggers: frozenset[int] = frozenset()


def _only(sql: str, column: str, oids: frozenset[int] | None) -> str:
    """The query narrowed to rows whose `column` is one of `oids` (None: every row)."""
    narrowed = "" if oids is None else f"and {column} = any('{{{','.join(map(str, sorted(oids)))}}}'::oid[])"
    return sql.replace("/*only*/", narrowed)


def take_snapshot(conn: psycopg.Connection, only: Selection | None = None) -> Snapshot:
    """Read the database's schema; leaves the session as it found it.

    With `only`, the snapshot holds just those relations (and the parts it
    names) and functions: what a comparison of fingerprints (postgres/fingerprints.py)
    found may differ.
    """
    import psycopg

    def of(part: str) -> frozenset[int] | None:
        """The relations whose `part` (a Selection field) is read: every one without `only`."""
        return None if only is None else getattr(only, part)

    functions = None if only is None else only.functions
    try:
        with _catalog_transaction(conn, read_only=True):
            results = _fetch_all(conn, [
                _VERSION_SQL, _SCHEMAS_SQL, _only(_FUNCTIONS_SQL, "p.oid", functions),
                _only(_RELATIONS_SQL, "c.oid", of("bare_relations")),
                _only(_COLUMNS_SQL, "a.attrelid", of("columns")),
                _only(_INDEXES_SQL, "x.indrelid", of("indexes")),
                _only(_constraints_sql(conn.info.server_version), "con.conrelid", of("constraints")),
                _only(_POLICIES_SQL, "p.polrelid", of("policies")),
                _only(_TRIGGERS_SQL, "t.tgrelid", of("triggers")),
                _EXTENSIONS_SQL, _ROLES_SQL, _TYPES_SQL, _PUBLICATIONS_SQL, _EVENT_TRIGGERS_SQL,
            ])
    except psycopg.Error as exc:
        raise CouldNotCheck(f"could not read the database catalog: {scrub(str(exc).strip())}") from exc

    ((version,),), *results = results
    (schemas, functions, relations, columns, indexes, constraints, policies, triggers,
     extensions, roles, types, publications, event_triggers) = results
    make_index, make_constraint, make_policy, make_trigger = _INDEX, _CONSTRAINT, _POLICY, _TRIGGER
    types_of, commands, enabled_as, sort = _CONSTRAINT_TYPES, _POLICY_COMMANDS, _ENABLED, _sorted
    return Snapshot(
        server_version=version.split()[0],  # packagers append "(Ubuntu 17.2-1)" and the like
        schemas=_keyed(Schema(r[0], r[1], r[2], _pairs(r[3])) for r in schemas),
        functions=_keyed(_function(r) for r in functions),
        relations=_by_key(_relations(relations, columns)),
        indexes=_by_key([(f"{r[0]}.{r[2]}", make_index(r)) for r in indexes]),
        constraints=_by_key([
            (f"{s}.{t}.{name}", make_constraint((s, t, name, types_of.get(kind, kind), definition)))
            for s, t, name, kind, definition in constraints
        ]),
        policies=_by_key([
            (f"{s}.{t}.{name}", make_policy(
                (s, t, name, commands[cmd], permissive, sort(roles), using, check)))
            for s, t, name, cmd, permissive, roles, using, check in policies
        ]),
        triggers=_by_key([
            (f"{s}.{t}.{name}", make_trigger((s, t, name, definition, enabled_as[enabled])))
            for s, t, name, definition, enabled in triggers
        ]),
        extensions=_keyed(Extension(*r) for r in extensions),
        roles=_keyed(
            Role(name, sup, inherit, login, bypass, _sorted(member_of), _sorted(inherited))
            for name, sup, inherit, login, bypass, member_of, inherited in roles
        ),
        types=_keyed(_type(r) for r in types),
        publications=_keyed(
            Publication(name, all_tables, _sorted(tables), _sorted(in_schemas), tuple(ops))
            for name, all_tables, tables, in_schemas, ops in publications
        ),
        event_triggers=_keyed(
            EventTrigger(name, event, function, _ENABLED[enabled], _sorted(tags))
            for name, event, function, enabled, tags in event_triggers
        ),
    )


def _key(obj: Any) -> str:
    if isinstance(obj, Function):
        return obj.identity
    if isinstance(obj, (Constraint, Policy, Trigger)):
        return f"{obj.schema}.{obj.table}.{obj.name}"
    if isinstance(obj, (Relation, Index, Type)):
        return f"{obj.schema}.{obj.name}"
    return obj.name


def _first(pair: tuple[str, Any]) -> str:
    return pair[0]


def _by_key(pairs: list[tuple[str, _T]]) -> dict[str, _T]:
    """(key, object) pairs by key, in key order, so to_dict and its JSON come out the same every time."""
    pairs.sort(key=_first)
    keyed = dict(pairs)
    if len(keyed) < len(pairs):
        key, one, other = next((k, one, other) for (k, one), (again, other)
                               in zip(pairs, pairs[1:], strict=False) if k == again)
        raise name_collision(key, _described(one), _described(other))
    return keyed


def _described(obj: Any) -> str:
    kind = type(obj).__name__.lower()
    parts = [getattr(obj, "schema", None), getattr(obj, "table", None), getattr(obj, "name", None)]
    return f"{kind} " + ".".join(f'"{part}"' for part in parts if part is not None)


def name_collision(key: str, one: str, other: str) -> CouldNotCheck:
    """Two objects whose names, joined with dots, are one key: fail rather than compare one of them."""
    return CouldNotCheck(
        f"{one} and {other} are both {key}: objects are named schema.name (and table.name), "
        "so dots inside names can make two alike and one would hide the other; rename one")


def _keyed(objects: Iterable[_T]) -> dict[str, _T]:
    return _by_key([(_key(o), o) for o in objects])


def _maker(cls: type[_T], names: tuple[str, ...]) -> Callable[[Sequence[Any]], _T]:
    """A constructor from values in the order of `names`, for the thousands of rows of a snapshot.

    The frozen dataclasses' __init__ sets each field through object.__setattr__;
    filling the instance's __dict__ at once gives the very same object (fields,
    equality, hash, asdict) for half the time. Only while `names` are exactly the
    class's fields and nothing runs after __init__; otherwise the plain constructor.
    """
    plain = (
        tuple(f.name for f in fields(cls)) != names  # type: ignore[arg-type]
        or hasattr(cls, "__post_init__") or hasattr(cls, "__slots__")
    )
    if plain:
        return lambda values: cls(**dict(zip(names, values, strict=True)))
    new = object.__new__

    def make(values: Sequence[Any]) -> _T:
        obj = new(cls)
        obj.__dict__.update(zip(names, values, strict=True))
        return obj

    return make


_COLUMN = _maker(Column, ("name", "type", "not_null", "default", "identity", "generated", "collation",
                          "comment", "privileges", "generated_kind", "base_type"))
_RELATION = _maker(Relation, ("schema", "name", "kind", "columns", "rls_enabled", "rls_forced", "owner",
                              "privileges", "comment", "definition", "extension", "options", "unlogged",
                              "parents", "partition_key", "partition_bound"))
_INDEX = _maker(Index, ("schema", "table", "name", "definition", "is_primary", "is_unique", "constraint"))
_CONSTRAINT = _maker(Constraint, ("schema", "table", "name", "type", "definition"))
_POLICY = _maker(Policy, ("schema", "table", "name", "command", "permissive", "roles", "using", "with_check"))
_TRIGGER = _maker(Trigger, ("schema", "table", "name", "definition", "enabled"))
_IDENTITIES = {"a": "always", "d": "by default"}
_GENERATED = {"s": "stored", "v": "virtual"}


def _function(row: tuple[Any, ...]) -> Function:
    (_oid, schema, name, kind, arg_types, modes, names, defaults, all_args, result, returns_set,
     language, volatility, secdef, strict, leakproof, parallel, config, body, owner, execute,
     comment, extension) = row
    if not names:
        arg_names = ("",) * len(arg_types)
    elif modes is None:  # every argument is IN
        arg_names = tuple(names[: len(arg_types)])
    else:  # names cover OUT and TABLE columns too; keep the identity arguments'
        arg_names = tuple(n for n, m in zip(names, modes, strict=False) if m in ("i", "b", "v"))
    return Function(
        schema=schema,
        name=name,
        kind={"f": "function", "p": "procedure", "a": "aggregate", "w": "window"}[kind],
        arg_types=tuple(arg_types),
        arg_names=arg_names,
        arg_defaults=tuple(d for d in defaults or () if d is not None),
        all_args=all_args,
        result=result or "",
        returns_set=returns_set,
        language=language,
        volatility={"i": "immutable", "s": "stable", "v": "volatile"}[volatility],
        security_definer=secdef,
        strict=strict,
        leakproof=leakproof,
        parallel={"s": "safe", "r": "restricted", "u": "unsafe"}[parallel],
        config=_sorted(config),
        body=body,
        owner=owner,
        execute=_sorted(grantee for grantee, _ in execute or ()),
        comment=comment,
        extension=extension,
    )


def _relations(rows: list[tuple[Any, ...]],
               column_rows: list[tuple[Any, ...]]) -> list[tuple[str, Relation]]:
    """(qualified name, Relation) pairs."""
    make_column, identities, generated_kinds, pairs = _COLUMN, _IDENTITIES, _GENERATED, _pairs
    columns: dict[int, list[Column]] = defaultdict(list)
    for (oid, name, type_, not_null, base_type, default, identity, generated, generated_kind, collation,
         comment, privileges, _attnum) in column_rows:
        columns[oid].append(make_column((
            name, type_, not_null, default, identities.get(identity), generated, collation, comment,
            pairs(privileges) if privileges else (), generated_kinds.get(generated_kind), base_type,
        )))
    make_relation, kinds = _RELATION, _RELATION_KINDS
    no_columns: tuple[Column, ...] = ()
    return [
        (f"{schema}.{name}", make_relation((
            schema, name, kinds[kind], tuple(columns.get(oid, no_columns)), rls, rls_forced, owner,
            pairs(privileges), comment, definition, extension, _sorted(options), unlogged,
            tuple(parents), partition_key, partition_bound,
        )))
        for (oid, schema, name, kind, rls, rls_forced, owner, privileges, comment, definition,
             extension, options, unlogged, parents, partition_key, partition_bound) in rows
    ]


def _type(row: tuple[Any, ...]) -> Type:
    (schema, name, kind, labels, base_type, not_null, default, constraints, attributes,
     comment, extension) = row
    return Type(
        schema=schema,
        name=name,
        kind=_TYPE_KINDS[kind],
        labels=tuple(labels),
        base_type=base_type,
        not_null=not_null,
        default=default,
        constraints=_sorted(constraints),
        attributes=tuple((a, t) for a, t in attributes or ()),
        comment=comment,
        extension=extension,
    )


# --- type names --------------------------------------------------------------

# to_regtype raises, rather than returning NULL, on names it cannot even parse
# ("int int int"); the function's own SET clause restores search_path after
# each call, so the lookup path applies to to_regtype alone.
_REGTYPE_FUNCTION = """
create function pg_temp.dragonfly_regtype(name text, path text) returns text
language plpgsql set search_path = pg_catalog as $$
declare
    found regtype;
begin
    perform set_config('search_path', path, true);
    found := to_regtype(name);
    perform set_config('search_path', 'pg_catalog', true);
    return format_type(found, null);
exception when others then
    return null;
end $$
"""


def resolve_types(
    conn: psycopg.Connection,
    names: Iterable[str],
    search_path: str = '"$user", public, extensions',
) -> dict[str, str | None]:
    """How PostgreSQL spells each type name, as take_snapshot would; None if unknown.

    "INTEGER", "int4" and "int" all give "integer"; a typmod is dropped
    ("character varying(20)" gives "character varying").
    """
    import psycopg
    from psycopg import sql

    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    try:
        with _catalog_transaction(conn, read_only=False):
            _, rows = _fetch_all(conn, [
                _REGTYPE_FUNCTION,
                sql.SQL(
                    "select n, pg_temp.dragonfly_regtype(n, {}) from unnest({}::text[]) n"
                ).format(sql.Literal(search_path), sql.Literal(wanted)),
            ])
    except psycopg.Error as exc:
        raise CouldNotCheck(f"could not resolve type names: {scrub(str(exc).strip())}") from exc
    return dict(rows)
