"""The Supabase CLI's own splitter test vectors (pkg/parser/state_test.go), ported.

`_tokens` is the CLI's Split (tokens as they are); `split` is SplitAndTrim, what
`supabase db push` stores in the ledger.
"""

from __future__ import annotations

import pytest

from dragonfly_ci.migrations.cli_split import _tokens, split

VECTORS = {
    "line comment after separator": ["END;", "-- comment"],
    "line comment before separator": ["SELECT --; 1"],
    "line comment not started": ["- ;", "END"],
    "line comment between lines": ["-- /* \n;", " */ END"],
    "block comment contains separator": ["SELECT /* ; */ 1;"],
    "nested block comment": ["SELECT /*; /*;*/ ;*/ 1"],
    "block comment not started": ["/ * ;", " */ END"],
    "separator without spaces": [";", "END;", ";"],
    "separator between spaces": ["BEGIN   ;", "  END"],
    "backslash escaped separator": ["\\;;", "\\;"],
    "named dollar tag": ["$tag$ any ; string$tag$"],
    "anonymous dollar tag": ["$$\"Dane's horse\"$$"],
    "dollar not started": ['SELECT "$";', " $$"],
    "single quote escapes separator": ["SELECT ';' 1"],
    "doubled single quote": ["SELECT ';'';' 1"],
    "literal backslash in quotes": ["SELECT '\\';", " 1'"],
    "double quote escapes separator": ['CREATE POLICY "cats;dogs" on cats_dogs;', " END"],
    "single quote in double quotes": ['CREATE POLICY "cat\'s and dog\'s" on cats_dogs;', " END"],
    "doubled double quote": ['CREATE POLICY "pet""name" on pets;', " END"],
    "parentheses": ['CREATE RULE notify_me AS ON UPDATE TO mytable DO (NOTIFY mytable; SELECT "1");',
                    "SELECT 1"],
    "parentheses ignore literals": ["CREATE RULE notify_me AS ON UPDATE TO mytable DO (-- )\n"
                                    "SELECT ')';\n-- )\n)\n"],
    "begin atomic inline body": ["CREATE FUNCTION add(a integer, b integer) RETURNS integer\n"
                                 "LANGUAGE SQL\nIMMUTABLE STRICT PARALLEL SAFE\n"
                                 "RETURNS NULL ON NULL INPUT\nBEGIN ATOMIC\n\tSELECT 'add';\n"
                                 "\tSELECT a + b;\nEND;"],
    "begin atomic case insensitive": ["begin atomic; select 'end'; end"],
    "begin atomic ignores literals": ["CREATE FUNCTION test() BEGIN\nATOMIC-- END;\n-- END;\nEND\n;"],
    "atomic in table name": ["create table public.atomic_test (id int);", "\nselect 1;"],
    "atomic in function name": [
        "CREATE OR REPLACE FUNCTION public.my_function_atomic(p_id uuid)\nRETURNS void\n"
        "LANGUAGE plpgsql\nAS $$\nBEGIN\n  RAISE NOTICE 'hello';\nEND;\n$$;",
        "\nGRANT EXECUTE ON FUNCTION public.my_function_atomic(uuid) TO authenticated;",
    ],
    "atomic in column name": ["select is_atomic from flags;", "\nselect 1;"],
    "digit before atomic": ["select col1atomic from t;", "\nselect 1;"],
}


@pytest.mark.parametrize("name", list(VECTORS))
def test_split_matches_the_cli(name):
    sql = VECTORS[name]
    assert _tokens("".join(sql)) == sql


def test_split_and_trim():
    text = "-- header\ncreate table t (id int);\n\n  insert into t values (1);;\n\n-- trailing\n"
    assert split(text) == ["-- header\ncreate table t (id int)", "insert into t values (1)", "-- trailing"]


def test_dollar_bodies_keep_their_semicolons():
    text = ("create function f() returns int language plpgsql as $body$\nbegin\n  return 1;\nend;\n"
            "$body$;\nselect f();")
    assert split(text) == [
        "create function f() returns int language plpgsql as $body$\nbegin\n  return 1;\nend;\n$body$",
        "select f()",
    ]
