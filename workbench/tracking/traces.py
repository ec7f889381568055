"""Model calls as MLflow traces, written a batch at a time, each trace created together with
its scores as assessments.

MLflow builds the traces (`start_span_no_context`), so they carry everything its tracing
records; only the writing differs. MLflow's exporter writes each trace as it ends: its spans in
one transaction, then the trace info merged into the row those spans created, then one more
transaction per assessment. On the SQLite store that is about 40 ms per scored call, longer
than a fast endpoint takes to answer. Held here instead, a batch is written as one
`start_trace` per trace (its assessments included) and a single `log_spans` for every span of
the batch: about 7 ms per call (`benchmarks/runner_overhead.py`).

A pipeline built on a framework that MLflow traces itself (DSPy, through `mlflow.dspy.autolog`)
gets that framework's spans inside the same trace, not a second one: during a run's calls the
process's MLflow tracing goes to a `SpanRecorder` (no store, nothing written), each call runs
under a span of its own that autolog's spans attach to (they parent on the active span), and
the spans recorded under it travel with the reply, as JSON, to the worker, where `TraceWriter`
rebuilds them under the call's span. The reply's trace keeps its tags, its assessments and its
batched writing; a cached reply, which made no call, has no framework spans.

This is the only module that touches MLflow internals: `mlflow.tracing.provider._get_span_processor`,
`_get_tracer`, `provider` and the context helpers, the span processor's `span_exporter`, and
`InMemoryTraceManager`. It is tested with MLflow 3.5 to 3.17 (`TESTED_MLFLOW`). Where those names
are missing, or the store is not a database, MLflow writes each trace itself; both paths are tested
(`tests/integration/test_traces.py`). Where the recorder cannot be installed, replies are traced
without framework spans.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import mlflow
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from mlflow.tracing.client import TracingClient
from mlflow.tracing.trace_manager import InMemoryTraceManager
from mlflow.tracing.utils import add_size_stats_to_trace_metadata
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from workbench.calls.engine import Generation
from workbench.pipelines.base import Conversation, Message, Pipeline
from workbench.tracking.protocol import CallRecord, JudgeSpan

TESTED_MLFLOW = (">=3.5", "<=3.17")


class FinishedTraces(SpanExporter):
    """Takes MLflow's finished traces out of its in-memory trace manager instead of writing them,
    handing each to `keep`."""

    def export(self, spans: Sequence) -> SpanExportResult:
        manager = InMemoryTraceManager.get_instance()
        for span in spans:
            if span.parent is None:
                finished = manager.pop_trace(span.context.trace_id)
                if finished is not None:
                    self.keep(finished.trace)
        return SpanExportResult.SUCCESS

    def keep(self, trace) -> None:
        raise NotImplementedError


class HeldTraces(FinishedTraces):
    """Finished traces held in order, for the next batched write."""

    def __init__(self) -> None:
        self.traces: list = []

    def keep(self, trace) -> None:
        self.traces.append(trace)

    def take(self) -> list:
        traces, self.traces = self.traces, []
        return traces


def _database_store(store) -> bool:
    """Only a database store is known to take spans of many traces in one `log_spans`; with
    any other (a tracking server, a file store), MLflow's own writing knows what to do."""
    return isinstance(store, SqlAlchemyStore)


def hold_finished_traces() -> HeldTraces | None:
    """Route this process's finished MLflow traces to a `HeldTraces`; None where the installed
    MLflow lays out its span processor differently, and MLflow then writes each trace itself."""
    try:
        from mlflow.tracing.processor.base_mlflow import BaseMlflowSpanProcessor
        from mlflow.tracing.provider import _get_span_processor, _get_tracer
    except ImportError:
        return None
    _get_tracer(__name__)  # creates MLflow's tracer provider and span processor if not there yet
    processor = _get_span_processor()
    if not isinstance(processor, BaseMlflowSpanProcessor) or getattr(processor, "_batch_delegate", None) is not None:
        return None
    held = processor.span_exporter = HeldTraces()
    return held


# -- a framework's own spans, recorded while a run calls the model --------------------------------
OWN_ATTRIBUTES = {
    "mlflow.traceRequestId",
    "mlflow.experimentId",
    "mlflow.spanType",
    "mlflow.spanInputs",
    "mlflow.spanOutputs",
    "mlflow.spanLogLevel",
}
"""Span attributes MLflow sets itself, rebuilt (or set afresh) rather than copied."""

AUTOLOG: dict[str, Callable[[], None]] = {
    "dspy": lambda: mlflow.dspy.autolog(
        log_traces=True,
        log_traces_from_compile=False,
        log_traces_from_eval=False,
        log_compiles=False,
        log_evals=False,
        silent=True,
    ),
}
"""What a pipeline's `autolog` names: how to turn on that framework's MLflow tracing (spans only,
no runs or artifacts of its own)."""


