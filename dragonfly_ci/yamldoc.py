"""YAML files that remember where every value came from.

The project file and the contract are YAML validated by JSON Schemas shipped
in the package. Errors must name the file and line, so documents are composed
into nodes (which carry their positions) before they become plain data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dragonfly_ci.errors import BadInput

PathKey = tuple[Any, ...]  # keys and indices from the document root to a value


@dataclass
class Document:
    path: Path
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)  # value positions
    key_lines: dict[PathKey, int] = field(default_factory=dict)  # mapping-key positions

    def line(self, key: PathKey) -> int | None:
        """The line of the value at `key`, or of its nearest ancestor."""
        key = tuple(key)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)

    def key_line(self, key: PathKey) -> int | None:
        return self.key_lines.get(tuple(key)) or self.line(key)

    def error(self, message: str, key: PathKey = (), hint: str = "") -> BadInput:
        return BadInput(message, file=self.path, line=self.line(key), hint=hint)


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader with YAML 1.2 booleans: only true/false, never yes/no/on/off.

    `rules: {some/rule: off}` must mean the string "off", and a schema called
    `no` must stay a name, as in GitHub's own workflow files.
    """


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in Loader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load(path: Path, *, schema: str, what: str) -> Document:
    """Read, parse and validate a YAML file, or raise BadInput at its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{what} not found", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {what}: {exc}", file=path) from None
    try:
        node = yaml.compose(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "malformed YAML"
        raise BadInput(
            f"malformed YAML: {problem}",
            file=path,
            line=line,
            hint="fix the YAML syntax; quote values that contain ':' or start with '{', '[' or '*'",
        ) from None
    doc = Document(path=path, data={})
    if node is not None:
        doc.data = _construct(node, (), doc)
    validate(doc, schema)
    return doc


def _construct(node: yaml.Node, key: PathKey, doc: Document) -> Any:
    doc.lines[key] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise BadInput("YAML merge keys (<<) are not supported here",
                               file=doc.path, line=key_node.start_mark.line + 1)
            name = _scalar(key_node, doc)
            if name in result:
                raise BadInput(
                    f"duplicate key {name!r}",
                    file=doc.path,
                    line=key_node.start_mark.line + 1,
                    hint=f"{name!r} is already set on line {doc.key_lines[(*key, name)]}",
                )
            doc.key_lines[(*key, name)] = key_node.start_mark.line + 1
            result[name] = _construct(value_node, (*key, name), doc)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*key, i), doc) for i, item in enumerate(node.value)]
    return _scalar(node, doc)


def _scalar(node: yaml.Node, doc: Document) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise BadInput("a mapping key must be a plain value", file=doc.path,
                       line=node.start_mark.line + 1)
    loader = Loader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


@cache
def schema_text(name: str) -> str:
    return (resources.files("dragonfly_ci") / "schemas" / f"{name}.schema.json").read_text()


def validate(doc: Document, schema: str) -> None:
    """Validate against a packaged JSON Schema; report every error at its line."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(schema_text(schema)))
    located = sorted((_error_line(doc, err), _error_text(err)) for err in validator.iter_errors(doc.data))
    if not located:
        return
    (first_line, first), rest = located[0], located[1:]
    more = "".join(f"\n{doc.path}:{line}: {text}" for line, text in rest)
    raise BadInput(first + more, file=doc.path, line=first_line,
                   hint=f"see the {schema} file format in the README")


def _error_line(doc: Document, err: Any) -> int:
    """The line of the value at fault; of the key itself for key errors."""
    key = tuple(err.absolute_path)
    if "propertyNames" in err.relative_schema_path and isinstance(err.instance, str):
        return doc.key_line((*key, err.instance)) or 0
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        extra = [k for k in err.instance if k not in err.schema.get("properties", {})]
        if extra:
            return doc.key_line((*key, extra[0])) or 0
    return doc.line(key) or 0


def _error_text(err: Any) -> str:
    where = ".".join(str(k) for k in err.absolute_path) or "(top level)"
    if "propertyNames" in err.relative_schema_path:
        return f"{where}: key {_describe(err)}"
    return f"{where}: {_describe(err)}"


def _describe(err: Any) -> str:
    # jsonschema's own messages are precise; only the noisy ones are rephrased.
    if err.validator == "additionalProperties":
        extra = [k for k in err.instance if k not in err.schema.get("properties", {})]
        allowed = ", ".join(sorted(err.schema.get("properties", {})))
        return f"unknown key {', '.join(map(repr, extra))} (allowed: {allowed})"
    if err.validator == "pattern" and err.schema.get("description"):
        return f"{err.instance!r} is not {err.schema['description']}"
    if err.validator == "oneOf" and err.context:
        # Prefer the branch that matches the value's shape: for a mapping, its
        # "'type' is a required property" beats "is not of type 'string'".
        shaped = [e for e in err.context if e.validator != "type"] or err.context
        return min(shaped, key=lambda e: len(list(e.absolute_path))).message
    return err.message
