"""Fingerprints: a database's relations and functions in brief, to find what two databases differ in.

A whole Snapshot costs the server most of its time formatting definitions
(pg_get_indexdef, pg_get_constraintdef, pg_get_viewdef, policy expressions,
...) of thousands of objects that are the same on both sides of a
comparison, and the client as much again turning them into objects. So drift
reads two databases in two phases:

1. `take_fingerprints`: a 64-bit digest per relation (with its columns,
   indexes, constraints, policies and triggers) and per function, hashed by
   the server (hash_record_extended over catalog rows and names; of the
   costly definitions only views' are formatted) in a few pipelined
   queries; a few thousand short rows.
2. `plan` pairs both sides' fingerprints; `take_snapshot(conn, only=...)`
   reads just what may differ: functions whose digests differ; relations
   whose digests differ, with those of their parts (all their columns,
   indexes, constraints, policies or triggers) whose digests differ, or all
   their parts when their columns differ (see below); relations one side
   lacks, bare (drift reports the missing table, not its columns or
   indexes). A part left unread is empty on both sides, so alike. Drift
   compares the two partial snapshots as it compares whole ones.
   `read_pair` does both phases for two connections; `read_planned` the
   second, for a caller that took the fingerprints itself (the drift gate).

The rule that keeps this sound: EQUAL DIGESTS MEAN EQUAL SNAPSHOT OBJECTS. A
digest covers either the very value take_snapshot reads (functions' digests
hash take_snapshot's own rows) or raw catalog data that determines it:
- OIDs do not enter a digest bare: they differ between databases, and the
  same number can name another object in each. Names stand in for them
  (roles too: ACLs are hashed as text, since a role has another OID on
  another server), or the formatted text is hashed instead (views: a rule
  tree holds the OIDs of every table it reads, so two databases built apart
  would never match on it).
- An expression tree (pg_node_tree: check constraints, policies) is hashed
  raw only when the object depends (pg_depend, which DROP relies on) on
  nothing but its own table, and the tree holds none of the few nodes that
  name a type without a pg_depend record (an empty ARRAY[]::t[], RETURNING
  t): the tree then names built-in objects only, and its table's columns by
  number, whose names the column digests hold. Otherwise the formatted text
  is hashed. So do raw index keys, constraint keys and trigger columns: a
  part's digest stands for its text only together with its table's column
  digest, and `plan` reads a relation's parts selectively only when its
  columns are alike.
- Built-in objects' OIDs are fixed for a PostgreSQL version, but their
  names are not, nor which operator class is a type's default (an index
  shows a non-default one): each side hashes these once (its environment),
  and digests are compared only between servers of the same version with
  the same environment (`plan` reads everything otherwise).
- Definitions are formatted with the display settings pinned
  (catalog._catalog_transaction), so a database's own time zone, DateStyle
  and the like print no differently.
A difference goes unseen only if two different values hash alike: about one
chance in 10^19 per object.

Unequal digests do not mean unequal objects: parse locations inside trees,
attnum gaps left by dropped columns, grantors and the like differ harmlessly
between databases built apart; such objects are read in full and found equal.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dragonfly_ci.errors import CouldNotCheck
from dragonfly_ci.postgres.catalog import (
    _FUNCTIONS_SQL,
    _USER_SCHEMA,
    _VERSION_SQL,
    Selection,
    Snapshot,
    _catalog_transaction,
    _comment,
    _extension_of,
    _fetch_all,
    _only,
    name_collision,
    take_snapshot,
)
from dragonfly_ci.postgres.connect import scrub

if TYPE_CHECKING:
    import psycopg

# A relation's parts, in the order of Fingerprint.parts: the Snapshot sections they count.
PARTS = ("columns", "indexes", "constraints", "policies", "triggers")


@dataclass(frozen=True)
class Fingerprint:
    oid: int
    schema: str
    digest: tuple[int, ...]  # a relation's own hash and its parts'; a function's hash
    extension: bool  # a member of an extension
    parts: tuple[int, ...] = ()  # relations: how many of each of PARTS


@dataclass(frozen=True)
class Fingerprints:
    server_version: str
    environment: int  # what raw OIDs of built-in objects stand for (_ENVIRONMENT_SQL)
    relations: dict[str, Fingerprint]  # by qualified name, as Snapshot.relations
    functions: dict[str, Fingerprint]  # by identity, as Snapshot.functions


@dataclass(frozen=True)
class Plan:
    """What to read in full from each side; None means everything."""
    expected: Selection | None
    actual: Selection | None
    # For counting what was compared: objects both sides have with the same
    # digest, left unread; relations one side lacks, read without parts; and
    # the parts left unread of relations read (alike on both sides).
    alike_relations: tuple[Fingerprint, ...] = ()
    alike_functions: tuple[Fingerprint, ...] = ()
    bare_relations: tuple[Fingerprint, ...] = ()
    alike_parts: tuple[tuple[Fingerprint, Fingerprint, str], ...] = ()  # (expected, actual, part)


def _depends_only_on_its_table(catalog: str, oid: str, table: str, also: str = "") -> str:
    """No pg_depend reference from the object but to its own table (or a column of it)."""
    return f"""not exists (select 1 from pg_depend dep
        where dep.classid = '{catalog}'::regclass and dep.objid = {oid}
          and not (dep.refclassid = 'pg_class'::regclass and dep.refobjid = {table}) {also})"""


# Expression nodes that name a type pg_depend does not record a dependency on, and
# whose text shows it: an empty ARRAY[]::t[], JSON_...(... RETURNING t),
# XMLSERIALIZE(... AS t). A tree holding one is formatted.
_UNRECORDED_TYPES = (":elements <>", "{JSONRETURNING", "{XMLEXPR")


def _clean_tree(catalog: str, oid: str, table: str, tree: str) -> str:
    """A tree that names only built-in objects and its own table's columns, so hashed raw."""
    unrecorded = " and ".join(f"strpos({tree}, '{marker}') = 0" for marker in _UNRECORDED_TYPES)
    return f"{_depends_only_on_its_table(catalog, oid, table)} and {unrecorded}"