class RecordedTraces(FinishedTraces):
    """Keeps the traces that finish in this process, by id, for `SpanRecorder` to take."""

    def __init__(self) -> None:
        self.traces: dict[str, Any] = {}

    def keep(self, trace) -> None:
        self.traces[trace.info.trace_id] = trace


class SpanRecorder:
    """Runs calls under a span of their own and returns, with each reply, the spans a framework's
    autolog recorded under it (`recorded_spans`). Installed for the calls of one run only."""

    def __init__(self, exporter: RecordedTraces):
        self.exporter = exporter

    async def record(self, invoke: Callable[[], Awaitable[Generation]]) -> Generation:
        from mlflow.tracing.provider import detach_span_from_context, set_span_in_context

        call = mlflow.start_span_no_context("call", experiment_id="0")  # never written: no store lookup
        token = set_span_in_context(call)
        failed = True
        try:
            generation = await invoke()
            failed = False
        finally:
            detach_span_from_context(token)
            call.end(status="ERROR" if failed else "OK")
            finished = self.exporter.traces.pop(call.trace_id, None)
        if finished is None:
            return generation
        return replace(generation, spans=recorded_spans(finished.data.spans, call.span_id))

    def pipeline(self, pipeline: Pipeline) -> Pipeline:
        return RecordedPipeline(pipeline, self)


class RecordedPipeline:
    """A pipeline whose calls carry their framework's spans."""

    def __init__(self, pipeline: Pipeline, recorder: SpanRecorder):
        self.name = pipeline.name
        self.inner, self.recorder = pipeline, recorder

    def messages(self, conversation: Conversation) -> list[Message]:
        return self.inner.messages(conversation)

    async def respond(self, conversation: Conversation) -> Generation:
        return await self.recorder.record(lambda: self.inner.respond(conversation))


def recorded_spans(spans: Sequence, call_span_id: str) -> str:
    """The spans under the call's own span, as JSON: those it parented point to no parent."""
    out = []
    for span in spans:
        if span.span_id == call_span_id:
            continue
        attributes = span.attributes
        out.append(
            {
                "id": span.span_id,
                "parent": None if span.parent_id == call_span_id else span.parent_id,
                "name": span.name,
                "type": span.span_type,
                "start_ns": span.start_time_ns,
                "end_ns": span.end_time_ns,
                "inputs": attributes.get("mlflow.spanInputs"),
                "outputs": attributes.get("mlflow.spanOutputs"),
                "attributes": {k: v for k, v in attributes.items() if k not in OWN_ATTRIBUTES},
                "status": span.status.status_code.value if span.status else "OK",
                "status_message": span.status.description if span.status else "",
                "events": [{"name": e.name, "timestamp": e.timestamp, "attributes": e.attributes} for e in span.events],
            }
        )
    return json.dumps(out, default=str, ensure_ascii=False)


@contextmanager
def recording_spans(autologs: set[str]) -> Iterator[SpanRecorder | None]:
    """While open, this process's MLflow tracing goes to a `SpanRecorder` and the named frameworks'
    autolog is on (as it was before, afterwards). Yields None where the installed MLflow lays out
    its tracer provider differently: the calls are then traced without framework spans."""
    try:
        from mlflow.tracing.processor.mlflow_v3 import MlflowV3SpanProcessor
        from mlflow.tracing.provider import provider
        from mlflow.utils.autologging_utils import autologging_is_disabled, get_autologging_config
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        yield None
        return
    if not hasattr(provider, "_swap_raw"):
        yield None
        return
    exporter = RecordedTraces()
    recording = TracerProvider()
    recording.add_span_processor(MlflowV3SpanProcessor(exporter, export_metrics=False))
    already_on = {
        name for name in autologs if not autologging_is_disabled(name) and get_autologging_config(name, "log_traces")
    }
    switched_on = [name for name in sorted(autologs - already_on) if name in AUTOLOG]
    for name in switched_on:
        AUTOLOG[name]()
    # As `mlflow.tracing.provider.trace_disabled` does: swap the provider, keep it from re-initialising.
    initialised = provider.once._done
    previous = provider._swap_raw(recording)
    provider.once._done = True
    try:
        yield SpanRecorder(exporter)
    finally:
        provider._swap_raw(previous)
        provider.once._done = initialised
        for name in switched_on:
            getattr(mlflow, name).autolog(disable=True, silent=True)


