"""Model specs as DSPy language models (`dspy.LM`), for the DSPy pipeline and the optimizer.

The same `provider:model` spec that builds a LangChain chat model builds a `dspy.LM`: hosted
providers by their LiteLLM prefix, any OpenAI-compatible endpoint through `api_base`, and the
bundled offline model through its loopback server (xllamacpp's OpenAI-compatible API). DSPy's own
cache and retries are off: the workbench's call engine owns both, as it does for every call.
Keys are read from the environment here and handed to the client, never stored or logged.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from workbench.models.registry import PLACEHOLDER_KEY, find_provider
from workbench.models.spec import Decoding, ModelSpec

if TYPE_CHECKING:
    import dspy

LITELLM_PREFIX = {
    "openai": "openai",
    "local": "openai",
    "anthropic": "anthropic",
    "google_genai": "gemini",
    "ollama": "ollama_chat",
    "mistralai": "mistral",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "xai",
    "fireworks": "fireworks_ai",
    "together": "together_ai",
}


def litellm_model(model: ModelSpec) -> str:
    """`provider/model` as LiteLLM (under `dspy.LM`) names it."""
    return f"{LITELLM_PREFIX.get(model.provider, model.provider)}/{model.model}"


def dspy_lm(model: ModelSpec, decoding: Decoding, timeout: float) -> dspy.LM:
    """A `dspy.LM` for `model` with the run's decoding, no DSPy cache and no DSPy retries.
    Starts the bundled model's server on first use, like the LangChain provider does."""
    import dspy

    quiet_truncation_warnings()
    kwargs: dict[str, Any] = {"temperature": decoding.temperature, "max_tokens": decoding.max_tokens}
    if decoding.seed is not None:
        kwargs["seed"] = decoding.seed
    if decoding.top_p is not None:
        kwargs["top_p"] = decoding.top_p
    if model.provider == "local":
        from workbench.models.local import local_server

        kwargs.update(
            api_base=local_server(model.model).base_url,
            api_key=PLACEHOLDER_KEY,
            # llama.cpp's server ignores `max_completion_tokens` (what LiteLLM sends for max_tokens)
            # and would decode to the end of its context; `n_predict` is its own cap.
            n_predict=decoding.max_tokens,
        )
    elif model.base_url is not None:
        key_env = model.api_key_env or "OPENAI_API_KEY"
        kwargs.update(api_base=model.base_url, api_key=os.environ.get(key_env) or PLACEHOLDER_KEY)
    elif model.api_key_env:
        kwargs["api_key"] = os.environ[model.api_key_env]
    else:
        found = find_provider(model.provider)
        present = [k for k in (found.key_envs if found else ()) if os.environ.get(k)]
        if present:
            kwargs["api_key"] = os.environ[present[0]]
    return dspy.LM(litellm_model(model), cache=False, num_retries=0, timeout=timeout, **kwargs)


def quiet_truncation_warnings() -> None:
    """Replies are capped by `decoding.max_tokens` on purpose; DSPy would warn on every capped one."""
    logging.getLogger("dspy.clients.lm").setLevel(logging.ERROR)
