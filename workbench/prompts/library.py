"""Versioned prompt templates kept as YAML in `prompts/`, one file per family.

A family is either a *system* prompt (the chatbot's instructions), a *user* strategy
(a template wrapping the scenario's message, i.e. how users prompt-engineer the bot),
or a *judge* rubric. Versions are immutable: each records the sha256 of its text,
and a changed text under an old version number is refused. Templates use MLflow's
`{{ variable }}` syntax so the same text goes to the MLflow Prompt Registry unchanged.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workbench import limits
from workbench.errors import InputError, Problem, display_path
from workbench.yaml_files import load_model, read_yaml, validate, with_lines

VARIABLE = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
NAME = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"
REF = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*[a-z0-9])(?:@(?P<selector>[A-Za-z0-9_.-]+))?$")
Kind = Literal["system", "user", "judge"]


def template_sha256(template: str) -> str:
    return hashlib.sha256(template.encode("utf-8")).hexdigest()


def template_variables(template: str) -> set[str]:
    return set(VARIABLE.findall(template))


class PromptVersionFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(gt=0, le=1_000_000, description="Version number; never reused for other text.")
    date: dt.date = Field(description="When this version was written.")
    rationale: str = Field(min_length=1, max_length=limits.RATIONALE_CHARS, description="Why this version exists.")
    sha256: str | None = Field(None, description="Hash of `template`; recorded by `workbench prompts seal`.")
    template: str = Field(min_length=1, max_length=limits.TEMPLATE_CHARS)


class PromptFamilyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME, max_length=limits.NAME_CHARS)
    kind: Kind
    description: str = Field(
        min_length=1,
        max_length=limits.DESCRIPTION_CHARS,
        description="One line: what this family is and why it exists.",
    )
    variables: list[str] = Field(default_factory=list)
    expectations: dict[str, bool] = Field(
        default_factory=dict,
        description="Behaviours this user strategy makes necessary, e.g. must_disclose_ai for role-play.",
    )
    versions: list[PromptVersionFile] = Field(min_length=1)

    @field_validator("variables")
    @classmethod
    def _unique_variables(cls, value: list[str]) -> list[str]:
        duplicates = sorted({v for v in value if value.count(v) > 1})
        if duplicates:
            raise ValueError(f"variables listed twice: {', '.join(duplicates)} | fix: list each once")
        return value

    @model_validator(mode="after")
    def _check_versions(self) -> PromptFamilyFile:
        numbers = [v.version for v in self.versions]
        if numbers != sorted(set(numbers)):
            raise ValueError(
                f"version numbers must be unique and ascending, got {numbers} "
                "| fix: give each new version the next number and append it at the end"
            )
        if self.kind == "user" and "message" not in self.variables:
            raise ValueError(
                "a user strategy must declare the variable 'message' (the scenario's message it wraps) "
                "| fix: add 'message' to variables and {{ message }} to the template"
            )
        return self


@dataclass(frozen=True)
class PromptVersion:
    """One immutable version of a family, resolved and ready to render."""

    name: str
    kind: Kind
    version: int
    template: str
    sha256: str
    variables: tuple[str, ...]
    rationale: str
    date: dt.date
    source: Path
    expectations: dict[str, bool] = field(default_factory=dict, hash=False, compare=False)
    alias: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, values: dict[str, str]) -> str:
        missing = sorted(set(self.variables) - set(values))
        if missing:
            raise InputError.single(
                f"no value for template variable(s) {', '.join(missing)} of {self.ref}",
                file=self.source,
                field="variables",
                fix="give them a value under 'variables:' in the experiment spec (or choose a locale that defines them)",
            )
        return VARIABLE.sub(lambda m: str(values[m.group(1)]), self.template)


@dataclass
class PromptFamily:
    name: str
    kind: Kind
    description: str
    variables: tuple[str, ...]
    expectations: dict[str, bool]
    versions: dict[int, PromptVersion]
    source: Path

    @property
    def latest(self) -> PromptVersion:
        return self.versions[max(self.versions)]


AliasResolver = Callable[[str, str], int]
"""(family name, alias) -> version number, usually backed by the MLflow Prompt Registry."""


@dataclass
class PromptLibrary:
    """Every prompt family under a folder, checked for immutability and variable use."""

    root: Path
    families: dict[str, PromptFamily]

    @classmethod
    def load(cls, root: str | Path) -> PromptLibrary:
        root = Path(root)
        if not root.is_dir():
            raise InputError.single(
                "prompt folder not found", file=root, fix="create it, or run from inside a workbench project"
            )
        families: dict[str, PromptFamily] = {}
        problems: list[Problem] = []
        for path in sorted(root.rglob("*.yml")):
            problems.append(
                Problem(
                    "prompt files must end in .yaml; this one would be skipped",
                    display_path(path),
                    None,
                    None,
                    f"rename it to {path.stem}.yaml",
                )
            )
        for path in sorted(root.rglob("*.yaml")):
            try:
                family = load_family(path)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            if family.name in families:
                problems.append(
                    Problem(
                        f"prompt family '{family.name}' is also defined in {display_path(families[family.name].source)}",
                        display_path(path),
                        "name",
                        None,
                        "give each family a unique name",
                    )
                )
                continue
            families[family.name] = family
        if problems:
            raise InputError(problems)
        return cls(root, families)

    def names(self, kind: Kind | None = None) -> list[str]:
        return sorted(n for n, f in self.families.items() if kind is None or f.kind == kind)

    def family(self, name: str, *, kind: Kind | None = None, where: str | None = None) -> PromptFamily:
        family = self.families.get(name)
        if family is None or (kind and family.kind != kind):
            known = self.names(kind)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise InputError.single(
                f"unknown {kind or ''} prompt '{name}'".replace("  ", " "),
                field=where,
                fix=f"{hint}known {kind or ''} prompts: {', '.join(known)} (files in {display_path(self.root)})",
            )
        return family

    def resolve(
        self, ref: str, *, kind: Kind | None = None, where: str | None = None, aliases: AliasResolver | None = None
    ) -> PromptVersion:
        """Resolve `name`, `name@3`, `name@latest` or `name@production` to one version."""
        match = REF.match(ref.strip())
        if not match:
            raise InputError.single(
                f"'{ref}' is not a prompt reference",
                field=where,
                fix="write NAME, NAME@VERSION (e.g. safety-first@1) or NAME@ALIAS (e.g. safety-first@production)",
            )
        family = self.family(match["name"], kind=kind, where=where)
        selector = match["selector"]
        if selector is None or selector == "latest":
            return family.latest
        if selector.isdigit():
            version = family.versions.get(int(selector))
            if version is None:
                raise InputError.single(
                    f"prompt '{family.name}' has no version {selector}",
                    field=where,
                    fix=f"use one of its versions: {', '.join(map(str, sorted(family.versions)))} "
                    f"(see {display_path(family.source)})",
                )
            return version
        if aliases is None:
            raise InputError.single(
                f"alias '{selector}' of '{family.name}' needs the MLflow Prompt Registry",
                field=where,
                fix="use a version number, or resolve through the registry",
            )
        try:
            number = aliases(family.name, selector)
        except InputError as exc:
            raise InputError([replace(p, field=p.field or where) for p in exc.problems]) from None
        version = family.versions.get(number)
        if version is None:
            raise InputError.single(
                f"alias '{selector}' of '{family.name}' points to version {number}, which "
                f"{display_path(family.source)} does not contain",
                field=where,
                fix="restore that version in the file, or move the alias to an existing version",
            )
        return PromptVersion(**{**version.__dict__, "alias": selector})


def load_family(path: Path) -> PromptFamily:
    spec = load_model(path, PromptFamilyFile, limit=limits.PROMPT_FILE_BYTES, what="prompt file")
    problems: list[Problem] = []
    declared = set(spec.variables)
    versions: dict[int, PromptVersion] = {}
    for index, item in enumerate(spec.versions):
        where = f"versions[{index}]"
        used = template_variables(item.template)
        if undeclared := sorted(used - declared):
            problems.append(
                Problem(
                    f"version {item.version} uses undeclared variable(s): {', '.join(undeclared)}",
                    display_path(path),
                    f"{where}.template",
                    None,
                    f"add them to 'variables:' or remove them from the template (declared: {', '.join(sorted(declared)) or 'none'})",
                )
            )
        if unused := sorted(declared - used):
            problems.append(
                Problem(
                    f"version {item.version} does not use declared variable(s): {', '.join(unused)}",
                    display_path(path),
                    f"{where}.template",
                    None,
                    "use them as {{ name }} in the template, or remove them from 'variables:'",
                )
            )
        digest = template_sha256(item.template)
        if item.sha256 is None:
            problems.append(
                Problem(
                    f"version {item.version} has no recorded sha256",
                    display_path(path),
                    f"{where}.sha256",
                    None,
                    f"run `workbench prompts seal {display_path(path)}` to record it",
                )
            )
        elif item.sha256 != digest:
            problems.append(
                Problem(
                    f"the text of version {item.version} changed after it was recorded "
                    f"(sha256 {item.sha256[:12]}… recorded, {digest[:12]}… now); versions are immutable",
                    display_path(path),
                    f"{where}.template",
                    None,
                    f"restore the original text of version {item.version} and add your change as a new version "
                    f"(version: {spec.versions[-1].version + 1}), then run `workbench prompts seal {display_path(path)}`",
                )
            )
        versions[item.version] = PromptVersion(
            name=spec.name,
            kind=spec.kind,
            version=item.version,
            template=item.template,
            sha256=digest,
            variables=tuple(spec.variables),
            rationale=item.rationale.strip(),
            date=item.date,
            source=path,
            expectations=dict(spec.expectations),
        )
    if problems:
        raise InputError(problems)
    return PromptFamily(
        spec.name, spec.kind, spec.description.strip(), tuple(spec.variables), dict(spec.expectations), versions, path
    )


HeldElsewhere = Callable[[str, Path], dict[int, dict[str, str]]]
"""(family name, file) -> {version: {sha256 of a text held for it: where (a commit, the registry)}}."""


def seal(path: str | Path, held: HeldElsewhere | None = None) -> list[int]:
    """Record the sha256 of every version that has none yet; never rewrites a recorded hash.

    A version that git history or the MLflow Prompt Registry (`held`) already holds with other
    text is refused: deleting a version's sha256 line and sealing again must not turn an edit
    of an old version into a new one. Edits the file as text so comments and layout survive.
    """
    path = Path(path)
    data, node = read_yaml(path, limit=limits.PROMPT_FILE_BYTES)
    spec = validate(data, PromptFamilyFile, path=path, node=node)
    if held is not None:
        known = held(spec.name, path)
        conflicts = [
            Problem(
                f"version {item.version} is already held with different text by {', '.join(sorted(set(where.values())))}",
                display_path(path),
                f"versions[{index}].template",
                None,
                f"restore the text of version {item.version} (`git show` or the MLflow UI has it) and add your change "
                f"as a new version (version: {spec.versions[-1].version + 1}), then seal again",
            )
            for index, item in enumerate(spec.versions)
            if not item.sha256 and (where := known.get(item.version)) and template_sha256(item.template) not in where
        ]
        if conflicts:
            raise InputError(with_lines(conflicts, path))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert node is not None, "validated above, so the file is not empty"
    versions_node = next(value for key, value in node.value if key.value == "versions")
    inserts: list[tuple[int, str]] = []
    sealed: list[int] = []
    for item_node, item in zip(versions_node.value, spec.versions, strict=True):
        if item.sha256:
            continue
        keys = {key.value: (key, value) for key, value in item_node.value}
        if "sha256" in keys:
            raise InputError.single(
                f"version {item.version} has an empty sha256",
                file=path,
                field="sha256",
                fix="delete the empty 'sha256:' line and seal again",
            )
        key_node, value_node = keys["version"]
        indent = " " * key_node.start_mark.column
        inserts.append((value_node.end_mark.line + 1, f"{indent}sha256: {template_sha256(item.template)}\n"))
        sealed.append(item.version)
    for line_no, text in sorted(inserts, reverse=True):
        lines.insert(line_no, text)
    if sealed:
        path.write_text("".join(lines), encoding="utf-8")
    load_family(path)  # the file must now pass every check, including recorded hashes
    return sealed


def unified_diff(a: PromptVersion, b: PromptVersion) -> str:
    return "".join(
        difflib.unified_diff(
            a.template.splitlines(keepends=True), b.template.splitlines(keepends=True), fromfile=a.ref, tofile=b.ref
        )
    )
