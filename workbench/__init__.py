"""Alliance Workbench: prompt-engineering experiments on mental-health chatbots, scored for
empathy and accountability, tracked in MLflow.

Stages, each in its own place: `plan` (spec -> cells), `responses` (cells -> replies, through a
`pipelines` pipeline on the `calls` engine), `scoring` (replies -> scores with evidence),
`tracking` (everything to MLflow); `runner.run_experiment` drives them for the CLI, notebooks
and tests alike. Extension points: `@pipeline`, `@scorer`, `@provider`.
"""

import os
from typing import Any

# LiteLLM (under DSPy) fetches a price map at import time unless told not to; runs are offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"
__all__ = ["InputError", "RunInterrupted", "__version__", "load_production_prompt", "run_experiment", "score_reply"]


def __getattr__(name: str) -> Any:
    """Import the engine on first use, so light modules (and the MLflow worker) start fast."""
    if name in ("run_experiment", "RunInterrupted"):
        from workbench import runner

        return getattr(runner, name)
    if name == "score_reply":
        from workbench.scoring.transcripts import score_reply

        return score_reply
    if name == "load_production_prompt":
        from workbench.promotion.promote import load_production_prompt

        return load_production_prompt
    if name == "InputError":
        from workbench.errors import InputError

        return InputError
    raise AttributeError(name)
