"""The bundled model's server is sized from the cores this process may use, and the runner never
sends it more calls at once than it has slots: the rest queue in the workbench."""

from __future__ import annotations

import os

import pytest

from workbench.models import local
from workbench.models.local import available_cores, sizing
from workbench.plan import build_plan


@pytest.mark.parametrize(
    ("cores", "busy", "threads", "slots"),
    [
        (1, 0.0, 1, 4),
        (2, 0.0, 1, 4),  # one core for the workbench's own work
        (2, 1.9, 1, 4),  # never fewer than one
        (4, 0.1, 3, 8),
        (4, 1.2, 2, 8),  # and room for what other processes keep busy
        (64, 0.0, 63, 8),
    ],
)
def test_threads_leave_room_for_other_work_and_never_exceed_the_cores(cores, busy, threads, slots):
    size = sizing(cores, busy)
    assert (size.threads, size.slots) == (threads, slots)
    assert 1 <= size.threads <= cores


def test_a_busy_process_is_seen():
    """A process spinning on one of our cores shows as about one core of work elsewhere."""
    import subprocess
    import sys

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        import time

        time.sleep(0.3)
        assert local.busy_elsewhere(0.5) > 0.6
    finally:
        spinner.kill()
        spinner.wait()


def test_available_cores_follow_the_affinity_mask():
    assert available_cores() == len(os.sched_getaffinity(0))


def test_local_concurrency_is_capped_at_the_slots(spec_writer, monkeypatch):
    monkeypatch.setattr(local, "slot_count", lambda cores=None: 3)
    monkeypatch.setattr(local, "_servers", {}, raising=True)  # not a server another test left running
    plan = build_plan(spec_writer(models=[{"spec": "local:smollm2-135m", "concurrency": 200}], concurrency=50))
    assert plan.concurrency(plan.models[0]) == 3
    other = build_plan(spec_writer(models=[{"spec": "openai:x", "base_url": "http://127.0.0.1:1/v1"}], concurrency=50))
    assert other.concurrency(other.models[0]) == 50, "endpoints that do not declare a cap keep the spec's"


def test_overrides_merge_into_the_spec_and_are_validated(spec_writer):
    spec = spec_writer(scenarios={"files": ["scenarios"], "ids": ["exam-week-overwhelm", "car-park-roof-midnight"]})
    plan = build_plan(spec, overrides={"scenarios": {"ids": ["exam-week-overwhelm"]}, "repeats": 2})
    assert [s.id for s in plan.scenarios] == ["exam-week-overwhelm"] and plan.spec.repeats == 2
    assert plan.spec.scenarios.files == ["scenarios"], "a nested override keeps the fields it does not name"
    from workbench.errors import InputError

    with pytest.raises(InputError, match="repeats"):
        build_plan(spec, overrides={"repeats": 0})


def test_reproducible_decoding_uses_one_slot(monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOCAL_REPRODUCIBLE", "1")
    assert local.reproducible() and sizing(4, 0.0).slots == 1, "one reply at a time"
    assert local.decoding_mode("not-started") == "reproducible", "what a run's params record"
    monkeypatch.setenv("WORKBENCH_LOCAL_REPRODUCIBLE", "0")
    assert not local.reproducible() and sizing(4, 0.0).slots == 8
    assert local.decoding_mode("not-started") == "batched"
