"""Model specs (`provider:model`), the provider registry, and the bundled offline model."""

from workbench.models.registry import PROVIDERS, Provider, build_chat_model, check_model, find_provider, provider
from workbench.models.spec import Decoding, ModelSpec

__all__ = [
    "PROVIDERS",
    "Decoding",
    "ModelSpec",
    "Provider",
    "build_chat_model",
    "check_model",
    "find_provider",
    "provider",
]
