"""Where scoring is applied: each reply is read by the back-ends its scorers are routed to, then
every scorer runs over the analysis it asked for.

Back-ends: `learned` (the default; per-item classifiers over sentence embeddings and patterns, a
pinned scorer version), `fast` (patterns and lexicons only, ten times faster) and `judge` (an LLM
answering the same items from versioned rubrics). `offline` is the old name of the default.

Offline scoring is synchronous. With a judge, `ascore` awaits the judge's calls on the call
engine's loop; `score` is the same for callers outside that loop (the CLI, notebooks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from workbench.calls.engine import CallEngine
from workbench.calls.loop import run_sync
from workbench.models.spec import Decoding, ModelSpec
from workbench.prompts import PromptLibrary
from workbench.scoring import offline
from workbench.scoring.base import Score, ScoringInput
from workbench.scoring.injection import Screening, mark_suspect, screen
from workbench.scoring.items import Analysis
from workbench.scoring.judge import Judge, JudgeCall
from workbench.scoring.registry import Scorer
from workbench.scoring.risk import InferredRisk, infer_expectations

BACKENDS = ("learned", "fast", "judge")
ALIASES = {"offline": "learned"}
DEFAULT_BACKEND = "learned"
DEFAULT_JUDGE_DECODING = Decoding(temperature=0, max_tokens=600)


def backend_name(name: str) -> str:
    return ALIASES.get(name, name)


def judged_constructs(scorers: Sequence[Scorer], backends: dict[str, str]) -> tuple[str, ...]:
    """The constructs the judge must read: those of every scorer routed to the judge back-end."""
    return tuple(dict.fromkeys(c for s in scorers if backends.get(s.name) == "judge" for c in s.constructs))


@dataclass
class Scored:
    """A reply's scores, and the judge calls made to get them (traced with the reply's call)."""

    scores: dict[str, Score]
    judge_calls: list[JudgeCall] = field(default_factory=list)


class ScoringEngine:
    def __init__(
        self,
        scorers: Sequence[Scorer],
        backends: dict[str, str] | None = None,
        judge: Judge | None = None,
        learned=None,
    ):
        """`learned` is a `LearnedBackend`; it is needed when any scorer uses the learned back-end."""
        self.scorers = list(scorers)
        chosen = {name: backend_name(value) for name, value in (backends or {}).items()}
        self.backends = {s.name: chosen.get(s.name, DEFAULT_BACKEND) for s in self.scorers}
        self.judge = judge
        self.learned = learned
        self.judged_constructs = judged_constructs(self.scorers, self.backends) if judge is not None else ()
        if "learned" in self.backends.values() and learned is None:
            raise ValueError("a scorer uses the learned back-end: give the engine a LearnedBackend")

    @property
    def version(self) -> str | None:
        return self.learned.version.name if self.learned is not None else None

    def infer(self, item: ScoringInput) -> InferredRisk:
        """Risk level and expectations read from the user's side: by the learned version's
        classifiers when there is one, else by the lexicon."""
        if self.learned is not None:
            reading = self.learned.infer(item)
            lexicon = infer_expectations(list(item.user_texts))
            expectations = {name: p >= 0.5 for name, p in reading.expectations.items()}
            shown = ", ".join(
                f"{level} {p:.2f}" for level, p in zip(("none", "low", "high", "imminent"), reading.risk, strict=True)
            )
            return InferredRisk(
                reading.risk_level, expectations, f"risk {reading.risk_level} ({shown}); lexicon {lexicon.evidence}"
            )
        return infer_expectations(list(item.user_texts))

    def score(self, item: ScoringInput) -> dict[str, Score]:
        """Scores for one reply; must not be called from the call engine's loop when judging."""
        if self.judged_constructs:
            return run_sync(self.ascore(item)).scores
        return self._apply(self._local(item), None, item)

    def score_many(self, items: Sequence[ScoringInput]) -> list[dict[str, Score]]:
        """Scores for many replies without a judge, read in one batch by the learned back-end."""
        if self.judged_constructs:
            raise ValueError("score_many is for offline back-ends; use ascore with a judge")
        wanted = set(self.backends.values())
        learned = self.learned.analyse_many(list(items)) if "learned" in wanted and self.learned else None
        out = []
        for index, item in enumerate(items):
            local: dict[str, Analysis] = {}
            if learned is not None:
                local["learned"] = learned[index]
            if "fast" in wanted or not local:
                local["fast"] = offline.analyse(item)
            out.append(self._apply(local, None, item))
        return out

    async def ascore(self, item: ScoringInput) -> Scored:
        """Scores for one reply; judged scores are screened for injection (`scoring.injection`)."""
        judging = bool(self.judged_constructs) and self.judge is not None
        local = self._local(item, fast=judging)
        if not judging or self.judge is None:
            return Scored(self._apply(local, None, item))
        judged, (says, evidence, screen_calls) = await asyncio.gather(
            self.judge.analyse(item, self.judged_constructs), self.judge.addresses_evaluator(item)
        )
        judged.words = local["fast"].words
        # The cross-check needs crisp answers: the patterns' "no resource of any kind in the text".
        screening = screen(item.reply, local["fast"], judged, says, evidence)
        return Scored(self._apply(local, judged, item, screening), [*judged.calls, *screen_calls])

    def _local(self, item: ScoringInput, fast: bool = False) -> dict[str, Analysis]:
        wanted = set(self.backends.values())
        analyses: dict[str, Analysis] = {}
        if "learned" in wanted and self.learned is not None:
            analyses["learned"] = self.learned.analyse(item)
        if fast or "fast" in wanted or not analyses:  # a judged reply still needs its word count
            analyses["fast"] = offline.analyse(item)
        return analyses

    def _apply(
        self,
        local: dict[str, Analysis],
        judged: Analysis | None,
        item: ScoringInput,
        screening: Screening | None = None,
    ) -> dict[str, Score]:
        scores = {}
        fallback = next(iter(local.values()))
        for scorer in self.scorers:
            backend = self.backends[scorer.name]
            by_judge = judged is not None and backend == "judge"
            analysis = judged if by_judge and judged is not None else local.get(backend, fallback)
            try:
                scores[scorer.name] = scorer(analysis, item)
            except Exception as exc:  # a scorer bug must not lose the run's other results
                scores[scorer.name] = Score(scorer.name, None, f"error: {type(exc).__name__}: {exc}", status="error")
            if by_judge and screening is not None:
                scores[scorer.name] = mark_suspect(scores[scorer.name], scorer.constructs, screening)
        return scores


