"""Traces written a batch at a time, each created with its assessments, read back from a real
store: and the fallback, where MLflow writes each trace itself, gives the same traces.

Each case runs in its own interpreter, as the MLflow worker does: routing finished traces is
process-wide and must not reach the tracing of other tests."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    import mlflow
    from mlflow.entities import AssessmentSource, Feedback
    from workbench.tracking import traces as trace_writer
    from workbench.tracking.protocol import CallRecord, JudgeSpan, SpanAttempt

    uri, fallback = sys.argv[1], sys.argv[2] == "fallback"
    if fallback:
        trace_writer.hold_finished_traces = lambda: None
    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("traces")
    run_id = client.create_run(experiment).info.run_id
    writer = trace_writer.TraceWriter(uri, experiment)
    now = time.time_ns()
    ids = []
    for index in range(5):
        attempts = [SpanAttempt(now, now + 10**6, "HTTP 429"), SpanAttempt(now + 2 * 10**6, now + 5 * 10**8)] \\
            if index == 0 else [SpanAttempt(now, now + 5 * 10**8)]
        judge = [JudgeSpan("judge judge-crisis@1", [{"role": "user", "content": "rubric"}], '{"crisis_resource": "no"}',
                           None, [SpanAttempt(now + 6 * 10**8, now + 7 * 10**8)], False)] if index == 1 else []
        record = CallRecord(index=index, group="g", name=f"scenario-{index}#0",
                            messages=[{"role": "user", "content": f"message {index}"}], reply=f"reply {index}",
                            error=None, attempts=attempts, input_tokens=7, output_tokens=3, model="m",
                            tags={"workbench.scenario_id": f"scenario-{index}"}, judge=judge)
        feedback = [Feedback(name="empathy", value=float(index), rationale=f"evidence {index}",
                             source=AssessmentSource(source_type="CODE", source_id="workbench.offline"))]
        ids.append(writer.add(record, run_id, feedback))
    writer.flush()
    traces = [mlflow.get_trace(trace_id) for trace_id in ids]
    print(json.dumps({"batched": writer.batched, "traces": [{
        "run": t.info.trace_metadata.get("mlflow.sourceRun") == run_id,
        "scenario": t.info.tags.get("workbench.scenario_id"),
        "spans": [s.name for s in t.data.spans],
        "input": t.data.spans[0].inputs["messages"][0]["content"],
        "reply": t.data.spans[0].outputs["choices"][0]["message"]["content"],
        "request_preview": t.info.request_preview,
        "assessments": [(a.name, a.value, a.rationale) for a in t.info.assessments],
    } for t in traces]}))
""")


