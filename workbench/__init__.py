"""Alliance Workbench: prompt-engineering experiments on mental-health chatbots, scored for
empathy and accountability, tracked in MLflow."""

import os

# LiteLLM (under DSPy) fetches a price map at import time unless told not to; runs are offline.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"
__all__ = ["InputError", "RunInterrupted", "run_experiment", "__version__"]


def __getattr__(name: str):
    """Import the engine on first use, so light modules (and the MLflow worker) start fast."""
    if name in ("run_experiment", "RunInterrupted"):
        from workbench import runner

        return getattr(runner, name)
    if name == "InputError":
        from workbench.errors import InputError

        return InputError
    raise AttributeError(name)
