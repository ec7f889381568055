"""Hosted providers called through LangChain's `init_chat_model`, with the package and key each
needs, so a missing one is reported before any call (`workbench models list` shows them)."""

from __future__ import annotations

from workbench.models.registry import init_chat_model_factory, provider

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

for name, module, package, key_envs, extra, accepts_seed, max_tokens_param in HOSTED:
    provider(
        name,
        module=module,
        package=package,
        key_envs=key_envs,
        extra=extra,
        accepts_seed=accepts_seed,
        max_tokens_param=max_tokens_param,
    )(init_chat_model_factory)
