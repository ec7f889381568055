"""Mirror the YAML prompt families into the MLflow Prompt Registry.

Each local version becomes a registry version tagged with its workbench version number
and sha256. Sync is idempotent: a text already registered is never registered again. The
registry is also the immutability backstop: if a registered version's hash differs from
the file, the file was edited after the fact and the run is refused. Aliases
(`safety-first@production`) live only in the registry and resolve to local versions.
"""

from __future__ import annotations

from collections.abc import Iterable

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from workbench.errors import InputError, display_path
from workbench.prompts import PromptFamily, PromptLibrary, PromptVersion

VERSION_TAG = "workbench.version"
SHA_TAG = "workbench.sha256"


def _registered(client: MlflowClient, name: str) -> list:
    try:
        if client.get_prompt(name) is None:
            return []
    except MlflowException:
        return []
    versions, token = [], None
    while True:
        page = client.search_prompt_versions(name, max_results=100, page_token=token)
        versions.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return versions


def registered_versions(name: str, client: MlflowClient | None = None) -> dict[int, dict[str, str]]:
    """{workbench version: {sha256 of its registered text: "the MLflow Prompt Registry"}}."""
    held: dict[int, dict[str, str]] = {}
    for version in _registered(client or MlflowClient(), name):
        tags = version.tags or {}
        if tags.get(VERSION_TAG, "").isdigit() and SHA_TAG in tags:
            held.setdefault(int(tags[VERSION_TAG]), {})[tags[SHA_TAG]] = "the MLflow Prompt Registry"
    return held


def sync_family(family: PromptFamily, client: MlflowClient | None = None) -> dict[int, int]:
    """Register every version not yet in the registry; returns local -> registry version."""
    client = client or MlflowClient()
    existing = _registered(client, family.name)
    by_local = {int(v.tags[VERSION_TAG]): v for v in existing if VERSION_TAG in (v.tags or {})}
    mapping = {}
    for number, version in sorted(family.versions.items()):
        registered = by_local.get(number)
        if registered is not None:
            if registered.tags.get(SHA_TAG) != version.sha256:
                raise InputError.single(
                    f"version {number} of '{family.name}' was registered with different text "
                    f"(registry sha256 {registered.tags.get(SHA_TAG, '?')[:12]}…, file {version.sha256[:12]}…)",
                    file=family.source,
                    field=f"versions (version {number})",
                    fix=f"restore the registered text (`workbench prompts show {family.name}@{number}` shows the "
                    "file; the MLflow UI shows the registered one) and add your change as a new version",
                )
            mapping[number] = int(registered.version)
            continue
        created = mlflow.genai.register_prompt(
            name=family.name,
            template=version.template,
            commit_message=f"v{number} ({version.date}): {version.rationale}"[:5000],
            tags={
                VERSION_TAG: str(number),
                SHA_TAG: version.sha256,
                "workbench.kind": family.kind,
                "workbench.file": display_path(family.source),
            },
        )
        mapping[number] = int(created.version)
    return mapping


def sync(families: Iterable[PromptFamily]) -> dict[str, dict[int, int]]:
    client = MlflowClient()
    return {family.name: sync_family(family, client) for family in families}


def sync_versions(versions: Iterable[PromptVersion], library: PromptLibrary) -> dict[tuple[str, int], int]:
    """Sync the families of `versions`; returns (name, local version) -> registry version."""
    names = sorted({v.name for v in versions})
    mapping = sync(library.families[n] for n in names)
    return {
        (name, local): registry for name, versions_map in mapping.items() for local, registry in versions_map.items()
    }


def resolve_alias(name: str, alias: str) -> int:
    """Registry alias -> local version number (the registry version's workbench.version tag)."""
    try:
        version = MlflowClient().get_prompt_version_by_alias(name, alias)
    except MlflowException:
        version = None
    if version is None:
        raise InputError.single(
            f"prompt '{name}' has no alias '{alias}' in the MLflow Prompt Registry",
            fix=f"use a version number ({name}@1), or set the alias in the registry first",
        )
    local = (version.tags or {}).get(VERSION_TAG)
    if local is None:
        raise InputError.single(
            f"alias '{alias}' of '{name}' points to registry version {version.version}, which was not "
            "registered by the workbench",
            fix="point the alias at a version the workbench registered",
        )
    return int(local)


def set_alias(name: str, alias: str, local_version: int, library: PromptLibrary) -> int:
    """Point `alias` at the registry version holding local version `local_version`."""
    mapping = sync([library.family(name)])[name]
    if local_version not in mapping:
        raise InputError.single(
            f"prompt '{name}' has no version {local_version}", fix=f"versions: {', '.join(map(str, sorted(mapping)))}"
        )
    mlflow.genai.set_prompt_alias(name, alias=alias, version=mapping[local_version])
    return mapping[local_version]
