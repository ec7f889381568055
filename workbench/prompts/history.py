"""What git history says each version of a prompt file held.

Versions are immutable; the sha256 recorded in the file is what enforces it, and deleting that
line would defeat it. Git history remembers: every committed state of the file, with the text
of each version it held. `workbench prompts seal` refuses to seal a version whose text differs
from what was committed for it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from workbench.prompts.library import template_sha256

GIT_TIMEOUT_S = 10


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def committed_versions(path: Path) -> dict[int, dict[str, str]]:
    """{version: {sha256 of its text: the commit that held it}} over the file's whole history
    (empty outside a git repository, or for a file never committed)."""
    path = path.resolve()
    folder = path.parent
    top = _git(["rev-parse", "--show-toplevel"], folder)
    if top is None:
        return {}
    root = Path(top.strip()).resolve()
    relative = path.relative_to(root).as_posix()
    commits = _git(["log", "--format=%H", "--", relative], root)
    held: dict[int, dict[str, str]] = {}
    for commit in (commits or "").split():
        text = _git(["show", f"{commit}:{relative}"], root)
        try:
            data = yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            continue
        for version in (data or {}).get("versions", []) if isinstance(data, dict) else []:
            if isinstance(version, dict) and isinstance(version.get("template"), str):
                number = version.get("version")
                if isinstance(number, int):
                    held.setdefault(number, {}).setdefault(
                        template_sha256(version["template"]), f"commit {commit[:10]}"
                    )
    return held
