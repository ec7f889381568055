"""The messages between a run and its MLflow worker process, and how they are framed.

Commands go from the run to the worker in this order: one `Start`, then `Calls` (finished model
calls to trace) and `GroupDone` (a finished run group) as they happen, then `AllRows` and
`Finish`. The worker answers with `Started`, `WorkerWarning` and `InputProblems` as they arise, and one
`Done` at the end. Messages are pickled, each frame prefixed with its length.
"""

from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass, field
from typing import IO, Any

from workbench.errors import Problem
from workbench.prompts.library import PromptFamily

HEADER = struct.Struct("!I")

Row = dict[str, Any]
"""One response as a row of the per-response table (see `workbench.response_table`)."""


@dataclass(frozen=True)
class SpanAttempt:
    started_ns: int
    ended_ns: int
    error: str | None = None


@dataclass(frozen=True)
class JudgeSpan:
    """One call the judge made while scoring the reply, shown inside the reply's trace."""

    name: str
    messages: list[dict[str, str]]
    reply: str | None
    error: str | None
    attempts: list[SpanAttempt]
    cached: bool


@dataclass(frozen=True)
class CallRecord:
    """What the worker needs to trace one model call."""

    index: int
    group: str
    name: str
    messages: list[dict[str, str]]
    reply: str | None
    error: str | None
    attempts: list[SpanAttempt]
    input_tokens: int | None
    output_tokens: int | None
    model: str
    tags: dict[str, str]
    judge: list[JudgeSpan] = field(default_factory=list)
    cache_key: str | None = None
    cached: bool = False
    """A reply from the cache: traced only if no earlier run traced it in this experiment."""
    spans: str | None = None
    """The spans the pipeline's framework recorded during the call (DSPy autolog), as JSON
    (`traces.recorded_spans`): they become children of the call's span."""


@dataclass(frozen=True)
class ParentRun:
    name: str
    params: dict[str, str]
    tags: dict[str, str]
    note: str
    descriptions: dict[str, str]
    spec_file: str
    spec_text: str


@dataclass(frozen=True)
class GroupRun:
    """One child run: a (system prompt, user strategy, model, pipeline) group."""

    key: str
    name: str
    params: dict[str, str]
    tags: dict[str, str]
    note: str
    prompts: list[tuple[str, int]]


@dataclass(frozen=True)
class ScorerBackend:
    name: str
    backend: str


# -- commands -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Start:
    uri: str
    experiment: str
    traces: bool
    assessments: bool
    scorers: list[ScorerBackend]
    parent: ParentRun
    groups: list[GroupRun]
    families: list[PromptFamily]
    owner: RunOwner
    validity: dict[str, dict] = field(default_factory=dict)  # scorer -> its measured agreement
    ledger: str | None = None
    """The response cache, whose ledger says what is already traced (None with --no-cache)."""
    lock: str | None = None
    """A file to lock while the store, experiment and prompts are set up (two runs may start at once)."""


@dataclass(frozen=True)
class RunOwner:
    """The process a run belongs to: a RUNNING run whose process is gone was killed."""

    host: str
    pid: int


@dataclass(frozen=True)
class Calls:
    calls: list[CallRecord]
    rows: list[Row]

    def merged(self, other: Calls) -> Calls:
        return Calls(self.calls + other.calls, self.rows + other.rows)


@dataclass(frozen=True)
class GroupDone:
    key: str
    rows: list[Row]


@dataclass(frozen=True)
class AllRows:
    """Rows of groups that never finished (an interrupted run) and calls not yet traced."""

    rows: list[Row]
    calls: list[CallRecord]


@dataclass(frozen=True)
class Finish:
    status: str
    metrics: dict[str, float]
    summary: list[Row]
    errors: list[Row] = field(default_factory=list)
    """One row per class of error: its count and an example message."""
    identity: str | None = None
    """What the run logged (`ledger.run_identity`), recorded once logged so an identical re-run logs nothing."""


Command = Start | Calls | GroupDone | AllRows | Finish


# -- answers --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Started:
    parent_run_id: str | None


@dataclass(frozen=True)
class WorkerWarning:
    text: str


@dataclass(frozen=True)
class InputProblems:
    """Input errors found by the worker (a prompt registered with different text)."""

    problems: list[Problem]


@dataclass(frozen=True)
class Done:
    parent_run_id: str | None
    child_run_ids: dict[str, str]
    trace_ids: dict[int, str]


@dataclass(frozen=True)
class Gone:
    """The worker's output ended without `Done` (it died)."""


Answer = Started | WorkerWarning | InputProblems | Done | Gone


def write_frame(stream: IO[bytes], message: Command | Answer | None) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    size = HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)
