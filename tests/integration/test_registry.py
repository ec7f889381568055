"""The MLflow Prompt Registry: idempotent sync, aliases, and the immutability backstop."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from workbench import run_experiment
from workbench.cli import app
from workbench.errors import InputError
from workbench.paths import prompts_dir
from workbench.prompts import PromptLibrary
from workbench.prompts.mlflow_registry import SHA_TAG, VERSION_TAG, sync
from workbench.testing.loopback import LoopbackServer
from workbench.tracking import configure

pytestmark = pytest.mark.integration


def test_sync_is_idempotent(project):
    configure(project)
    library = PromptLibrary.load(prompts_dir(project))
    first = sync(library.families.values())
    second = sync(library.families.values())
    assert first == second
    client = MlflowClient()
    for name in library.families:
        versions = client.search_prompt_versions(name)
        assert len(versions) == len(library.families[name].versions)
        assert versions[0].tags[SHA_TAG] == library.families[name].versions[1].sha256


def test_alias_resolves_through_the_registry(project, spec_writer):
    configure(project)
    library = PromptLibrary.load(prompts_dir(project))
    registry_version = sync([library.family("safety-first")])["safety-first"][1]
    mlflow.genai.set_prompt_alias("safety-first", alias="production", version=registry_version)
    result = CliRunner().invoke(app, ["prompts", "show", "safety-first@production"])
    assert result.exit_code == 0 and "safety-first@1" in result.output and "alias production" in result.output
    with LoopbackServer() as server:
        run = run_experiment(
            spec_writer(
                system_prompts=["safety-first@production"],
                models=[{"spec": "openai:loopback", "base_url": server.base_url}],
            )
        )
    params = MlflowClient().get_run(next(iter(run.child_run_ids.values()))).data.params
    assert params["system_prompt_alias"] == "production" and params["system_prompt_version"] == "1"


def test_registered_text_that_differs_from_the_file_is_refused(project, spec_writer):
    configure(project)
    mlflow.genai.register_prompt(
        name="safety-first", template="an older text", tags={VERSION_TAG: "1", SHA_TAG: "0" * 64}
    )
    with LoopbackServer() as server:
        spec = spec_writer(models=[{"spec": "openai:loopback", "base_url": server.base_url}])
        with pytest.raises(InputError, match="registered with different text"):
            run_experiment(spec)


def test_a_registry_changed_behind_the_ledger_still_stops_the_run(project, spec_writer):
    """After a run, the ledger remembers the registry held these versions, so the next run's calls
    do not wait for the MLflow set-up. If the registry has changed since, the check made in
    parallel still stops the run with the conflict."""
    from workbench.paths import cache_path
    from workbench.tracking.ledger import Ledger, prompt_versions
    from workbench.tracking.store import tracking_uri

    with LoopbackServer() as server:
        spec = spec_writer(models=[{"spec": "openai:loopback", "base_url": server.base_url}])
        run_experiment(spec)
        families = list(PromptLibrary.load(prompts_dir(project)).families.values())
        ledger = Ledger(cache_path(project))
        used = [v for v in prompt_versions(families) if v[0] in ("safety-first", "baseline-assistant", "plain")]
        assert len(used) >= 3 and ledger.all_synced(tracking_uri(project), used)
        ledger.close()

        client = MlflowClient(tracking_uri(project), registry_uri=tracking_uri(project))
        for version in client.search_prompt_versions("safety-first"):
            client.delete_prompt_version("safety-first", str(version.version))
        client.delete_prompt("safety-first")
        configure(project)
        mlflow.genai.register_prompt(
            name="safety-first", template="an older text", tags={VERSION_TAG: "1", SHA_TAG: "0" * 64}
        )
        with pytest.raises(InputError, match="registered with different text"):
            run_experiment(spec, use_cache=False)
