"""yamldoc: YAML documents that remember lines, and schema errors that name them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dragonfly_ci.errors import BadInput
from dragonfly_ci.yamldoc import load


def write(tmp_path: Path, text: str, name: str = "contract.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_contract_doc(path: Path):
    return load(path, schema="contract", what="contract")


def bad_input(path: Path, schema: str = "contract") -> BadInput:
    with pytest.raises(BadInput) as caught:
        load(path, schema=schema, what=schema)
    assert caught.value.exit_code == 2
    assert caught.value.file == str(path)
    return caught.value


NESTED = """\
version: 1
rpcs:
  ops.claim:
    args:
      - uuid
      - name: p_worker
        type: text
    execute: [anon, authenticated]

  ops.other:
    returns: integer
views:
  - ops.v1
  - ops.v2
"""


def test_lines_of_values_in_nested_mappings_and_sequences(tmp_path: Path) -> None:
    doc = load_contract_doc(write(tmp_path, NESTED))

    assert doc.data["rpcs"]["ops.claim"]["args"][1] == {"name": "p_worker", "type": "text"}
    assert doc.line(("version",)) == 1
    assert doc.line(("rpcs", "ops.claim", "args", 0)) == 5
    assert doc.line(("rpcs", "ops.claim", "args", 1)) == 6
    assert doc.line(("rpcs", "ops.claim", "args", 1, "type")) == 7
    assert doc.line(("rpcs", "ops.claim", "execute", 1)) == 8
    assert doc.line(("rpcs", "ops.other", "returns")) == 11
    assert doc.line(("views", 0)) == 13
    assert doc.line(("views", 1)) == 14


def test_lines_of_keys_differ_from_lines_of_block_values(tmp_path: Path) -> None:
    doc = load_contract_doc(write(tmp_path, NESTED))

    # A block mapping's value starts on the line of its first key, not on its own key's line.
    assert doc.key_line(("rpcs", "ops.claim")) == 3
    assert doc.line(("rpcs", "ops.claim")) == 4
    assert doc.key_line(("rpcs", "ops.other")) == 10
    assert doc.key_line(("rpcs", "ops.claim", "args")) == 4
    assert doc.key_line(("views",)) == 12
    assert doc.line(("views",)) == 13


def test_line_of_an_absent_key_is_its_nearest_ancestor(tmp_path: Path) -> None:
    doc = load_contract_doc(write(tmp_path, NESTED))

    assert doc.line(("rpcs", "ops.other", "security")) == 11
    assert doc.key_line(("rpcs", "ops.other", "security")) == 11
    assert doc.line(("nothing", "here")) == 1
    assert doc.error("message", ("views", 1)).line == 14


def test_duplicate_key_is_reported_at_the_second_key_naming_the_first(tmp_path: Path) -> None:
    path = write(tmp_path, "rpcs:\n  ops.a:\n    returns: int\n\n  ops.b: {}\n  ops.a:\n    returns: text\n")

    err = bad_input(path)

    assert err.line == 6
    assert "duplicate key 'ops.a'" in err.message
    assert "line 2" in err.hint


def test_duplicate_top_level_key(tmp_path: Path) -> None:
    err = bad_input(write(tmp_path, "# c\nversion: 1\nviews: []\nversion: 1\n"))

    assert err.line == 4
    assert "'version'" in err.message
    assert "line 2" in err.hint


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("rpcs:\n  ops.a:\n    args: [uuid, text\n    returns: int\n", 4, id="unclosed-bracket"),
        pytest.param("rpcs:\n  ops.a:\n    returns: int\n   security: definer\n", 4, id="bad-indentation"),
        pytest.param("version: 1\nrpcs:\n\tops.a: {}\n", 3, id="tab"),
        pytest.param("version: 1\nviews: ['a.b'\n", 3, id="unclosed-at-end"),
        pytest.param("version: 1\n  extra: 2\n", 2, id="value-then-nested"),
    ],
)
def test_malformed_yaml_names_the_line(tmp_path: Path, text: str, line: int) -> None:
    path = write(tmp_path, text)

    err = bad_input(path)

    assert err.line == line
    assert err.message.startswith("malformed YAML: ")
    assert str(err).startswith(f"{path}:{line}: malformed YAML")
    assert err.hint


def test_schema_error_is_file_line_path_message(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nrpcs:\n  ops.a:\n    args: []\n    security: root\n")

    err = bad_input(path)

    assert err.line == 5
    assert str(err).splitlines()[0] == (
        f"{path}:5: rpcs.ops.a.security: 'root' is not one of ['definer', 'invoker']"
    )
    assert "contract" in err.hint


def test_top_level_type_error_names_top_level(tmp_path: Path) -> None:
    err = bad_input(write(tmp_path, "- a.b\n"))

    assert err.line == 1
    assert err.message.startswith("(top level): ")


def test_unknown_key_is_reported_at_the_key_not_at_its_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "rpcs:\n  ops.a:\n    args: []\n    returns: int\n    bogus: 1\n")

    err = bad_input(path)

    assert err.line == 5  # the mapping itself starts on line 3
    assert "rpcs.ops.a: unknown key 'bogus'" in err.message
    assert "allowed: args, execute, returns, security" in err.message


def test_unknown_top_level_key_in_the_project_file(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nsupabase_dir: supabase\nshadoww: {}\n", "dragonfly.yml")

    err = bad_input(path, "dragonfly")

    assert err.line == 3
    assert "(top level): unknown key 'shadoww'" in err.message


def test_several_errors_are_all_listed_with_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 2\n"  # 1
        "rpcs:\n"  # 2
        "  ops.a:\n"  # 3
        "    security: root\n"  # 4
        "  ops.b:\n"  # 5
        "    execute: anon\n"  # 6
        "views: [ops.v, ops.v]\n",  # 7
    )

    err = bad_input(path)

    text = str(err)
    assert err.line == 1
    assert text.startswith(f"{path}:1: version: 1 was expected")
    assert f"\n{path}:4: rpcs.ops.a.security: 'root' is not one of" in text
    assert f"\n{path}:6: rpcs.ops.b.execute: 'anon' is not of type 'array'" in text
    assert f"\n{path}:7: views: " in text and "non-unique" in text


def test_errors_are_listed_in_line_order(tmp_path: Path) -> None:
    path = write(tmp_path, "rpcs:\n  ops.a:\n    security: root\n    bogus: 1\n")

    err = bad_input(path)

    assert err.line == 3
    lines = [int(line.split(":")[1]) for line in str(err).splitlines() if line.startswith(str(path))]
    assert lines == [3, 4]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file_is_an_empty_mapping(tmp_path: Path, text: str) -> None:
    doc = load_contract_doc(write(tmp_path, text))

    assert doc.data == {}
    assert doc.line(("rpcs",)) == 1


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "contract.yml"
    path.write_bytes(b"rpcs:\n  ops.caf\xe9: {}\n")

    err = bad_input(path)

    assert err.message.startswith("cannot read contract")
    assert "utf-8" in err.message


def test_missing_file(tmp_path: Path) -> None:
    err = bad_input(tmp_path / "nope.yml")

    assert err.message == "contract not found"
    assert err.line is None


def test_merge_keys_are_refused_at_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, "rpcs:\n  ops.a: &base\n    returns: int\n  ops.b:\n    <<: *base\n")

    err = bad_input(path)

    assert err.line == 5
    assert "merge keys" in err.message


def test_a_key_that_is_not_a_scalar_is_refused(tmp_path: Path) -> None:
    err = bad_input(write(tmp_path, "rpcs:\n  ? [a, b]\n  : {}\n"))

    assert err.line == 2
    assert "plain value" in err.message