def _hash(*values: str) -> str:
    """A 64-bit hash of the values (hash_record_extended: each by its type's own hash function,
    no text to build); NULLs and the order of the values count."""
    return f"hash_record_extended(row({', '.join(values)}), 0)"


def _text_hash(text: str) -> str:
    return f"hashtextextended({text}, 0)"


def _raw_or_text(clean: str, raw: list[str], text: str) -> str:
    """The raw values' hash when `clean`, else the formatted text's; tagged apart."""
    raw_hash, text_hash = _hash("'raw'::text", *raw), _hash("'text'::text", text)
    return f"case when {clean} then {raw_hash} else {text_hash} end"


_FUNCTION_COLUMNS = (
    "oid, schema, name, kind, arg_types, modes, names, defaults, all_args, result, returns_set, "
    "language, volatility, secdef, strict, leakproof, parallel, config, body, owner, execute, "
    "comment, extension"
)


def _without_oid(columns: str, alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(",")[1:])


_RELS = f"""rels as materialized (
    select c.oid, n.nspname::text as schema, c.relname::text as name, c.relkind
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and {_USER_SCHEMA.format(n='n')}
)"""


def _per_relation(part: str, from_: str, group: str) -> str:
    """A query giving (relation OID, number of parts, the xor of their hashes) per relation."""
    return f"with {_RELS}\nselect {group}, count(*), bit_xor({part})\n{from_}\ngroup by {group}"


# Each part's hash covers the same expressions take_snapshot reads where they
# are cheap (names, type names, defaults, ACLs as text) and raw catalog
# columns where formatting is what costs: indexes without expressions or
# predicates, constraints but exclusion and trigger ones, check constraints
# and policies whose trees refer to their own table only, triggers without
# WHEN. Parts are combined by xor: names are unique within a table, so none
# cancels another. A relation's own hash covers the extension it belongs to:
# drift leaves extensions' members out, so joining one is a difference.

