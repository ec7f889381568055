"""Keep API keys out of everything a run writes, even when an endpoint echoes them back.

Specs hold only the *names* of the variables that hold keys, so params and tags never carry one.
But some proxies put the key they received into an error body ("invalid key sk-..."), and a
model can be made to repeat it. The call engine passes every reply and every error through a
`Redactor` built from the values of every key variable the run uses, before the text reaches the
cache, MLflow or the console.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from urllib.parse import quote

from workbench.models.registry import find_provider
from workbench.models.spec import ModelSpec

MIN_SECRET_CHARS = 8
"""Shorter values are not real keys (`x`, `none`); replacing them would mangle ordinary text."""
MASK = "[redacted {name}]"


def key_variables(models: Iterable[ModelSpec]) -> list[str]:
    """Every environment variable a model of the run may read its key from."""
    names: list[str] = []
    for model in models:
        if model.api_key_env:
            names.append(model.api_key_env)
        provider = find_provider(model.provider)
        if provider is not None:
            names.extend(provider.key_envs)
    return list(dict.fromkeys(names))


class Redactor:
    """Replaces each secret value (and its URL-encoded form) with `[redacted VARIABLE]`."""

    def __init__(self, secrets: dict[str, str]):
        variants: dict[str, str] = {}
        for name, value in secrets.items():
            value = value.strip()
            if len(value) < MIN_SECRET_CHARS:
                continue
            for form in (value, quote(value, safe="")):
                variants.setdefault(form, MASK.format(name=name))
        self.names = sorted(set(variants.values()))
        self._replacement = variants
        self._pattern = (
            re.compile("|".join(re.escape(v) for v in sorted(variants, key=len, reverse=True))) if variants else None
        )

    @classmethod
    def for_models(cls, models: Iterable[ModelSpec]) -> Redactor:
        return cls({name: os.environ[name] for name in key_variables(models) if os.environ.get(name)})

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda match: self._replacement[match.group(0)], text)

    def __bool__(self) -> bool:
        return self._pattern is not None
