"""Load YAML files into pydantic models, turning every failure into an `InputError`
that names the file, the line, the field and the fix."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from workbench import limits
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
    "int_from_float": "a whole number",
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
ANCHOR = re.compile(r"(?:^|[\s\[{,:-])&[^\s]")
ALIAS = re.compile(r"(?:^|[\s\[{,:-])\*[^\s*]", re.MULTILINE)


def read_text(path: str | Path, *, limit: int = limits.YAML_FILE_BYTES, what: str = "file") -> str:
    """A file's text, refused (with the file named and a fix) if it is missing, a folder, too
    large, binary or not UTF-8, so no caller ever meets a decoding error."""
    path = Path(path)
    if path.is_dir():
        raise InputError.single(
            f"this is a folder, not a {what}", file=path, fix=f"give the path of the {what} inside it"
        )
    if not path.is_file():
        raise InputError.single(
            "file not found",
            file=path,
            fix="check the path (relative paths are resolved from the file that names them)",
        )
    try:
        size = path.stat().st_size
        if size > limit:
            raise InputError.single(
                f"the file is {limits.size_text(size)}; a {what} may be at most {limits.size_text(limit)}",
                file=path,
                fix="split it into smaller files, or shorten the long values in it",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise InputError.single(
            f"cannot read the file: {exc.strerror or exc}", file=path, fix="check its permissions"
        ) from None
    if b"\x00" in data:
        raise InputError.single(
            "this is a binary file, not YAML text",
            file=path,
            line=data[: data.index(b"\x00")].count(b"\n") + 1,
            fix=f"give the YAML {what} here (a text file saved as UTF-8)",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError.single(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be read)",
            file=path,
            line=data[: exc.start].count(b"\n") + 1,
            fix="save the file as UTF-8 (most editors offer it under 'Save with encoding')",
        ) from None


def parse_yaml(path: str | Path, *, limit: int = limits.YAML_FILE_BYTES, what: str = "file") -> tuple[Any, str]:
    """Parse a YAML file; returns the data and the text (for line numbers, if needed later)."""
    path = Path(path)
    text = read_text(path, limit=limit, what=what)
    try:
        if ANCHOR.search(text):
            check_expansion(path, yaml.compose(text, Loader=Loader), text)
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
    except RecursionError:
        raise InputError.single(
            "the YAML is nested too deeply to read",
            file=path,
            fix="flatten the structure: specs, prompts and scenarios need only a few levels",
        ) from None


def check_expansion(path: Path, node: yaml.Node | None, text: str = "", limit: int = limits.YAML_VALUES) -> None:
    """Refuse a file whose aliases (`*name`) expand to more than `limit` values (an alias bomb:
    a few lines that would become billions of values once loaded). Counts each node once,
    multiplied by how often it is referred to, without expanding anything."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(current: yaml.Node) -> int:
        key = id(current)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise InputError.single(
                "an alias refers to the value that contains it",
                file=path,
                line=current.start_mark.line + 1,
                fix="remove the recursive alias (*name inside the value anchored &name)",
            )
        visiting.add(key)
        total = 1
        if isinstance(current, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in current.value)
        elif isinstance(current, yaml.SequenceNode):
            total += sum(size(v) for v in current.value)
        visiting.discard(key)
        sizes[key] = total = min(total, limit + 1)
        return total

    if node is not None and size(node) > limit:
        first = ALIAS.search(text)
        raise InputError.single(
            f"the YAML's aliases (*name) expand to more than {limit:,} values",
            file=path,
            line=text[: first.start()].count("\n") + 1 if first else None,
            fix="write the values out instead of nesting aliases of aliases (this looks like an alias bomb)",
        )


def read_yaml(path: str | Path, *, limit: int = limits.YAML_FILE_BYTES) -> tuple[Any, yaml.Node | None]:
    """The data and its node tree, whose marks give line numbers."""
    data, text = parse_yaml(path, limit=limit)
    return data, yaml.compose(text, Loader=Loader)


def load_model(
    path: str | Path,
    model: type[Model],
    *,
    context: dict | None = None,
    limit: int = limits.YAML_FILE_BYTES,
    what: str = "file",
) -> Model:
    """Read `path` and validate it as `model`; raise `InputError` listing every problem."""
    data, text = parse_yaml(path, limit=limit, what=what)
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
    elif kind == "string_too_long":
        limit = err.get("ctx", {}).get("max_length")
        message = f"this text is {len(err.get('input') or ''):,} characters long; at most {limit:,} are allowed"
        fix = f"shorten it to at most {limit:,} characters (the size limits are listed in the README)"
    elif kind == "too_long":
        limit = err.get("ctx", {}).get("max_length")
        message = f"this list has {len(err.get('input') or ())} entries; at most {limit} are allowed"
        fix = f"keep at most {limit} entries"
    elif kind == "finite_number":
        message = "must be a finite number"
        fix = "write an ordinary number such as 1.5 (not .inf or .nan)"
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
        "less_than",
        "less_than_equal",
        "int_parsing",
        "int_from_float",
        "finite_number",
        "bool_parsing",
        "string_type",
        "list_type",
        "dict_type",
        "float_parsing",
    ) and not isinstance(given, (dict, list)):
        shown = repr(given)
        message += f" (got {shown if len(shown) <= 80 else shown[:77] + '...'})"
    return Problem(
        message, display_path(path), field_path(loc) or None, line_of(node, loc), fix or "correct this value"
    )


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
