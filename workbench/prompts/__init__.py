"""Versioned prompt templates: system prompts, user strategies and judge rubrics.

`library` reads the YAML families in `prompts/` (immutable, sealed versions); `layout` says where a
system prompt's parts go (instructions, demonstrations, a reminder after the user's message);
`mlflow_registry` mirrors them into the MLflow Prompt Registry, where aliases such as `production` live.
"""

from workbench.prompts.layout import Demonstration, PromptLayout, parse_layout
from workbench.prompts.library import (
    NAME,
    REF,
    VARIABLE,
    AliasResolver,
    Kind,
    PromptFamily,
    PromptLibrary,
    PromptVersion,
    load_family,
    seal,
    template_sha256,
    template_variables,
    unified_diff,
)

__all__ = [
    "NAME",
    "REF",
    "VARIABLE",
    "AliasResolver",
    "Demonstration",
    "Kind",
    "PromptFamily",
    "PromptLayout",
    "PromptLibrary",
    "PromptVersion",
    "load_family",
    "parse_layout",
    "seal",
    "template_sha256",
    "template_variables",
    "unified_diff",
]
