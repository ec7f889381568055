"""Which providers exist, what each needs (package, API key), and how to build a
LangChain chat model for a spec.

`check_model` runs before any call so a missing package or key is reported with its fix
instead of failing half-way through a run. API keys are read from the environment at
build time and never stored, logged or hashed.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workbench.errors import Problem
from workbench.models.local import BUNDLED_MODELS, bundled_model_path, local_server
from workbench.models.spec import Decoding, ModelSpec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True)
class Provider:
    name: str
    module: str
    package: str
    key_envs: tuple[str, ...] = ()
    extra: str | None = None
    accepts_seed: bool = False
    max_tokens_param: str = "max_tokens"

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def install_hint(self) -> str:
        if self.extra:
            return f"pip install 'alliance-workbench[{self.extra}]' (or pip install {self.package})"
        return f"pip install {self.package}"

    def key_present(self) -> bool:
        return not self.key_envs or any(os.environ.get(k) for k in self.key_envs)


PROVIDERS: dict[str, Provider] = {p.name: p for p in [
    Provider("local", "xllamacpp", "xllamacpp"),
    Provider("openai", "langchain_openai", "langchain-openai", ("OPENAI_API_KEY",), accepts_seed=True),
    Provider("anthropic", "langchain_anthropic", "langchain-anthropic", ("ANTHROPIC_API_KEY",), "anthropic"),
    Provider("google_genai", "langchain_google_genai", "langchain-google-genai",
             ("GOOGLE_API_KEY", "GEMINI_API_KEY"), "google"),
    Provider("ollama", "langchain_ollama", "langchain-ollama", (), "ollama", accepts_seed=True,
             max_tokens_param="num_predict"),
    Provider("mistralai", "langchain_mistralai", "langchain-mistralai", ("MISTRAL_API_KEY",)),
    Provider("groq", "langchain_groq", "langchain-groq", ("GROQ_API_KEY",)),
    Provider("deepseek", "langchain_deepseek", "langchain-deepseek", ("DEEPSEEK_API_KEY",)),
    Provider("xai", "langchain_xai", "langchain-xai", ("XAI_API_KEY",)),
    Provider("fireworks", "langchain_fireworks", "langchain-fireworks", ("FIREWORKS_API_KEY",)),
    Provider("together", "langchain_together", "langchain-together", ("TOGETHER_API_KEY",)),
]}


def _langchain_providers() -> dict[str, Provider]:
    """Every other provider `init_chat_model` knows; their credentials are the package's business."""
    try:
        from langchain.chat_models.base import _BUILTIN_PROVIDERS
    except ImportError:  # pragma: no cover - depends on the installed langchain
        return {}
    return {name: Provider(name, module.split(".")[0], module.split(".")[0].replace("_", "-"))
            for name, (module, *_rest) in _BUILTIN_PROVIDERS.items() if name not in PROVIDERS}


def provider(name: str) -> Provider | None:
    return PROVIDERS.get(name) or _langchain_providers().get(name)


def all_providers() -> list[Provider]:
    return [*PROVIDERS.values(), *sorted(_langchain_providers().values(), key=lambda p: p.name)]


def check_model(model: ModelSpec, *, file: str | None = None, field: str | None = None) -> list[Problem]:
    """Everything that would stop `model` from being called, each with its fix."""
    found = provider(model.provider)
    if found is None:
        names = [p.name for p in all_providers()]
        close = difflib.get_close_matches(model.provider, names, n=1)
        hint = f"did you mean '{close[0]}:{model.model}'? " if close else ""
        return [Problem(f"unknown provider '{model.provider}' in '{model.spec}'", file, field, None,
                        f"{hint}known providers: {', '.join(names)}; for any OpenAI-compatible server "
                        "use openai:MODEL with base_url")]
    problems = []
    if not found.installed():
        problems.append(Problem(f"provider '{found.name}' needs the package {found.package}, which is not installed",
                                file, field, None, found.install_hint()))
    if found.name == "local":
        if model.model not in BUNDLED_MODELS:
            problems.append(Problem(f"unknown bundled model '{model.model}'", file, field, None,
                                    f"bundled models: {', '.join(BUNDLED_MODELS)}"))
        elif bundled_model_path(model.model) is None:
            problems.append(Problem(f"the weights of local:{model.model} are not installed", file, field, None,
                                    BUNDLED_MODELS[model.model].install))
        return problems
    if model.api_key_env:
        if not os.environ.get(model.api_key_env):
            problems.append(Problem(f"environment variable {model.api_key_env} (api_key_env of {model.spec}) is not set",
                                    file, field, None, f"export {model.api_key_env}=<your key> before running"))
    elif model.base_url is None and not found.key_present():
        problems.append(Problem(
            f"{model.spec} needs an API key in {' or '.join(found.key_envs)}, which is not set", file, field, None,
            f"export {found.key_envs[0]}=<your key>, or pick another model (local:smollm2-135m runs offline)"))
    if model.base_url is not None and found.name != "openai":
        problems.append(Problem(f"base_url is only supported with the openai provider (got {model.provider})",
                                file, field, None, f"write openai:{model.model} to call an OpenAI-compatible endpoint"))
    return problems


def decoding_kwargs(found: Provider, decoding: Decoding) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"temperature": decoding.temperature, found.max_tokens_param: decoding.max_tokens}
    if decoding.seed is not None and found.accepts_seed:
        kwargs["seed"] = decoding.seed
    if decoding.top_p is not None:
        kwargs["top_p"] = decoding.top_p
    return kwargs


def build_chat_model(model: ModelSpec, decoding: Decoding, *, timeout: float) -> "BaseChatModel":
    """A LangChain chat model with retries off: the runner owns retries and backoff."""
    found = provider(model.provider)
    assert found is not None, "check_model must run first"
    if found.name == "local" or model.base_url is not None:
        from langchain_openai import ChatOpenAI

        if found.name == "local":
            server = local_server(model.model, slots=model.concurrency or 4)
            base_url, name, key = server.base_url, model.model, PLACEHOLDER_KEY
        else:
            key_env = model.api_key_env or "OPENAI_API_KEY"
            base_url, name, key = model.base_url, model.model, os.environ.get(key_env) or PLACEHOLDER_KEY
        return ChatOpenAI(model=name, base_url=base_url, api_key=key, max_retries=0, timeout=timeout,
                          stream_usage=False, **decoding_kwargs(PROVIDERS["openai"], decoding))

    from langchain.chat_models import init_chat_model

    kwargs = decoding_kwargs(found, decoding)
    kwargs.update(max_retries=0, timeout=timeout)
    if model.api_key_env:
        kwargs["api_key"] = os.environ[model.api_key_env]
    return init_chat_model(model.model, model_provider=found.name, **kwargs)