_RELATION_HASH = _hash(
    "r.relkind", "c.relrowsecurity", "c.relforcerowsecurity", "pg_get_userbyid(c.relowner)", "c.relacl::text",
    _comment("pg_class", "r.oid"),
    "case when r.relkind in ('v', 'm') then pg_get_viewdef(c.oid) end",
    "c.reloptions", "c.relpersistence",
    """array(select row(pn.nspname, pc.relname)::text from pg_inherits i
        join pg_class pc on pc.oid = i.inhparent join pg_namespace pn on pn.oid = pc.relnamespace
        where i.inhrelid = r.oid order by i.inhseqno)""",
    "case when r.relkind = 'p' then pg_get_partkeydef(c.oid) end",
    "case when c.relispartition then pg_get_expr(c.relpartbound, c.oid) end",
    "x.extension",
)

_RELATIONS_FINGERPRINT_SQL = f"""
with {_RELS}
select r.oid, r.schema, r.name, x.extension is not null, {_RELATION_HASH}
from rels r
join pg_class c on c.oid = r.oid
cross join lateral (select {_extension_of('pg_class', 'r.oid')} as extension offset 0) x
"""

_COLUMNS_FINGERPRINT_SQL = _per_relation(
    _hash("a.attnum", "a.attname", "format_type(a.atttypid, a.atttypmod)", "format_type(a.atttypid, null)",
          "a.attnotnull",
          "case when a.attgenerated = '' then pg_get_expr(ad.adbin, 0) "
          "else pg_get_expr(ad.adbin, ad.adrelid) end",
          "a.attidentity", "a.attgenerated",
          "case when a.attcollation <> t.typcollation then a.attcollation::regcollation::text end",
          "d.description", "a.attacl::text"),
    """from rels r
    join pg_attribute a on a.attrelid = r.oid
    join pg_type t on t.oid = a.atttypid
    left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
    left join pg_description d
        on d.classoid = 'pg_class'::regclass and d.objoid = a.attrelid and d.objsubid = a.attnum
    where a.attnum > 0 and not a.attisdropped and r.relkind <> 'S'""",
    "a.attrelid")

# No built-in btree or hash operator class takes options (opclass parameters);
# one an extension brings is a pg_depend reference, formatted.
_INDEXES_FINGERPRINT_SQL = _per_relation(
    _hash("i.relname", "x.indisprimary", "x.indisunique", "con.conname", _raw_or_text(
        "x.indexprs is null and x.indpred is null and am.amname in ('btree', 'hash') and "
        + _depends_only_on_its_table(
            "pg_class", "i.oid", "x.indrelid",
            "and not (dep.refclassid = 'pg_constraint'::regclass and dep.refobjid = con.oid)"),
        ["i.relkind", "am.amname", "x.indisexclusion", "x.indimmediate", "x.indnullsnotdistinct",
         "x.indnatts", "x.indnkeyatts", "x.indkey::int2[]", "x.indclass", "x.indcollation",
         "x.indoption::int2[]", "i.reloptions"],
        "pg_get_indexdef(i.oid)")),
    """from rels r
    join pg_index x on x.indrelid = r.oid
    join pg_class i on i.oid = x.indexrelid
    join pg_am am on am.oid = i.relam
    left join pg_constraint con
        on con.conindid = x.indexrelid and con.conrelid = x.indrelid and con.contype in ('p', 'u', 'x')""",
    "x.indrelid")


