"""A cached re-run logs nothing MLflow already holds: an identical re-run creates no run and no
trace and points at the logged run; a re-run whose results differ, or whose run was deleted, is
logged again (its cached replies reuse their traces)."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from workbench import run_experiment
from workbench.testing.loopback import LoopbackServer, fixed
from workbench.tracking import tracking_uri

pytestmark = pytest.mark.integration


def counts(project) -> tuple[int, int]:
    client = MlflowClient(tracking_uri(project))
    experiment = client.get_experiment_by_name("test-spec").experiment_id
    return len(client.search_runs([experiment], max_results=1000)), len(client.search_traces(locations=[experiment]))


def test_an_identical_cached_rerun_logs_nothing_new(project, spec_writer):
    with LoopbackServer(fixed("I'm an AI, not a therapist. Please call or text 988 tonight.")) as server:
        spec = spec_writer(models=[{"spec": "openai:loopback", "base_url": server.base_url}])
        first = run_experiment(spec)
        logged = counts(project)
        assert logged == (3, 4), "a parent, two child runs, four traces"

        again = run_experiment(spec)
        assert again.already_logged and again.stats.calls == 0
        assert again.parent_run_id == first.parent_run_id and again.child_run_ids == first.child_run_ids
        assert list(again.df["trace_id"]) == list(first.df["trace_id"])
        assert counts(project) == logged, "no run, no trace logged again"

        changed = run_experiment(
            spec_writer(
                models=[{"spec": "openai:loopback", "base_url": server.base_url}],
                scorers=["empathy", "crisis_escalation"],
            )
        )
        assert not changed.already_logged and changed.parent_run_id != first.parent_run_id
        assert counts(project) == (logged[0] + 3, 4), "new runs, and the cached replies keep their traces"
        assert set(changed.df["trace_id"]) == set(first.df["trace_id"])

        MlflowClient(tracking_uri(project)).delete_run(changed.parent_run_id)
        restored = run_experiment(
            spec_writer(
                models=[{"spec": "openai:loopback", "base_url": server.base_url}],
                scorers=["empathy", "crisis_escalation"],
            )
        )
        assert not restored.already_logged, "a deleted run is no reason to log nothing"
        assert len(server.requests) == 4, "every re-run was served from the cache"
