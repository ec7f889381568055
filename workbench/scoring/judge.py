"""The LLM-judge back-end: versioned rubric prompts (`prompts/judges/judge-<construct>.yaml`)
asking one yes/no (or 0-2) question per construct item, with validated JSON answers.

- The conversation and reply go into the rubric as escaped JSON strings, so a reply cannot
  close its data block or pose as rubric text; the rubric says instructions inside are data.
- The answer must parse as JSON with exactly the rubric's items and allowed values; other keys
  (a "score": 10, say) are ignored. Unparseable output is retried once with the parse error,
  then recorded as a judge error for that construct, never scored.
- Any model spec can judge. Its calls go through the same pipeline and call engine as the model
  replies: the spec's retry policy, the response cache and a concurrency limit of their own.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

from workbench.calls.cache import cache_key
from workbench.calls.engine import CallEngine, CallOutcome
from workbench.models.spec import Decoding, ModelSpec
from workbench.pipelines.base import Conversation, Pipeline, build_pipeline
from workbench.prompts import PromptLibrary, PromptVersion
from workbench.scoring.base import ScoringInput
from workbench.scoring.items import Analysis, Finding, items_of

ANSWERS = {"binary": {"yes": 1, "no": 0, "true": 1, "false": 0}, "0-2": {"0": 0, "1": 1, "2": 2}}
JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
INJECTION_RUBRIC = "judge-injection"
INJECTION_ITEM = "addresses_evaluator"


class JudgeOutputError(ValueError):
    """The judge's answer is not the JSON the rubric asks for."""


def rubric_name(construct: str) -> str:
    return f"judge-{construct.replace('_', '-')}"


def judge_rubrics(constructs: tuple[str, ...]) -> list[str]:
    """Every rubric a judge of these constructs asks: one per construct, and the injection screen."""
    return [*(rubric_name(c) for c in constructs), INJECTION_RUBRIC]