def build_engine(
    scorers: Sequence[Scorer],
    backends: dict[str, str],
    *,
    judge_model: ModelSpec | None = None,
    judge_decoding: Decoding | None = None,
    library: PromptLibrary | None = None,
    calls: CallEngine | None = None,
    judge_concurrency: int = 4,
    timeout: float = 120,
    scorer_version: str | None = None,
    root: Path | None = None,
) -> ScoringEngine:
    """A scoring engine; loads the learned version and builds the judge only if some scorer needs them."""
    chosen = {name: backend_name(value) for name, value in backends.items()}
    judged = judged_constructs(scorers, chosen)
    judge = None
    if judged:
        if judge_model is None or library is None:
            raise ValueError("a scorer is routed to the judge: give judge_model and library")
        judge = Judge.build(
            judge_model,
            judge_decoding or DEFAULT_JUDGE_DECODING,
            library,
            judged,
            calls=calls or CallEngine(timeout_s=timeout),
            concurrency=judge_concurrency,
            timeout=timeout,
        )
    learned = None
    if any(chosen.get(s.name, DEFAULT_BACKEND) == "learned" for s in scorers):
        from workbench.scoring.learned.backend import LearnedBackend  # needs the embedding table: only when used
        from workbench.scoring.learned.versions import DEFAULT_VERSION, load_version

        learned = LearnedBackend(load_version(scorer_version or DEFAULT_VERSION, root))
    return ScoringEngine(scorers, chosen, judge, learned)