@pytest.mark.parametrize("mode", ["batched", "fallback"])
def test_traces_carry_messages_reply_attempts_and_assessments(tmp_path, mode):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = subprocess.run([sys.executable, "-c", SCRIPT, uri, mode], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["batched"] is (mode == "batched")
    traces = out["traces"]
    assert len(traces) == 5 and all(t["run"] for t in traces)
    assert traces[0]["spans"] == ["scenario-0#0", "attempt 1", "attempt 2"]
    assert traces[1]["spans"] == ["scenario-1#0", "judge judge-crisis@1"], "the judge's calls are in the trace"
    for index, trace in enumerate(traces):
        assert trace["scenario"] == f"scenario-{index}"
        assert trace["input"] == f"message {index}" and trace["reply"] == f"reply {index}"
        assert f"message {index}" in trace["request_preview"]
        assert trace["assessments"] == [["empathy", float(index), f"evidence {index}"]]


FRAMEWORK_SCRIPT = textwrap.dedent("""
    import asyncio, json, os, sys, time
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    import mlflow
    from dspy.utils import DummyLM
    from mlflow.utils.autologging_utils import autologging_is_disabled
    from workbench.models.spec import Decoding, ModelSpec
    from workbench.pipelines._dspy_program import DspyPipeline
    from workbench.pipelines.base import Conversation
    from workbench.tracking import traces as trace_writer
    from workbench.tracking.protocol import CallRecord, SpanAttempt

    uri = sys.argv[1]
    mlflow.set_tracking_uri(uri)
    pipeline = DspyPipeline("dspy", ModelSpec(spec="local:smollm2-135m"), Decoding(), 30,
                            lm=DummyLM([{"reply": "I hear you."}] * 2))
    conversation = Conversation("Be kind. Call {{ crisis_line }}.", "{{ message }}", {"crisis_line": "988"}, (), "hi")
    with trace_writer.recording_spans({"dspy"}) as recorder:
        generations = [asyncio.run(recorder.pipeline(pipeline).respond(conversation)) for _ in range(2)]
    autolog_left_on = not autologging_is_disabled("dspy")
    with mlflow.start_span("after") as after:  # the process's own tracing works as before
        pass

    client = mlflow.MlflowClient(uri)
    experiment = client.create_experiment("framework")
    run_id = client.create_run(experiment).info.run_id
    writer = trace_writer.TraceWriter(uri, experiment)
    now = time.time_ns()
    ids = []
    for index, generation in enumerate(generations):
        attempts = [SpanAttempt(now - 10**9, now - 9 * 10**8, "HTTP 429"), SpanAttempt(now - 8 * 10**8, now)] \\
            if index == 1 else [SpanAttempt(now - 10**9, now)]
        record = CallRecord(index=index, group="g", name=f"scenario-{index}#0",
                            messages=pipeline.messages(conversation), reply=generation.reply, error=None,
                            attempts=attempts, input_tokens=None, output_tokens=None, model="m",
                            tags={}, spans=generation.spans)
        ids.append(writer.add(record, run_id, []))
    writer.flush()
    traces = [mlflow.get_trace(trace_id) for trace_id in ids]
    names = lambda t: {s.span_id: s.name for s in t.data.spans}
    print(json.dumps({
        "autolog_left_on": autolog_left_on,
        "after_is_a_real_span": type(after).__name__,
        "traces": [[[s.name, s.span_type, names(t).get(s.parent_id)] for s in t.data.spans] for t in traces],
        "lm_messages": [s.inputs["messages"] for s in traces[0].data.spans if s.name == "DummyLM.__call__"],
        "sent": pipeline.messages(conversation),
    }))
""")


def test_a_frameworks_recorded_spans_go_inside_the_calls_trace(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = subprocess.run([sys.executable, "-c", FRAMEWORK_SCRIPT, uri], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["autolog_left_on"] is False, "autolog is off again once the run's calls are over"
    assert out["after_is_a_real_span"] == "LiveSpan", "the process's MLflow tracing is restored"
    dspy_spans = [
        ["Counsellor.forward", "CHAIN"],
        ["Predict.forward", "LLM", "Counsellor.forward"],
        ["ReplyAdapter.format", "PARSER", "Predict.forward"],
        ["DummyLM.__call__", "CHAT_MODEL", "Predict.forward"],
        ["ReplyAdapter.parse", "PARSER", "Predict.forward"],
    ]
    single, retried = out["traces"]
    assert sorted(map(tuple, single)) == sorted(
        [
            ("scenario-0#0", "CHAT_MODEL", None),
            ("Counsellor.forward", "CHAIN", "scenario-0#0"),
            *map(tuple, dspy_spans[1:]),
        ]
    ), "one trace: the call's span, with DSPy's spans under it"
    assert sorted(map(tuple, retried)) == sorted(
        [
            ("scenario-1#0", "CHAT_MODEL", None),
            ("attempt 1", "CHAT_MODEL", "scenario-1#0"),
            ("attempt 2", "CHAT_MODEL", "scenario-1#0"),
            ("Counsellor.forward", "CHAIN", "attempt 2"),
            *map(tuple, dspy_spans[1:]),
        ]
    ), "the spans of the attempt that replied"
    assert out["lm_messages"] == [out["sent"]]
