"""The bundled offline models (`local:smollm2-135m`), served by xllamacpp on loopback and called
through the same OpenAI-compatible client code as hosted and self-hosted endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.models.local import BUNDLED_MODELS, bundled_model_path, local_server, slots_for
from workbench.models.providers.openai import openai_compatible
from workbench.models.registry import PLACEHOLDER_KEY, provider
from workbench.models.spec import Decoding, ModelSpec

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


def bundled_weights(model: ModelSpec) -> list[tuple[str, str]]:
    if model.model not in BUNDLED_MODELS:
        return [(f"unknown bundled model '{model.model}'", f"bundled models: {', '.join(BUNDLED_MODELS)}")]
    if bundled_model_path(model.model) is None:
        return [(f"the weights of local:{model.model} are not installed", BUNDLED_MODELS[model.model].install)]
    return []


def slot_count(model: ModelSpec) -> int:
    return slots_for(model.model)


@provider("local", module="xllamacpp", package="xllamacpp", check=bundled_weights, max_concurrency=slot_count)
def local(model: ModelSpec, decoding: Decoding, timeout: float) -> BaseChatModel:
    server = local_server(model.model)
    return openai_compatible(model.model, server.base_url, PLACEHOLDER_KEY, decoding, timeout)
