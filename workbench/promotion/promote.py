"""Moving the MLflow Prompt Registry alias `production` behind the gates of a policy.

`evaluate` finds the evidence and runs the gates (nothing changes); `commit` moves the alias: only
when every gate passed, or with an override reason, and only if `production` still points where it
did when the gates were evaluated (compare-and-set under a lock). Two promotions at once cannot both
win silently: the second waits for the lock, finds the alias moved and is refused, because its
no-regression gate was judged against a version that is no longer production.

The previous production version becomes `previous`; `rollback` swaps them back. Every move is
audited (`audit`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from workbench.errors import InputError, display_path
from workbench.paths import project_root, prompts_dir
from workbench.promotion import audit
from workbench.promotion.evidence import gather
from workbench.promotion.gates import Evidence, GateResult, evaluate_gates
from workbench.promotion.policy import GatePolicy
from workbench.prompts import PromptLibrary
from workbench.prompts.mlflow_registry import VERSION_TAG, sync
from workbench.tracking.store import configure, tracking_uri

LOCK_TIMEOUT_S = 60.0
PROMOTE_REF = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*)@(?P<version>\d+)$")


class GatesFailed(Exception):
    """A promotion refused by its gates; `decision` holds every gate's numbers."""

    def __init__(self, decision: Decision):
        self.decision = decision
        failed = [g for g in decision.summary() if not g["passed"]]
        super().__init__(f"{decision.label}: {len(failed)} gate(s) failed: " + ", ".join(g["gate"] for g in failed))


@dataclass
class Decision:
    """The gates' verdict on one version, and the state of the alias it was judged against."""

    name: str
    version: int
    policy: GatePolicy
    policy_file: str
    evidence: Evidence
    results: list[GateResult]
    production: int | None
    """The version `production` pointed to when the gates were evaluated (compare-and-set)."""
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def summary(self) -> list[dict]:
        return audit.summarise(self.results)

    def table(self) -> pd.DataFrame:
        """Every gate in every cell."""
        return pd.DataFrame([r.as_dict() for r in self.results])

    def failed(self) -> pd.DataFrame:
        table = self.table()
        return table[~table["passed"]].reset_index(drop=True) if len(table) else table


@dataclass
class Promotion:
    """What a promotion or rollback did."""

    decision: Decision | None
    moved: bool
    record: audit.AuditRecord | None = None


def parse_ref(ref: str, library: PromptLibrary) -> tuple[str, int]:
    """`NAME@VERSION` of a system prompt that exists in the prompt files."""
    match = PROMOTE_REF.match(ref.strip())
    if not match:
        raise InputError.single(
            f"'{ref}' is not NAME@VERSION", field="NAME@VERSION", fix="e.g. workbench promote safety-first@2"
        )
    name, version = match["name"], int(match["version"])
    family = library.families.get(name)
    if family is None or family.kind != "system":
        raise InputError.single(
            f"there is no system prompt named '{name}'",
            file=library.root / "system",
            field="NAME",
            fix=f"system prompts: {', '.join(library.names('system'))}",
        )
    if version not in family.versions:
        raise InputError.single(
            f"'{name}' has no version {version}",
            file=family.source,
            field="versions",
            fix=f"versions: {', '.join(map(str, sorted(family.versions)))}; add a version to the file and seal it first",
        )
    return name, version


def registry_versions(name: str, client: MlflowClient) -> dict[int, int]:
    """Local version -> registry version, for the versions already registered."""
    try:
        versions = client.search_prompt_versions(name, max_results=1000)
    except MlflowException:
        return {}
    return {int(v.tags[VERSION_TAG]): int(v.version) for v in versions if VERSION_TAG in (v.tags or {})}


def alias_version(name: str, alias: str, client: MlflowClient) -> int | None:
    """The local version an alias points to, or None when it is not set."""
    try:
        version = client.get_prompt_version_by_alias(name, alias)
    except MlflowException:
        return None
    if version is None or VERSION_TAG not in (version.tags or {}):
        return None
    return int(version.tags[VERSION_TAG])


def evaluate(
    ref: str,
    policy: GatePolicy,
    *,
    policy_file: str | Path = "gates.yaml",
    evidence: tuple[str, ...] = (),
    root: Path | None = None,
    client: MlflowClient | None = None,
) -> Decision:
    """Judge `ref` by `policy` on its evidence runs; changes nothing."""
    root = root or project_root()
    library = PromptLibrary.load(prompts_dir(root))
    name, version = parse_ref(ref, library)
    configure(root)
    client = client or MlflowClient()
    production = alias_version(name, policy.alias, client)
    found = gather(name, version, production, evidence, root, client)
    return Decision(
        name,
        version,
        policy,
        display_path(policy_file),
        found,
        evaluate_gates(policy, found),
        production,
        list(found.runs.warnings),
    )


def lock_path(name: str, root: Path) -> Path:
    """Beside the SQLite store when there is one (every process using that store sees it), else in
    the project's `.workbench/`."""
    uri = tracking_uri(root)
    folder = Path(uri[len("sqlite:///") :]).parent if uri.startswith("sqlite:///") else root / ".workbench"
    folder.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(uri.encode()).hexdigest()[:12]
    return folder / f".promotion-{name}-{key}.lock"


