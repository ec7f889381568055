"""Scoring replies the workbench did not generate: one (conversation, reply, expectations)
triple from Python, or a whole CSV/JSONL file from the CLI.

Expectations are optional; what is missing is inferred from the user's messages by the risk
detector (`workbench.scoring.risk`). A row that cannot be scored is kept with its reason.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from workbench import limits
from workbench.calls.loop import run_sync
from workbench.errors import InputError, Problem, display_path
from workbench.scenarios import EXPECTATION_NAMES, RISK_LEVELS
from workbench.scoring.base import Score, ScoringInput
from workbench.scoring.engine import ScoringEngine, build_engine
from workbench.scoring.registry import get_scorers
from workbench.scoring.risk import InferredRisk, infer_expectations

BATCH = 128  # replies read together by the learned back-end
TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"0", "false", "no", "n", "f", ""}


def transcript_input(
    reply: str,
    *,
    user_message: str | None = None,
    conversation: Sequence[Mapping[str, str]] | None = None,
    expectations: Mapping[str, bool] | None = None,
    risk_level: str | None = None,
    locale: str = "US",
    infer: Callable[[ScoringInput], InferredRisk] | None = None,
) -> tuple[ScoringInput, str]:
    """Build the scorers' input; returns it with a note on what was inferred. Missing labels come
    from `infer` (a scoring engine's reading of the user's side; the lexicon by default)."""
    if conversation:
        turns = [{"role": str(t["role"]), "content": str(t["content"])} for t in conversation]
        if turns[-1]["role"] != "user":
            raise ValueError("the conversation must end with the user turn the reply answers")
        user_message, history = turns[-1]["content"], tuple(turns[:-1])
    elif user_message is not None:
        history = ()
    else:
        raise ValueError("give user_message or conversation")
    given = dict(expectations or {})
    note = ""
    if risk_level is None or set(EXPECTATION_NAMES) - set(given):
        bare = ScoringInput(reply=reply or "", user_message=user_message, history=history, locale=locale)
        inferred = infer(bare) if infer is not None else infer_expectations(list(bare.user_texts))
        risk_level = risk_level or inferred.risk_level
        given = {**inferred.expectations, **given}
        note = f"inferred: {inferred.evidence}"
    return ScoringInput(
        reply=reply or "",
        user_message=user_message,
        history=history,
        expectations=given,
        risk_level=risk_level,
        locale=locale,
    ), note


def score_reply(
    reply: str,
    *,
    user_message: str | None = None,
    conversation: Sequence[Mapping[str, str]] | None = None,
    expectations: Mapping[str, bool] | None = None,
    risk_level: str | None = None,
    locale: str = "US",
    scorers: list[str] | None = None,
    engine: ScoringEngine | None = None,
) -> dict[str, Score]:
    """Score one reply from anywhere.

    >>> scores = score_reply("I'm an AI, not a therapist. Please call or text 988 now.",
    ...                      user_message="I want to end it tonight")
    >>> scores["crisis_escalation"].value, scores["crisis_escalation"].evidence

    `conversation` is a list of {"role", "content"} turns ending with the user's message. Missing
    expectations (must_escalate, must_disclaim, ...) and the risk level are inferred from the
    user's messages by the scorer version's classifiers.
    """
    engine = engine or build_engine(get_scorers(scorers), {})
    item, _ = transcript_input(
        reply,
        user_message=user_message,
        conversation=conversation,
        expectations=expectations,
        risk_level=risk_level,
        locale=locale,
        infer=engine.infer,
    )
    return engine.score(item)


@dataclass
class Columns:
    """Input column names (CLI options can rename them)."""

    user_message: str = "user_message"
    conversation: str = "conversation"
    reply: str = "reply"
    risk_level: str = "risk_level"
    expectations: dict[str, str] = field(default_factory=lambda: {n: n for n in EXPECTATION_NAMES})


def read_table(path: Path) -> pd.DataFrame:
    if path.is_dir():
        raise InputError.single(
            "this is a folder, not a file", file=path, field="FILE", fix="give a .csv or .jsonl file"
        )
    if not path.is_file():
        raise InputError.single("file not found", file=path, field="FILE", fix="check the path")
    if (size := path.stat().st_size) > limits.SCORE_FILE_BYTES:
        raise InputError.single(
            f"the file is {limits.size_text(size)}; at most {limits.size_text(limits.SCORE_FILE_BYTES)} can be scored",
            file=path,
            field="FILE",
            fix="split it into smaller files and score each",
        )
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            frame = pd.read_json(path, lines=path.suffix.lower() != ".json", dtype=False)
        elif path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            raise InputError.single(
                f"unsupported file type '{path.suffix}'", file=path, field="FILE", fix="give a .csv or .jsonl file"
            )
    except ValueError as exc:
        raise InputError.single(
            f"cannot read the file: {str(exc)[:300]}",
            file=path,
            field="FILE",
            fix="give a UTF-8 CSV with a header row, or JSONL with one JSON object per line",
        ) from None
    if frame.empty:
        raise InputError.single(
            "the file has no rows to score" + (" (only a header)" if len(frame.columns) else ""),
            file=path,
            field="FILE",
            fix="add one row per reply under the header (user_message or conversation, and reply)",
        )
    return frame


def check_values(frame: pd.DataFrame, columns: Columns, path: Path, *, shown: int = 5) -> None:
    """Values the scorers cannot take, refused before scoring: a risk level outside none, low,
    high, imminent, or an expectation that is not true or false. Rows are numbered as in the
    file (the header is line 1)."""
    problems: list[Problem] = []

    def bad_rows(column: str, ok) -> None:
        if column not in frame.columns:
            return
        wrong = [(position, v) for position, v in enumerate(frame[column].tolist()) if not ok(v)]
        if wrong:
            examples = ", ".join(f"row {position + 2}: {v!r}"[:60] for position, v in wrong[:shown])
            more = f" and {len(wrong) - shown} more" if len(wrong) > shown else ""
            problems.append(
                Problem(
                    f"{len(wrong)} value(s) the scorers cannot use ({examples}{more})",
                    display_path(path),
                    column,
                    None,
                    f"use {', '.join(RISK_LEVELS)} or leave it empty (then it is inferred)"
                    if column == columns.risk_level
                    else "use true or false (yes/no, 1/0), or leave it empty (then it is inferred)",
                )
            )

    def blank(value) -> bool:
        return value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == ""

    bad_rows(columns.risk_level, lambda v: blank(v) or str(v).strip().lower() in RISK_LEVELS)
    for column in columns.expectations.values():
        bad_rows(column, lambda v: blank(v) or isinstance(v, bool) or str(v).strip().lower() in TRUE | FALSE)
    if problems:
        raise InputError(problems)


def check_columns(frame: pd.DataFrame, columns: Columns, path: Path) -> None:
    if columns.reply not in frame.columns:
        raise InputError.single(
            f"no '{columns.reply}' column",
            file=path,
            field=columns.reply,
            fix=f"name the reply column with --reply-col (columns: {', '.join(map(str, frame.columns))})",
        )
    if columns.user_message not in frame.columns and columns.conversation not in frame.columns:
        raise InputError.single(
            f"neither a '{columns.user_message}' nor a '{columns.conversation}' column",
            file=path,
            field=f"{columns.user_message}/{columns.conversation}",
            fix="name them with --user-col or --conversation-col (a JSON list of {role, content} turns); "
            f"the file's columns: {', '.join(map(str, frame.columns))}",
        )


def row_input(
    row: Mapping, columns: Columns, locale: str, infer: Callable[[ScoringInput], InferredRisk] | None = None
) -> tuple[ScoringInput, str]:
    conversation = row.get(columns.conversation)
    if isinstance(conversation, str) and conversation.strip():
        try:
            conversation = json.loads(conversation)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{columns.conversation} is not valid JSON ({exc.msg})") from None
    elif not isinstance(conversation, list):
        conversation = None
    expectations = {}
    for name, column in columns.expectations.items():
        value = row.get(column)
        if value is None or (isinstance(value, float) and pd.isna(value)):
            continue
        text = str(value).strip().lower()
        if text in TRUE or value is True:
            expectations[name] = True
        elif text in FALSE or value is False:
            if text:
                expectations[name] = False
        else:
            raise ValueError(f"{column} must be true or false, got {value!r}")
    risk = row.get(columns.risk_level)
    risk = str(risk).strip().lower() if isinstance(risk, str) and risk.strip() else None
    reply = row.get(columns.reply)
    if reply is None or (isinstance(reply, float) and pd.isna(reply)):
        raise ValueError(f"no {columns.reply}")
    user = row.get(columns.user_message)
    return transcript_input(
        str(reply),
        user_message=str(user) if user is not None and not conversation else None,
        conversation=conversation,
        expectations=expectations,
        risk_level=risk,
        locale=locale,
        infer=infer,
    )


def score_frame(
    frame: pd.DataFrame,
    engine: ScoringEngine,
    columns: Columns,
    *,
    locale: str = "US",
    progress: Callable[[], None] = lambda: None,
) -> pd.DataFrame:
    """The input rows plus, per score, its value, evidence and status; `score_error` says why a
    row could not be scored (such rows are kept). With a judge, rows are judged concurrently
    within the judge's limit on the call engine."""
    records = frame.to_dict("records")
    inputs: list[tuple[ScoringInput | None, dict]] = []
    for record in records:
        out: dict = {"score_error": None, "expectations_source": "given"}
        try:
            item, note = row_input(record, columns, locale, engine.infer)
        except (ValueError, KeyError, TypeError) as exc:
            out["score_error"] = str(exc)
            inputs.append((None, out))
            continue
        out["risk_level_used"] = item.risk_level
        out.update({f"expected_{k}": v for k, v in item.expectations.items()})
        if note:
            out["expectations_source"] = note
        inputs.append((item, out))

    def add_scores(out: dict, scores: dict[str, Score]) -> None:
        for name, score in scores.items():
            out[name], out[f"{name}_evidence"], out[f"{name}_status"] = score.value, score.evidence, score.status
            for part, value in score.items.items():
                out[f"{name}__{part}"] = value
        progress()

    if engine.judged_constructs:

        async def judge_all() -> None:
            async def one(item: ScoringInput, out: dict) -> None:
                add_scores(out, (await engine.ascore(item)).scores)

            await asyncio.gather(*(one(item, out) for item, out in inputs if item is not None))

        run_sync(judge_all())
    else:
        ready = [(given, out) for given, out in inputs if given is not None]
        for start in range(0, len(ready), BATCH):
            chunk = ready[start : start + BATCH]
            for (_, out), scores in zip(chunk, engine.score_many([given for given, _ in chunk]), strict=True):
                add_scores(out, scores)
    for given, _ in inputs:
        if given is None:
            progress()
    return pd.concat([frame.reset_index(drop=True), pd.DataFrame([out for _, out in inputs])], axis=1)
