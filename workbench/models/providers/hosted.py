"""Hosted providers called through LangChain's `init_chat_model`, with the package and key each
needs, so a missing one is reported before any call (`workbench models list` shows them)."""

from __future__ import annotations

import os

from workbench.models.registry import init_chat_model_factory, provider
from workbench.models.spec import ModelSpec

#: name, module, package, key variables, extra, accepts a seed, name of the token-cap parameter
HOSTED = [
    (
        "anthropic",
        "langchain_anthropic",
        "langchain-anthropic",
        ("ANTHROPIC_API_KEY",),
        "anthropic",
        False,
        "max_tokens",
    ),
    (
        "google_genai",
        "langchain_google_genai",
        "langchain-google-genai",
        ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
        "google",
        False,
        "max_tokens",
    ),
    ("ollama", "langchain_ollama", "langchain-ollama", (), "ollama", True, "num_predict"),
    ("mistralai", "langchain_mistralai", "langchain-mistralai", ("MISTRAL_API_KEY",), None, False, "max_tokens"),
    ("groq", "langchain_groq", "langchain-groq", ("GROQ_API_KEY",), None, False, "max_tokens"),
    ("deepseek", "langchain_deepseek", "langchain-deepseek", ("DEEPSEEK_API_KEY",), None, False, "max_tokens"),
    ("xai", "langchain_xai", "langchain-xai", ("XAI_API_KEY",), None, False, "max_tokens"),
    ("fireworks", "langchain_fireworks", "langchain-fireworks", ("FIREWORKS_API_KEY",), None, False, "max_tokens"),
    ("together", "langchain_together", "langchain-together", ("TOGETHER_API_KEY",), None, False, "max_tokens"),
]

#: where each provider's SDK sends calls by default, and the variable that moves it, if any
ENDPOINTS = {
    "anthropic": ("https://api.anthropic.com", "ANTHROPIC_BASE_URL"),
    "google_genai": ("https://generativelanguage.googleapis.com", None),
    "ollama": ("http://127.0.0.1:11434", "OLLAMA_HOST"),
    "mistralai": ("https://api.mistral.ai", None),
    "groq": ("https://api.groq.com", None),
    "deepseek": ("https://api.deepseek.com", None),
    "xai": ("https://api.x.ai", None),
    "fireworks": ("https://api.fireworks.ai", None),
    "together": ("https://api.together.xyz", None),
}


def default_endpoint(name: str):
    url, variable = ENDPOINTS[name]

    def endpoint(model: ModelSpec) -> str:
        moved = os.environ.get(variable) if variable else None
        if moved and "://" not in moved:  # OLLAMA_HOST may be host:port
            moved = f"http://{moved}"
        return moved or url

    return endpoint


for name, module, package, key_envs, extra, accepts_seed, max_tokens_param in HOSTED:
    provider(
        name,
        module=module,
        package=package,
        key_envs=key_envs,
        extra=extra,
        accepts_seed=accepts_seed,
        max_tokens_param=max_tokens_param,
        endpoint=default_endpoint(name),
    )(init_chat_model_factory)
