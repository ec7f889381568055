"""OpenAI, and any OpenAI-compatible server (vLLM, llama.cpp, LM Studio, Ollama's /v1) through
`base_url`, with `api_key_env` naming the key's variable when the server needs one."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from workbench.models.registry import PLACEHOLDER_KEY, PROVIDERS, provider
from workbench.models.spec import Decoding, ModelSpec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def openai_compatible(
    name: str, base_url: str | None, api_key: str, decoding: Decoding, timeout: float
) -> BaseChatModel:
    """`ChatOpenAI` with retries off (the call engine retries) and no streamed usage."""
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=name,
        base_url=base_url,
        api_key=api_key,
        max_retries=0,
        timeout=timeout,
        stream_usage=False,
        **PROVIDERS.get("openai").decoding_kwargs(decoding),
    )


def endpoint(model: ModelSpec) -> str:
    """Where the OpenAI client sends a spec's calls: its base_url, else OPENAI_BASE_URL, else OpenAI."""
    return model.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"


@provider(
    "openai",
    module="langchain_openai",
    package="langchain-openai",
    key_envs=("OPENAI_API_KEY",),
    accepts_seed=True,
    accepts_base_url=True,
    endpoint=endpoint,
)
def openai(model: ModelSpec, decoding: Decoding, timeout: float) -> BaseChatModel:
    key_env = model.api_key_env or "OPENAI_API_KEY"
    key = os.environ.get(key_env) or PLACEHOLDER_KEY  # check_model has made sure a hosted call has its key
    return openai_compatible(model.model, model.base_url, key, decoding, timeout)
