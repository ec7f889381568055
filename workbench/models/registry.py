"""Model providers: what each needs (package, API key) and how it builds a LangChain chat model.

Providers register with `@provider(...)` on a factory `(model, decoding, timeout) -> chat model`
in `workbench/models/providers/` (one module each), which imports its SDK inside the factory.
Any other provider LangChain's `init_chat_model` knows works too, through a generic factory.

`check_model` runs before any call, so a missing package or key is reported with its fix instead
of failing half-way through a run. API keys are read from the environment at build time and
never stored, logged or hashed.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workbench.errors import Problem
from workbench.models.spec import Decoding, ModelSpec
from workbench.registry import Registry

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

PLACEHOLDER_KEY = "not-needed"

ChatModelFactory = Callable[[ModelSpec, Decoding, float], "BaseChatModel"]
ModelCheck = Callable[[ModelSpec], list[tuple[str, str]]]
"""Provider-specific checks: (message, fix) for each problem with this spec."""
Endpoint = Callable[[ModelSpec], "str | None"]
"""The URL a spec's calls go to, for the reachability check before a run (None: nothing to reach)."""
ConcurrencyCap = Callable[[ModelSpec], int]
"""How many calls a model can serve at once (a local server's slots); more queue in the workbench."""


@dataclass(frozen=True)
class Provider:
    name: str
    module: str
    package: str
    factory: ChatModelFactory = field(compare=False, repr=False)
    key_envs: tuple[str, ...] = ()
    extra: str | None = None
    accepts_seed: bool = False
    max_tokens_param: str = "max_tokens"
    accepts_base_url: bool = False
    check: ModelCheck | None = field(default=None, compare=False, repr=False)
    endpoint: Endpoint | None = field(default=None, compare=False, repr=False)
    max_concurrency: ConcurrencyCap | None = field(default=None, compare=False, repr=False)

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def install_hint(self) -> str:
        if self.extra:
            return f"pip install 'alliance-workbench[{self.extra}]' (or pip install {self.package})"
        return f"pip install {self.package}"

    def key_present(self) -> bool:
        return not self.key_envs or any(os.environ.get(k) for k in self.key_envs)

    def decoding_kwargs(self, decoding: Decoding) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"temperature": decoding.temperature, self.max_tokens_param: decoding.max_tokens}
        if decoding.seed is not None and self.accepts_seed:
            kwargs["seed"] = decoding.seed
        if decoding.top_p is not None:
            kwargs["top_p"] = decoding.top_p
        return kwargs


PROVIDERS: Registry[Provider] = Registry("provider", packages=("workbench.models.providers",))


def provider(
    name: str,
    *,
    module: str,
    package: str,
    key_envs: tuple[str, ...] = (),
    extra: str | None = None,
    accepts_seed: bool = False,
    max_tokens_param: str = "max_tokens",
    accepts_base_url: bool = False,
    check: ModelCheck | None = None,
    endpoint: Endpoint | None = None,
    max_concurrency: ConcurrencyCap | None = None,
) -> Callable[[ChatModelFactory], ChatModelFactory]:
    """Register a chat-model factory as provider `name` (the part before ':' in a model spec);
    `endpoint` says where its calls go, so a run can check it is reachable before calling."""
    return PROVIDERS.decorator(
        name,
        lambda factory: Provider(
            name,
            module,
            package,
            factory,
            key_envs,
            extra,
            accepts_seed,
            max_tokens_param,
            accepts_base_url,
            check,
            endpoint,
            max_concurrency,
        ),
    )


def init_chat_model_factory(model: ModelSpec, decoding: Decoding, timeout: float) -> BaseChatModel:
    """Any provider LangChain's `init_chat_model` knows, with retries off (the call engine retries)."""
    from langchain.chat_models import init_chat_model

    found = find_provider(model.provider)
    assert found is not None, "check_model must run first"
    kwargs = found.decoding_kwargs(decoding)
    kwargs.update(max_retries=0, timeout=timeout)
    if model.api_key_env:
        kwargs["api_key"] = os.environ[model.api_key_env]
    return init_chat_model(model.model, model_provider=found.name, **kwargs)


def _langchain_builtin(name: str) -> Provider | None:
    """A provider that LangChain knows and no module here registers; its credentials are the
    package's business."""
    try:
        from langchain.chat_models.base import _BUILTIN_PROVIDERS
    except ImportError:  # pragma: no cover - depends on the installed langchain
        return None
    entry = _BUILTIN_PROVIDERS.get(name)
    if entry is None:
        return None
    module = entry[0].split(".")[0]
    return Provider(name, module, module.replace("_", "-"), init_chat_model_factory)


def find_provider(name: str) -> Provider | None:
    return PROVIDERS.get(name) if name in PROVIDERS else _langchain_builtin(name)


def all_providers() -> list[Provider]:
    registered = PROVIDERS.values()
    try:
        from langchain.chat_models.base import _BUILTIN_PROVIDERS
    except ImportError:  # pragma: no cover
        return registered
    others = [
        found
        for name in sorted(_BUILTIN_PROVIDERS)
        if name not in PROVIDERS and (found := _langchain_builtin(name)) is not None
    ]
    return [*registered, *others]


def check_model(model: ModelSpec, *, file: str | None = None, field: str | None = None) -> list[Problem]:
    """Everything that would stop `model` from being called, each with its fix."""
    found = find_provider(model.provider)
    if found is None:
        names = [p.name for p in all_providers()]
        close = difflib.get_close_matches(model.provider, names, n=1)
        hint = f"did you mean '{close[0]}:{model.model}'? " if close else ""
        return [
            Problem(
                f"unknown provider '{model.provider}' in '{model.spec}'",
                file,
                field,
                None,
                f"{hint}known providers: {', '.join(names)}; for any OpenAI-compatible server "
                "use openai:MODEL with base_url",
            )
        ]
    problems = []
    if not found.installed():
        problems.append(
            Problem(
                f"provider '{found.name}' needs the package {found.package}, which is not installed",
                file,
                field,
                None,
                found.install_hint(),
            )
        )
    if found.check is not None:
        return problems + [Problem(message, file, field, None, fix) for message, fix in found.check(model)]
    if model.api_key_env:
        if not os.environ.get(model.api_key_env):
            problems.append(
                Problem(
                    f"environment variable {model.api_key_env} (api_key_env of {model.spec}) is not set",
                    file,
                    field,
                    None,
                    f"export {model.api_key_env}=<your key> before running",
                )
            )
    elif model.base_url is None and not found.key_present():
        problems.append(
            Problem(
                f"{model.spec} needs an API key in {' or '.join(found.key_envs)}, which is not set",
                file,
                field,
                None,
                f"export {found.key_envs[0]}=<your key>, or pick another model (local:smollm2-135m runs offline)",
            )
        )
    if model.base_url is not None and not found.accepts_base_url:
        problems.append(
            Problem(
                f"base_url is only supported with the openai provider (got {model.provider})",
                file,
                field,
                None,
                f"write openai:{model.model} to call an OpenAI-compatible endpoint",
            )
        )
    return problems


def concurrency_cap(model: ModelSpec) -> int | None:
    """The most calls `model` can serve at once, if its provider knows (a local server's slots)."""
    found = find_provider(model.provider)
    return found.max_concurrency(model) if found is not None and found.max_concurrency is not None else None


def build_chat_model(model: ModelSpec, decoding: Decoding, *, timeout: float) -> BaseChatModel:
    """A LangChain chat model with retries off: the call engine owns retries and backoff."""
    found = find_provider(model.provider)
    assert found is not None, "check_model must run first"
    return found.factory(model, decoding, timeout)