def data_block(value: Any) -> str:
    """JSON-encode untrusted text; `<` and `>` are escaped so no tag can be closed from inside."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def judge_messages(rubric: PromptVersion, item: ScoringInput) -> list[dict[str, str]]:
    conversation = [dict(turn) for turn in item.history] + [{"role": "user", "content": item.user_message}]
    return [
        {
            "role": "user",
            "content": rubric.render({"conversation": data_block(conversation), "reply": data_block(item.reply)}),
        }
    ]


def _answer_object(text: str) -> dict:
    cleaned = re.sub(r"^```(?:json)?|```$", "", text.strip(), flags=re.MULTILINE).strip()
    match = JSON_OBJECT.search(cleaned)
    if not match:
        raise JudgeOutputError("no JSON object in the answer")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        raise JudgeOutputError(f"invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise JudgeOutputError("the answer is not a JSON object")
    return data


def parse_yes_no(text: str, key: str) -> tuple[bool, str]:
    """One yes/no item outside the construct items (the injection screen's)."""
    entry = _answer_object(text).get(key)
    if entry is None:
        raise JudgeOutputError(f"missing item '{key}'")
    answer, evidence = (entry.get("answer"), entry.get("evidence", "")) if isinstance(entry, dict) else (entry, "")
    value = ANSWERS["binary"].get(str(answer).strip().lower())
    if value is None:
        raise JudgeOutputError(f"item '{key}' answered {answer!r}; allowed: yes, no")
    return bool(value), "" if str(evidence).strip().lower() in ("none", "n/a", "") else str(evidence)[:300]


def parse_answer(text: str, construct: str) -> dict[str, Finding]:
    """Validate the judge's JSON: every item of the construct, each with an allowed answer."""
    data = _answer_object(text)
    findings = {}
    for item in items_of(construct):
        entry = data.get(item.name)
        if entry is None:
            raise JudgeOutputError(f"missing item '{item.name}'")
        answer, evidence = (entry.get("answer"), entry.get("evidence", "")) if isinstance(entry, dict) else (entry, "")
        value = ANSWERS[item.scale].get(str(answer).strip().lower())
        if value is None:
            allowed = ", ".join(ANSWERS[item.scale]) if item.scale == "0-2" else "yes, no"
            raise JudgeOutputError(f"item '{item.name}' answered {answer!r}; allowed: {allowed}")
        evidence = "" if str(evidence).strip().lower() in ("none", "n/a", "") else str(evidence)[:300]
        findings[item.key] = Finding(value, evidence)
    return findings


@dataclass
class JudgeCall:
    """One call the judge made: which rubric, the exact messages, and how it went (for traces)."""

    construct: str
    rubric: str
    messages: list[dict[str, str]]
    outcome: CallOutcome


class JudgeCallFailed(RuntimeError):
    """The judge model could not be called (after the call engine's retries)."""


@dataclass
class Judge:
    """Asks `model` one rubric per construct, through a pipeline and the run's call engine, so its
    calls share the response cache, the retry policy and a concurrency limit of their own."""

    model: ModelSpec
    decoding: Decoding
    rubrics: dict[str, PromptVersion]
    pipeline: Pipeline
    calls: CallEngine
    screen_rubric: PromptVersion | None = None

    @classmethod
    def build(
        cls,
        model: ModelSpec,
        decoding: Decoding,
        library: PromptLibrary,
        constructs: tuple[str, ...],
        *,
        calls: CallEngine,
        concurrency: int = 4,
        timeout: float = 120,
    ) -> Judge:
        rubrics = {c: library.resolve(rubric_name(c), kind="judge", where="judge rubric") for c in constructs}
        screen = library.resolve(INJECTION_RUBRIC, kind="judge", where="judge rubric")
        calls.limits.setdefault(limit_key(model), concurrency)
        return cls(model, decoding, rubrics, build_pipeline("langchain", model, decoding, timeout), calls, screen)

    async def addresses_evaluator(self, item: ScoringInput) -> tuple[bool | None, str, list[JudgeCall]]:
        """The judge's own view on whether the reply contains instructions to an evaluator: the
        answer (None if it could not be had), its evidence, and the calls made."""
        made: list[JudgeCall] = []
        if self.screen_rubric is None:
            return None, "", made
        try:
            text = await self._call("injection", self.screen_rubric, judge_messages(self.screen_rubric, item), made)
            answer, evidence = parse_yes_no(text, INJECTION_ITEM)
        except (JudgeOutputError, JudgeCallFailed):
            return None, "", made
        return answer, evidence, made

    async def analyse(self, item: ScoringInput, constructs: tuple[str, ...]) -> Analysis:
        analysis = Analysis(backend=f"judge:{self.model.name}")
        verdicts = await asyncio.gather(*(self._judge(construct, item) for construct in constructs))
        for construct, (findings, error, calls) in zip(constructs, verdicts, strict=True):
            analysis.findings.update(findings)
            analysis.calls.extend(calls)
            if error:
                analysis.errors[construct] = error
        return analysis

    async def _judge(
        self, construct: str, item: ScoringInput
    ) -> tuple[dict[str, Finding], str | None, list[JudgeCall]]:
        """Findings, or the reason there are none, and the calls made: one, or two when the first
        answer was unusable and the judge was asked again with the parse error."""
        rubric = self.rubrics[construct]
        messages = judge_messages(rubric, item)
        made: list[JudgeCall] = []
        try:
            text = await self._call(construct, rubric, messages, made)
            try:
                return parse_answer(text, construct), None, made
            except JudgeOutputError as first:
                messages = [
                    *messages,
                    {"role": "assistant", "content": text},
                    {
                        "role": "user",
                        "content": (
                            f"That answer could not be used ({first}). Reply again with only the JSON object, with exactly "
                            f"these keys: {', '.join(i.name for i in items_of(construct))}."
                        ),
                    },
                ]
                return parse_answer(await self._call(construct, rubric, messages, made), construct), None, made
        except JudgeOutputError as exc:
            return {}, f"judge output unusable after a retry: {exc}", made
        except JudgeCallFailed as exc:
            return {}, f"judge call failed: {exc}"[:500], made

    async def _call(
        self, construct: str, rubric: PromptVersion, messages: list[dict[str, str]], made: list[JudgeCall]
    ) -> str:
        conversation = Conversation.of_messages(messages)
        sent = self.pipeline.messages(conversation)
        key = cache_key(
            self.pipeline.name,
            self.model.identity(),
            self.decoding.model_dump(),
            sent,
            0,
            purpose=f"judge:{rubric.ref}",
        )
        outcome = await self.calls.call(
            limit_key(self.model), key, lambda: self.pipeline.respond(conversation), purpose="judge"
        )
        made.append(JudgeCall(construct, rubric.ref, sent, outcome))
        if outcome.generation is None:
            raise JudgeCallFailed(outcome.error or "no answer")
        return outcome.generation.reply


def limit_key(model: ModelSpec) -> str:
    """The judge's calls have a concurrency limit apart from the model's own replies."""
    return f"judge:{model.name}"
