"""Crisis resources per locale (`workbench/data/locales.yaml`): the values system prompts
fill in, and the patterns that count as a *specific* crisis resource when scoring."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from workbench.errors import InputError


@dataclass(frozen=True)
class Locale:
    code: str
    name: str
    crisis_line: str
    text_line: str
    emergency_number: str
    resource_patterns: tuple[re.Pattern, ...]

    def template_values(self) -> dict[str, str]:
        return {
            "crisis_line": self.crisis_line,
            "text_line": self.text_line,
            "emergency_number": self.emergency_number,
            "locale_name": self.name,
        }


@lru_cache(maxsize=1)
def locales() -> dict[str, Locale]:
    data = yaml.safe_load(resources.files("workbench.data").joinpath("locales.yaml").read_text("utf-8"))
    return {
        code: Locale(
            code,
            entry["name"],
            entry["crisis_line"],
            entry["text_line"],
            str(entry["emergency_number"]),
            tuple(re.compile(p, re.IGNORECASE) for p in entry["resource_patterns"]),
        )
        for code, entry in data.items()
    }


def get_locale(code: str, *, field: str | None = None, file: str | None = None) -> Locale:
    found = locales().get(code.upper())
    if found is None:
        raise InputError.single(
            f"unknown locale '{code}'",
            file=file,
            field=field,
            fix=f"use one of: {', '.join(locales())}, or add it to workbench/data/locales.yaml",
        )
    return found