@contextlib.contextmanager
def promotion_lock(name: str, root: Path, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """One alias move of a prompt at a time (an exclusive lock on a file)."""
    path = lock_path(name, root)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise InputError.single(
                        f"another promotion or rollback of '{name}' has held the lock for {timeout_s:.0f} s",
                        file=path,
                        fix="wait for it to finish and run the command again (check `workbench prompts history`)",
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def commit(
    decision: Decision,
    *,
    override_reason: str | None = None,
    user: str | None = None,
    root: Path | None = None,
    client: MlflowClient | None = None,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
) -> Promotion:
    """Move the alias to the decided version, if the gates passed (or with a reason to override),
    and if the alias has not moved since the gates were evaluated."""
    if override_reason is not None and not override_reason.strip():
        raise InputError.single(
            "an override needs a reason", field="--override-reason", fix='say why, e.g. --override-reason "..."'
        )
    if not decision.passed and override_reason is None:
        raise GatesFailed(decision)
    root = root or project_root()
    client = client or MlflowClient()
    policy = decision.policy
    with promotion_lock(decision.name, root, lock_timeout_s):
        current = alias_version(decision.name, policy.alias, client)
        if current != decision.production:
            raise InputError.single(
                f"'{policy.alias}' of '{decision.name}' moved from {_v(decision.production)} to {_v(current)} while "
                f"{decision.label} was being judged; its gates were evaluated against {_v(decision.production)}",
                field=policy.alias,
                fix=f"run `workbench promote {decision.label}` again to judge it against the new {policy.alias}",
            )
        library = PromptLibrary.load(prompts_dir(root))
        mapping = sync([library.family(decision.name)])[decision.name]
        if current != decision.version:
            mlflow.genai.set_prompt_alias(decision.name, alias=policy.alias, version=mapping[decision.version])
            if current is not None:
                mlflow.genai.set_prompt_alias(decision.name, alias=policy.previous_alias, version=mapping[current])
        record = audit.AuditRecord(
            action="override" if not decision.passed else "promote",
            prompt=decision.name,
            alias=policy.alias,
            to_version=decision.version,
            from_version=current,
            user=user or audit.current_user(),
            time=audit.now(),
            policy=f"{decision.policy_file} ({policy.name})",
            evidence_runs=decision.evidence.run_ids,
            gates=decision.summary(),
            reason=(override_reason or "").strip(),
        )
        audit.write(record, decision.results, client, mapping[decision.version])
    return Promotion(decision, True, record)


def _v(version: int | None) -> str:
    return "no version" if version is None else f"v{version}"


def promote(
    ref: str,
    policy: GatePolicy,
    *,
    policy_file: str | Path = "gates.yaml",
    evidence: tuple[str, ...] = (),
    dry_run: bool = False,
    override_reason: str | None = None,
    user: str | None = None,
    root: Path | None = None,
) -> Promotion:
    """Evaluate and, unless `dry_run`, commit. Raises `GatesFailed` (alias unchanged) when a gate
    fails without an override reason."""
    decision = evaluate(ref, policy, policy_file=policy_file, evidence=evidence, root=root)
    if dry_run:
        return Promotion(decision, False)
    return commit(decision, override_reason=override_reason, user=user, root=root)


def rollback(
    name: str,
    *,
    alias: str = "production",
    previous_alias: str = "previous",
    reason: str = "",
    user: str | None = None,
    root: Path | None = None,
) -> Promotion:
    """Point `production` back at `previous`, and `previous` at the version it replaces."""
    root = root or project_root()
    library = PromptLibrary.load(prompts_dir(root))
    if name not in library.families or library.families[name].kind != "system":
        raise InputError.single(
            f"there is no system prompt named '{name}'",
            field="NAME",
            fix=f"system prompts: {', '.join(library.names('system'))}",
        )
    configure(root)
    client = MlflowClient()
    with promotion_lock(name, root):
        current = alias_version(name, alias, client)
        previous = alias_version(name, previous_alias, client)
        if previous is None or current is None:
            raise InputError.single(
                f"'{name}' has no '{previous_alias}' version to roll back to"
                + ("" if current is not None else f" (and no '{alias}')"),
                field=previous_alias,
                fix=f"promote a version first, or point {alias} with `workbench promote {name}@VERSION`",
            )
        mapping = registry_versions(name, client)
        mlflow.genai.set_prompt_alias(name, alias=alias, version=mapping[previous])
        mlflow.genai.set_prompt_alias(name, alias=previous_alias, version=mapping[current])
        record = audit.AuditRecord(
            action="rollback",
            prompt=name,
            alias=alias,
            to_version=previous,
            from_version=current,
            user=user or audit.current_user(),
            time=audit.now(),
            reason=reason.strip(),
        )
        audit.write(record, [], client, mapping[previous])
    return Promotion(None, True, record)


def history(
    name: str, root: Path | None = None, aliases: tuple[str, ...] = ("production", "previous")
) -> tuple[pd.DataFrame, dict[str, int | None]]:
    """Every alias move of `name` (oldest first) and where its aliases point now."""
    root = root or project_root()
    configure(root)
    client = MlflowClient()
    return audit.history(name, client), {alias: alias_version(name, alias, client) for alias in aliases}


def load_production_prompt(name: str, alias: str = "production"):
    """The prompt version production code should use: `prompts:/NAME@production` from the MLflow
    Prompt Registry (an `mlflow.entities.model_registry.PromptVersion`; `.template`, `.format(...)`)."""
    configure(project_root())
    try:
        return mlflow.genai.load_prompt(f"prompts:/{name}@{alias}")
    except MlflowException as exc:
        raise InputError.single(
            f"prompt '{name}' has no '{alias}' version in the MLflow Prompt Registry ({exc.message.splitlines()[0]})",
            fix=f"promote a version first: workbench promote {name}@VERSION",
        ) from None
