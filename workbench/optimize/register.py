"""Register an optimized prompt as a new version: in its family file and the MLflow Prompt Registry.

All or nothing. The new version is appended to a copy of the family file as text (comments and
layout survive), sealed and checked there; only then is it registered, and only then does the
copy replace the file. If replacing the file fails, the registry version is deleted again, so no
half-registered version is left behind; a crash before this point changes neither. The version
is never given an alias: promotion to `production` is a separate, gated step.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from workbench.errors import display_path
from workbench.prompts import load_family, seal, template_sha256
from workbench.prompts.mlflow_registry import SHA_TAG, VERSION_TAG, sync_family
from workbench.yaml_files import read_yaml

MAX_TAG = 5000


@dataclass(frozen=True)
class RegisteredVersion:
    family: str
    version: int
    registry_version: int
    file: str
    rationale: str
    tags: dict[str, str]

    @property
    def ref(self) -> str:
        return f"{self.family}@{self.version}"


def version_entry(number: int, date: dt.date, rationale: str, template: str, indent: int) -> str:
    """A version item as YAML text: the rationale folded, the template literal."""
    pad = " " * indent
    body = " " * (indent + 4)
    wrapped = textwrap.wrap(" ".join(rationale.split()), width=100) or ["-"]
    template_lines = [f"{body}{line}" if line else "" for line in template.split("\n")]
    return (
        f"{pad}- version: {number}\n"
        f"{pad}  date: {date.isoformat()}\n"
        f"{pad}  rationale: >-\n"
        + "".join(f"{body}{line}\n" for line in wrapped)
        + f"{pad}  template: |-\n"
        + "\n".join(template_lines)
        + "\n"
    )


def install(scratch: Path, path: Path) -> None:
    """Replace the family file with its checked copy in one step (atomic on one file system)."""
    os.replace(scratch, path)


def register_candidate(
    path: Path, template: str, rationale: str, tags: dict[str, str], *, today: dt.date | None = None
) -> RegisteredVersion:
    family = load_family(path)
    number = max(family.versions) + 1
    _, node = read_yaml(path)
    assert node is not None, "the family file was loaded above"
    versions = next(value for key, value in node.value if key.value == "versions")
    indent = versions.value[-1].start_mark.column - 2 if versions.value else 2
    text = path.read_text(encoding="utf-8")
    entry = version_entry(number, today or dt.date.today(), rationale, template, max(indent, 0))
    handle, scratch_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".yaml", dir=path.parent)
    scratch = Path(scratch_name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text.rstrip("\n") + "\n" + entry)
        seal(scratch)
        written = load_family(scratch).versions[number]
        if written.template != template:
            raise ValueError(f"version {number} would not read back as the optimized text; nothing was registered")
        client = MlflowClient()
        sync_family(family, client)
        created = mlflow.genai.register_prompt(
            name=family.name,
            template=template,
            commit_message=f"v{number} ({written.date}): {rationale}"[:5000],
            tags={
                VERSION_TAG: str(number),
                SHA_TAG: template_sha256(template),
                "workbench.kind": family.kind,
                "workbench.file": display_path(path),
                **{k: v[:MAX_TAG] for k, v in tags.items()},
            },
        )
        try:
            install(scratch, path)
        except BaseException:
            client.delete_prompt_version(family.name, str(created.version))
            raise
    finally:
        scratch.unlink(missing_ok=True)
    return RegisteredVersion(family.name, number, int(created.version), display_path(path), rationale, tags)