def _constraints_fingerprint_sql(server_version: int) -> str:
    """Constraints' hashes: raw for NOT NULL, primary key, unique, single-column foreign key
    and clean check constraints (what their text says is in their row, the backing index's
    name, key and included columns and NULLS NOT DISTINCT, and the referenced table and
    column); formatted for the rest."""
    v18 = server_version >= 180000
    raw = """con.contype in ('n', 'p', 'u') or con.contype = 'f' and cardinality(con.confkey) = 1
        or con.contype = 'c' and """ + _clean_tree(
        "pg_constraint", "con.oid", "con.conrelid", "con.conbin::text")
    part = _hash(
        "con.conname", "con.contype", "con.condeferrable", "con.condeferred", "con.convalidated",
        "con.conenforced" if v18 else "null::boolean", "con.conperiod" if v18 else "null::boolean",
        "con.connoinherit", "con.conkey", "con.confupdtype", "con.confdeltype", "con.confmatchtype",
        "con.confdelsetcols",
        # A key's text shows its index's INCLUDE columns and NULLS NOT DISTINCT.
        """case when con.contype in ('p', 'u') then (select row(i.relname, x.indnkeyatts,
                x.indkey::int2[], x.indnullsnotdistinct)::text
            from pg_class i join pg_index x on x.indexrelid = i.oid where i.oid = con.conindid) end""",
        """case when con.contype = 'f' then (select row(fn.nspname, fc.relname, fa.attname)::text
            from pg_class fc join pg_namespace fn on fn.oid = fc.relnamespace
            join pg_attribute fa on fa.attrelid = fc.oid and fa.attnum = con.confkey[1]
            where fc.oid = con.confrelid) end""",
        f"case when k.raw then {_text_hash('con.conbin::text')} end",
        "case when not k.raw then pg_get_constraintdef(con.oid) end")
    return _per_relation(
        part,
        f"""from rels r join pg_constraint con on con.conrelid = r.oid
    cross join lateral (select {raw} as raw offset 0) k""",
        "con.conrelid")


_POLICIES_FINGERPRINT_SQL = _per_relation(
    _hash("p.polname", "p.polcmd", "p.polpermissive",
          "array(select r.name from unnest(p.polroles) u, lateral (select case when u = 0 "
          "then 'PUBLIC' else pg_get_userbyid(u)::text end) r(name) order by r.name collate \"C\")",
          _raw_or_text(
              _clean_tree("pg_policy", "p.oid", "p.polrelid",
                          "concat(p.polqual::text, p.polwithcheck::text)"),
              [_text_hash("p.polqual::text"), _text_hash("p.polwithcheck::text")],
              "row(pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))::text")),
    "from rels r join pg_policy p on p.polrelid = r.oid",
    "p.polrelid")

_TRIGGERS_FINGERPRINT_SQL = _per_relation(
    _hash("t.tgname", "t.tgenabled", _raw_or_text(
        "t.tgqual is null",
        ["t.tgtype", "fn.nspname", "f.proname", "t.tgattr::int2[]", "t.tgconstraint <> 0",
         "t.tgdeferrable", "t.tginitdeferred",
         "(select row(cn.nspname, cc.relname)::text from pg_class cc "
         "join pg_namespace cn on cn.oid = cc.relnamespace where cc.oid = t.tgconstrrelid)",
         "t.tgoldtable", "t.tgnewtable", "t.tgnargs", "t.tgargs"],
        "pg_get_triggerdef(t.oid)")),
    """from rels r
    join pg_trigger t on t.tgrelid = r.oid
    join pg_proc f on f.oid = t.tgfoid
    join pg_namespace fn on fn.oid = f.pronamespace
    where not t.tgisinternal""",
    "t.tgrelid")


# Raw rows and trees name built-in objects by OID, which are fixed for a server
# version (below FirstUnpinnedObjectId, 12000: pg_depend records no dependency on
# them), but their names are not: a superuser can rename one. And an index shows
# an operator class only when it is not its type's default, which any database can
# change (for the btree and hash indexes hashed raw). So both sides hash these
# names and defaults; plan reads everything when they differ.
_ENVIRONMENT_SQL = "select " + _hash(*(
    f"(select bit_xor({_hash(*columns)}) from {catalog} where oid < 12000)"
    for catalog, columns in (
        ("pg_namespace", ("oid", "nspname")),
        ("pg_proc", ("oid", "proname", "pronamespace")),
        ("pg_type", ("oid", "typname", "typnamespace")),
        ("pg_operator", ("oid", "oprname", "oprnamespace")),
        ("pg_collation", ("oid", "collname", "collnamespace")),
        ("pg_opclass", ("oid", "opcname", "opcnamespace", "opcdefault")),
    )
), """(select array_agg(row(n.nspname, o.opcname, am.amname, format_type(o.opcintype, null))::text
        order by 1) from pg_opclass o join pg_namespace n on n.oid = o.opcnamespace
        join pg_am am on am.oid = o.opcmethod
        where o.oid >= 12000 and o.opcdefault and am.amname in ('btree', 'hash'))""")

