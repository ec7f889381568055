"""Load YAML files into pydantic models, turning every failure into an `InputError`
that names the file, the line, the field and the fix."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from workbench.errors import InputError, Problem, display_path

Model = TypeVar("Model", bound=BaseModel)

BOUNDS = {
    "greater_than": "greater than",
    "greater_than_equal": "of at least",
    "less_than": "less than",
    "less_than_equal": "of at most",
}
TYPES = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a text value",
    "list_type": "a list ([a, b] or one '- item' per line)",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "date_from_datetime_parsing": "a date like 2026-11-26",
    "date_parsing": "a date like 2026-11-26",
    "model_attributes_type": "a mapping (key: value lines)",
}


Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: ~10x faster


def parse_yaml(path: str | Path) -> tuple[Any, str]:
    """Parse a YAML file; returns the data and the text (for line numbers, if needed later)."""
    path = Path(path)
    if not path.is_file():
        raise InputError.single(
            "file not found",
            file=path,
            fix="check the path (relative paths are resolved from the file that names them)",
        )
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=Loader), text
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError.single(
            f"malformed YAML: {problem}",
            file=path,
            line=mark.line + 1 if mark else None,
            fix="fix the YAML syntax at that line (indentation, a missing ':' or an unclosed quote)",
        ) from None


def read_yaml(path: str | Path) -> tuple[Any, yaml.Node | None]:
    """The data and its node tree, whose marks give line numbers."""
    data, text = parse_yaml(path)
    return data, yaml.compose(text, Loader=Loader)


def load_model(path: str | Path, model: type[Model], *, context: dict | None = None) -> Model:
    """Read `path` and validate it as `model`; raise `InputError` listing every problem."""
    data, text = parse_yaml(path)
    if data is None:
        raise InputError.single("the file is empty", file=path, fix=f"write a {model.__name__} in it")
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        node = yaml.compose(text, Loader=Loader)
        raise InputError([_problem(err, path, node, model) for err in exc.errors()]) from None


def validate(
    data: Any, model: type[Model], *, path: str | Path, node: yaml.Node | None = None, context: dict | None = None
) -> Model:
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise InputError([_problem(err, path, node, model) for err in exc.errors()]) from None


def field_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def parse_field(field: str) -> tuple:
    """`models[0].api_key_env` -> ("models", 0, "api_key_env")."""
    loc: list = []
    for name, index in re.findall(r"([A-Za-z_][\w-]*)|\[(\d+)\]", field):
        loc.append(name if name else int(index))
    return tuple(loc)


def with_lines(problems: list[Problem], path: str | Path) -> list[Problem]:
    """Add line numbers to problems found after parsing (unknown names, missing keys, ...)."""
    shown = display_path(path)
    if not any(p.file == shown and p.line is None and p.field for p in problems):
        return problems
    _, node = read_yaml(path)
    return [
        replace(p, line=line_of(node, parse_field(p.field))) if p.file == shown and p.line is None and p.field else p
        for p in problems
    ]


def line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """Follow a pydantic error location through the YAML node tree to a line number."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _problem(err: Any, path: str | Path, node: yaml.Node | None, model: type[BaseModel]) -> Problem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = err["type"]
    message = err["msg"]
    fix = None
    if kind == "missing":
        message = f"required field '{loc[-1]}' is missing"
        fix = f"add '{loc[-1]}:' here"
    elif kind == "extra_forbidden":
        message = f"unknown field '{loc[-1]}'"
        fix = "remove it or correct its spelling"
        loc_parent = loc[:-1]
        allowed = _allowed_fields(model, loc_parent)
        if allowed:
            fix += f"; allowed fields here: {', '.join(allowed)}"
    elif kind in ("literal_error", "enum"):
        fix = "use one of the allowed values listed"
    elif kind in BOUNDS:
        fix = f"use a value {BOUNDS[kind]} {next(iter(err.get('ctx', {}).values()), '')}".rstrip()
    elif kind in TYPES:
        fix = f"write {TYPES[kind]} here"
    elif kind == "too_short":
        fix = f"give at least {err.get('ctx', {}).get('min_length', 1)} item(s)"
    elif kind == "string_pattern_mismatch":
        fix = "use lower-case letters, digits and hyphens (e.g. my-scenario-id)"
    elif kind.startswith("value_error") or kind == "assertion_error":
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if " | fix: " in message:
            message, fix = message.split(" | fix: ", 1)
    given = err.get("input")
    if kind in (
        "literal_error",
        "enum",
        "greater_than",
        "greater_than_equal",
        "int_parsing",
        "bool_parsing",
        "string_type",
        "list_type",
        "dict_type",
        "float_parsing",
    ) and not isinstance(given, (dict, list)):
        message += f" (got {given!r})"
    return Problem(message, display_path(path), field_path(loc) or None, line_of(node, loc), fix)


def _allowed_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the nested model at `loc`, for 'did you mean' style hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _inner_model(fields[part].annotation)
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
