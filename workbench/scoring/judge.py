"""The LLM-judge back-end: versioned rubric prompts (`prompts/judges/judge-<construct>.yaml`)
asking one yes/no (or 0-2) question per construct item, with validated JSON answers.

- The conversation and reply go into the rubric as escaped JSON strings, so a reply cannot
  close its data block or pose as rubric text; the rubric says instructions inside are data.
- The answer must parse as JSON with exactly the rubric's items and allowed values; other keys
  (a "score": 10, say) are ignored. Unparseable output is retried once with the parse error,
  then recorded as a judge error for that construct, never scored.
- Any model spec can judge. Replies are cached like model replies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.retry import Backoff, classify
from workbench.scoring.base import ScoringInput
from workbench.scoring.items import Analysis, Finding, items_of

if TYPE_CHECKING:
    from workbench.cache import ResponseCache
    from workbench.models.spec import Decoding, ModelSpec
    from workbench.prompts import PromptLibrary, PromptVersion

ANSWERS = {"binary": {"yes": 1, "no": 0, "true": 1, "false": 0},
           "0-2": {"0": 0, "1": 1, "2": 2}}
JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
LANGCHAIN_ROLES = {"user": "human", "assistant": "ai", "system": "system"}


class JudgeOutputError(ValueError):
    """The judge's answer is not the JSON the rubric asks for."""


def rubric_name(construct: str) -> str:
    return f"judge-{construct.replace('_', '-')}"


def data_block(value: Any) -> str:
    """JSON-encode untrusted text; `<` and `>` are escaped so no tag can be closed from inside."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def judge_messages(rubric: "PromptVersion", item: ScoringInput) -> list[dict[str, str]]:
    conversation = [dict(turn) for turn in item.history] + [{"role": "user", "content": item.user_message}]
    return [{"role": "user", "content": rubric.render({"conversation": data_block(conversation),
                                                       "reply": data_block(item.reply)})}]


def parse_answer(text: str, construct: str) -> dict[str, Finding]:
    """Validate the judge's JSON: every item of the construct, each with an allowed answer."""
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
class Judge:
    """Asks `model` one rubric per construct. Thread-safe: one call per construct and reply."""

    model: "ModelSpec"
    decoding: "Decoding"
    rubrics: dict[str, "PromptVersion"]
    chat_model: Any
    cache: "ResponseCache | None" = None
    attempts: int = 3

    @classmethod
    def build(cls, model: "ModelSpec", decoding: "Decoding", library: "PromptLibrary", constructs: tuple[str, ...],
              *, cache: "ResponseCache | None" = None, timeout: float = 120) -> "Judge":
        from workbench.models.providers import build_chat_model

        rubrics = {c: library.resolve(rubric_name(c), kind="judge", where="judge rubric") for c in constructs}
        return cls(model, decoding, rubrics, build_chat_model(model, decoding, timeout=timeout), cache)

    def analyse(self, item: ScoringInput, constructs: tuple[str, ...]) -> Analysis:
        analysis = Analysis(backend=f"judge:{self.model.name}")
        for construct in constructs:
            try:
                analysis.findings.update(self._judge(construct, item))
            except JudgeOutputError as exc:
                analysis.errors[construct] = f"judge output unusable after a retry: {exc}"
            except Exception as exc:  # the judge model failed after retries
                analysis.errors[construct] = f"judge call failed: {classify(exc).reason}"[:500]
        return analysis

    def _judge(self, construct: str, item: ScoringInput) -> dict[str, Finding]:
        messages = judge_messages(self.rubrics[construct], item)
        text = self._call(messages)
        try:
            return parse_answer(text, construct)
        except JudgeOutputError as first:
            messages = [*messages, {"role": "assistant", "content": text}, {"role": "user", "content": (
                f"That answer could not be used ({first}). Reply again with only the JSON object, with exactly "
                f"these keys: {', '.join(i.name for i in items_of(construct))}.")}]
            return parse_answer(self._call(messages), construct)

    def _call(self, messages: list[dict[str, str]]) -> str:
        import time

        from workbench.cache import CachedReply, cache_key

        key = cache_key({**self.model.identity(), "role": "judge"}, self.decoding.model_dump(), messages, 0)
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return hit.reply
        backoff = Backoff(1.0, 30.0)
        for attempt in range(1, self.attempts + 1):
            started = time.perf_counter()
            try:
                reply = self.chat_model.invoke([(LANGCHAIN_ROLES[m["role"]], m["content"]) for m in messages])
            except Exception as exc:
                failure = classify(exc)
                if not failure.transient or attempt == self.attempts:
                    raise
                time.sleep(backoff.delay(attempt, failure))
                continue
            text = str(reply.content)
            if self.cache is not None:
                usage = getattr(reply, "usage_metadata", None) or {}
                self.cache.put(key, CachedReply(text, usage.get("input_tokens"), usage.get("output_tokens"),
                                                time.perf_counter() - started))
            return text
        raise RuntimeError("unreachable")