# Functions are few: hashed from take_snapshot's own rows.
_FUNCTIONS_FINGERPRINT_SQL = f"""
select f.oid, f.schema, f.name, f.arg_types, f.extension is not null,
    {_hash(_without_oid(_FUNCTION_COLUMNS, 'f'))}
from ({_only(_FUNCTIONS_SQL, "", None)}) f({_FUNCTION_COLUMNS})
"""


def fingerprint_queries(server_version: int) -> list[str]:
    """take_fingerprints' queries, in the order it takes their results (the parts' in PARTS order)."""
    return [_VERSION_SQL, _ENVIRONMENT_SQL, _RELATIONS_FINGERPRINT_SQL, _FUNCTIONS_FINGERPRINT_SQL,
            _COLUMNS_FINGERPRINT_SQL, _INDEXES_FINGERPRINT_SQL, _constraints_fingerprint_sql(server_version),
            _POLICIES_FINGERPRINT_SQL, _TRIGGERS_FINGERPRINT_SQL]


def take_fingerprints(conn: psycopg.Connection) -> Fingerprints:
    """The fingerprints of the database's relations and functions; leaves the session as it found it."""
    import psycopg

    try:
        with _catalog_transaction(conn, read_only=True):
            ((version,),), ((environment,),), relations, functions, *parts = _fetch_all(
                conn, fingerprint_queries(conn.info.server_version))
    except psycopg.Error as exc:
        raise CouldNotCheck(f"could not read the database catalog: {scrub(str(exc).strip())}") from exc
    by_part = [{oid: (n, digest) for oid, n, digest in rows} for rows in parts]
    nothing = (0, 0)

    def relation(oid: int, schema: str, extension: bool, digest: int) -> Fingerprint:
        counted = [part.get(oid, nothing) for part in by_part]
        return Fingerprint(oid, schema, (digest, *(x for pair in counted for x in pair)), extension,
                           tuple(n for n, _ in counted))

    return Fingerprints(
        server_version=version.split()[0],
        environment=environment,
        relations=_by_name("relation", [(f"{schema}.{name}", relation(oid, schema, extension, digest))
                                        for oid, schema, name, extension, digest in relations]),
        functions=_by_name("function", [
            (f"{schema}.{name}({', '.join(arg_types)})", Fingerprint(oid, schema, (digest,), extension))
            for oid, schema, name, arg_types, extension, digest in functions
        ]),
    )


def _by_name(kind: str, pairs: list[tuple[str, Fingerprint]]) -> dict[str, Fingerprint]:
    """By key, as Snapshot's; two objects under one key (dots inside names) fail, as in take_snapshot."""
    keyed = dict(pairs)
    if len(keyed) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise name_collision(key, f"a {kind}", f"another {kind}")
            seen.add(key)
    return keyed


