"""Model calls as MLflow traces, written a batch at a time, each trace created together with
its scores as assessments.

MLflow builds the traces (`start_span_no_context`), so they carry everything its tracing
records; only the writing differs. MLflow's exporter writes each trace as it ends: its spans in
one transaction, then the trace info merged into the row those spans created, then one more
transaction per assessment. On the SQLite store that is about 40 ms per scored call, longer
than a fast endpoint takes to answer. Held here instead, a batch is written as one
`start_trace` per trace (its assessments included) and a single `log_spans` for every span of
the batch: about 7 ms per call (`benchmarks/runner_overhead.py`).

This is the only module that touches MLflow internals: `mlflow.tracing.provider._get_span_processor`
and `_get_tracer`, the span processor's `span_exporter`, and `InMemoryTraceManager`. It is tested
with MLflow 3.5 to 3.17 (`TESTED_MLFLOW`). Where those names are missing, or the store is not a
database, MLflow writes each trace itself; both paths are tested (`tests/integration/test_traces.py`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import mlflow
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from mlflow.tracing.client import TracingClient
from mlflow.tracing.trace_manager import InMemoryTraceManager
from mlflow.tracing.utils import add_size_stats_to_trace_metadata
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from workbench.tracking.protocol import CallRecord, JudgeSpan

TESTED_MLFLOW = (">=3.5", "<=3.17")


class HeldTraces(SpanExporter):
    """Takes MLflow's finished traces out of its in-memory trace manager instead of writing them."""

    def __init__(self) -> None:
        self.traces: list = []

    def export(self, spans: Sequence) -> SpanExportResult:
        manager = InMemoryTraceManager.get_instance()
        for span in spans:
            if span.parent is None:
                finished = manager.pop_trace(span.context.trace_id)
                if finished is not None:
                    self.traces.append(finished.trace)
        return SpanExportResult.SUCCESS

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


class TraceWriter:
    """One trace per model call, with the exact messages sent and the reply, and one child span
    per attempt when a call needed retries (failed attempts carry their error)."""

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
                child.end(
                    attributes={"error": attempt.error} if attempt.error else None,
                    status="ERROR" if attempt.error else "OK",
                    end_time_ns=attempt.ended_ns,
                )
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