def _rebuild(parent, spans_json: str) -> None:
    """A framework's recorded spans, rebuilt under `parent` (the call's span)."""
    from mlflow.entities import SpanEvent, SpanStatus

    spans = sorted(json.loads(spans_json), key=lambda s: s["start_ns"] or 0)
    built: dict[str, Any] = {}
    for recorded in spans:
        built[recorded["id"]] = mlflow.start_span_no_context(
            recorded["name"],
            span_type=recorded["type"] or "UNKNOWN",
            parent_span=built.get(recorded["parent"] or "", parent),
            inputs=recorded["inputs"],
            attributes=recorded["attributes"],
            start_time_ns=recorded["start_ns"],
        )
    for recorded in reversed(spans):
        span = built[recorded["id"]]
        for event in recorded["events"]:
            span.add_event(SpanEvent(event["name"], event["timestamp"], event["attributes"]))  # type: ignore[abstract]
        span.end(
            outputs=recorded["outputs"],
            status=SpanStatus(recorded["status"], recorded["status_message"] or ""),
            end_time_ns=recorded["end_ns"],
        )


class TraceWriter:
    """One trace per model call, with the exact messages sent and the reply, one child span per
    attempt when a call needed retries (failed attempts carry their error), and the spans the
    pipeline's framework recorded (DSPy's module, adapter and LM spans) under the call or the
    attempt that replied."""

    def __init__(self, uri: str, experiment_id: str):
        """Tracing is process-wide: this sets the process's tracking URI and takes over the
        writing of every trace the process finishes."""
        mlflow.set_tracking_uri(uri)
        self.experiment_id = experiment_id
        self.client = TracingClient(uri)
        self.held = hold_finished_traces() if _database_store(self.client.store) else None

    @property
    def batched(self) -> bool:
        return self.held is not None

    def add(self, record: CallRecord, run_id: str, assessments: list) -> str:
        """Build the trace for one call; it is written at the next `flush()`. Returns its id."""
        attempts = record.attempts
        root = mlflow.start_span_no_context(
            record.name,
            span_type="CHAT_MODEL",
            inputs={"messages": record.messages},
            tags=record.tags,
            metadata={"mlflow.sourceRun": run_id},
            experiment_id=self.experiment_id,
            start_time_ns=attempts[0].started_ns,
            attributes={"model": record.model, "cached": str(record.cached).lower()},
        )
        if len(attempts) > 1:
            for number, attempt in enumerate(attempts, start=1):
                child = mlflow.start_span_no_context(
                    f"attempt {number}", span_type="CHAT_MODEL", parent_span=root, start_time_ns=attempt.started_ns
                )
                if record.spans and number == len(attempts):  # the framework's spans of the attempt that replied
                    _rebuild(child, record.spans)
                child.end(
                    attributes={"error": attempt.error} if attempt.error else None,
                    status="ERROR" if attempt.error else "OK",
                    end_time_ns=attempt.ended_ns,
                )
        elif record.spans:
            _rebuild(root, record.spans)
        for judge_call in record.judge:
            self._judge_span(root, judge_call)
        if assessments:
            with InMemoryTraceManager.get_instance().get_trace(root.trace_id) as trace:
                trace.info.assessments.extend(assessments)
        reply = record.reply
        ended = max([attempts[-1].ended_ns, *(a.ended_ns for j in record.judge for a in j.attempts)])
        root.end(
            outputs={"choices": [{"message": {"role": "assistant", "content": reply}}]}
            if reply is not None
            else {"error": record.error},
            attributes={
                "attempts": len(attempts),
                "input_tokens": record.input_tokens or 0,
                "output_tokens": record.output_tokens or 0,
            },
            status="ERROR" if record.error else "OK",
            end_time_ns=ended,
        )
        return root.trace_id

    @staticmethod
    def _judge_span(root, judge_call: JudgeSpan) -> None:
        """A judge call inside the reply's trace: its rubric messages, its answer, its attempts."""
        attempts = judge_call.attempts
        started = attempts[0].started_ns if attempts else root.start_time_ns
        span = mlflow.start_span_no_context(
            judge_call.name,
            span_type="LLM",
            parent_span=root,
            inputs={"messages": judge_call.messages},
            start_time_ns=started,
            attributes={"cached": str(judge_call.cached).lower()},
        )
        span.end(
            outputs={"choices": [{"message": {"role": "assistant", "content": judge_call.reply}}]}
            if judge_call.reply is not None
            else {"error": judge_call.error},
            status="ERROR" if judge_call.error else "OK",
            end_time_ns=attempts[-1].ended_ns if attempts else started,
        )

    def flush(self) -> None:
        """Write the traces built since the last flush: each with its assessments, then all spans."""
        if self.held is None:
            return
        spans = defaultdict(list)
        for trace in self.held.take():
            add_size_stats_to_trace_metadata(trace)
            self.client.start_trace(trace.info)
            spans[trace.info.experiment_id].extend(trace.data.spans)
        for experiment_id, batch in spans.items():
            self.client.log_spans(experiment_id, batch)
