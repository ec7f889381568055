"""The `dspy` and `dspy-chat` pipelines (a DSPy program per system prompt; see `_dspy_program`).

Only the names are registered here; DSPy itself is imported when one of them is built, so runs
that use other pipelines never pay for importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.models.spec import Decoding, ModelSpec
from workbench.pipelines.base import pipeline

if TYPE_CHECKING:
    from workbench.pipelines._dspy_program import DspyPipeline


@pipeline("dspy", description="DSPy program (conversation, user_message -> reply); plain chat turns, raw completion")
def dspy_reply(model: ModelSpec, decoding: Decoding, timeout: float) -> DspyPipeline:
    from workbench.pipelines._dspy_program import DspyPipeline

    return DspyPipeline("dspy", model, decoding, timeout)


@pipeline("dspy-chat", description="The same DSPy program with DSPy's ChatAdapter field markers, for capable models")
def dspy_chat(model: ModelSpec, decoding: Decoding, timeout: float) -> DspyPipeline:
    from workbench.pipelines._dspy_program import DspyPipeline

    return DspyPipeline("dspy-chat", model, decoding, timeout)
