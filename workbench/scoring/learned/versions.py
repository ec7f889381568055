"""Where scorer versions live and how a name finds one.

The workbench ships `learned-1` in the package (`workbench/data/scorers/`), trained by
`workbench scorers train` from the gold set. A team's calibrated versions are written to the
project's `scorers/` folder by `workbench scorers calibrate`; a spec pins one with
`scorer_version: NAME`. A project version shadows a built-in one of the same name.
"""

from __future__ import annotations

import re
import threading
from importlib import resources
from pathlib import Path

from workbench.errors import InputError
from workbench.scoring.learned.model import ScorerVersion

DEFAULT_VERSION = "learned-1"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def builtin_dir() -> Path:
    return Path(str(resources.files("workbench.data"))) / "scorers"


def project_dir(root: Path) -> Path:
    return root / "scorers"


def available(root: Path | None = None) -> dict[str, Path]:
    """Version name -> folder; project versions shadow built-in ones."""
    found: dict[str, Path] = {}
    for folder in [builtin_dir(), *([project_dir(root)] if root is not None else [])]:
        if folder.is_dir():
            for version in sorted(folder.iterdir()):
                if (version / "version.json").is_file():
                    found[version.name] = version
    return found


def version_folder(
    name: str, root: Path | None = None, *, file: str | None = None, field: str = "scorer_version"
) -> Path:
    versions = available(root)
    if name not in versions:
        raise InputError.single(
            f"scorer version '{name}' does not exist",
            file=file,
            field=field,
            fix=f"use one of: {', '.join(versions) or 'none found'} (`workbench scorers list`), or create it with "
            "`workbench scorers calibrate --labels FILE --name " + name + "`",
        )
    if not (versions[name] / "weights.npz").is_file():
        raise InputError.single(
            f"the classifier weights of scorer version '{name}' are missing ({versions[name] / 'weights.npz'})",
            file=file,
            field=field,
            fix="restore the folder from git or MLflow (experiment scorer-calibration), or train it again",
        )
    return versions[name]


_loaded: dict[tuple[str, float], ScorerVersion] = {}
_lock = threading.Lock()


def load_version(name: str = DEFAULT_VERSION, root: Path | None = None) -> ScorerVersion:
    folder = version_folder(name, root)
    weights = folder / "weights.npz"
    key = (str(folder), weights.stat().st_mtime if weights.exists() else 0.0)
    with _lock:
        if key not in _loaded:
            _loaded[key] = ScorerVersion.load(folder)
        return _loaded[key]