def plan(expected: Fingerprints, actual: Fingerprints,
         skip_schema: Callable[[str], bool] = lambda schema: False) -> Plan:
    """What to read of each side: whatever has another digest on the other side, with those
    of its parts (columns, indexes, constraints, policies, triggers) whose digests differ;
    whatever the other side lacks, bare (drift reports a missing table, not its columns or
    indexes); nothing alike, and nothing in skipped schemas. Everything when the servers'
    versions or environments differ, or a schema or relation name holds a dot."""
    if ((expected.server_version, expected.environment) != (actual.server_version, actual.environment)
            or _dotted(expected) or _dotted(actual)):
        return Plan(None, None)
    relations = _pair(expected.relations, actual.relations, skip_schema)
    functions = _pair(expected.functions, actual.functions, skip_schema)
    differ: dict[str, tuple[list[int], list[int]]] = {part: ([], []) for part in PARTS}
    alike_parts = []
    for want, have in zip(relations.differ_expected, relations.differ_actual, strict=True):
        # Raw parts name columns by number: when the columns differ, so may all of them.
        columns_alike = want.digest[1:3] == have.digest[1:3]
        for i, part in enumerate(PARTS):
            if columns_alike and want.digest[2 * i + 1:2 * i + 3] == have.digest[2 * i + 1:2 * i + 3]:
                alike_parts.append((want, have, part))
            else:
                differ[part][0].append(want.oid)
                differ[part][1].append(have.oid)

    def selection(side: int, differ_: tuple[Fingerprint, ...], only: tuple[Fingerprint, ...],
                  functions: tuple[Fingerprint, ...]) -> Selection:
        return Selection(
            functions=frozenset(f.oid for f in functions),
            bare_relations=frozenset(f.oid for f in (*differ_, *only)),
            **{part: frozenset(oids[side]) for part, oids in differ.items()},
        )

    return Plan(
        expected=selection(0, relations.differ_expected, relations.only_expected,
                           (*functions.differ_expected, *functions.only_expected)),
        actual=selection(1, relations.differ_actual, relations.only_actual,
                         (*functions.differ_actual, *functions.only_actual)),
        alike_relations=relations.alike,
        alike_functions=functions.alike,
        bare_relations=(*relations.only_expected, *relations.only_actual),
        alike_parts=tuple(alike_parts),
    )


def _dotted(prints: Fingerprints) -> bool:
    """A dot inside a schema or relation name: keys of parts (schema.table.name) may then
    join alike, which only whole snapshots show (take_snapshot fails on them)."""
    return any("." in f.schema or "." in key[len(f.schema) + 1:] for key, f in prints.relations.items())


@dataclass(frozen=True)
class _Paired:
    alike: tuple[Fingerprint, ...]
    differ_expected: tuple[Fingerprint, ...]
    differ_actual: tuple[Fingerprint, ...]
    only_expected: tuple[Fingerprint, ...]
    only_actual: tuple[Fingerprint, ...]


def _pair(expected: dict[str, Fingerprint], actual: dict[str, Fingerprint],
          skip_schema: Callable[[str], bool]) -> _Paired:
    alike, differ_expected, differ_actual, only_expected = [], [], [], []
    for key, want in expected.items():
        have = actual.get(key)
        if have is not None and have.digest == want.digest:
            alike.append(want)
        elif skip_schema(want.schema):
            continue
        elif have is None:
            only_expected.append(want)
        else:
            differ_expected.append(want)
            differ_actual.append(have)
    only_actual = [have for key, have in actual.items()
                   if key not in expected and not skip_schema(have.schema)]
    return _Paired(tuple(alike), tuple(differ_expected), tuple(differ_actual),
                   tuple(only_expected), tuple(only_actual))


@dataclass(frozen=True)
class Pair:
    """Two partial snapshots holding every object that may differ, and how they were chosen."""
    expected: Snapshot
    actual: Snapshot
    plan: Plan


def read_pair(expected: psycopg.Connection, actual: psycopg.Connection,
              skip_schema: Callable[[str], bool] = lambda schema: False) -> Pair:
    """Fingerprint both databases, then read what may differ; each side on its own thread,
    since each mostly waits on its own server."""
    with ThreadPoolExecutor(2, thread_name_prefix="fingerprints") as pool:
        prints = pool.map(take_fingerprints, [expected, actual])
        return read_planned(expected, actual, *prints, pool=pool, skip_schema=skip_schema)


def read_planned(expected: psycopg.Connection, actual: psycopg.Connection,
                 expected_prints: Fingerprints, actual_prints: Fingerprints, *, pool: Executor,
                 skip_schema: Callable[[str], bool] = lambda schema: False) -> Pair:
    """The second phase, once both sides' fingerprints are in: plan, then read what may differ,
    the actual side on the pool while this thread reads the expected one."""
    chosen = plan(expected_prints, actual_prints, skip_schema=skip_schema)
    actual_reading = pool.submit(take_snapshot, actual, chosen.actual)
    expected_snapshot = take_snapshot(expected, chosen.expected)
    return Pair(expected_snapshot, actual_reading.result(), chosen)
