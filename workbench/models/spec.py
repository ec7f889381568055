"""Model specs: `provider:model` plus decoding parameters, as written in experiment files."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from workbench import limits


class Decoding(BaseModel):
    """Decoding parameters. Temperature 0 and a token cap keep runs reproducible and bounded."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.0, ge=0, le=2, allow_inf_nan=False)
    max_tokens: int = Field(256, gt=0, le=32768)
    seed: int | None = Field(None, description="Sent to providers that accept a seed.")
    top_p: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)

    def merged(self, overrides: dict[str, Any] | None) -> Decoding:
        return self if not overrides else Decoding.model_validate({**self.model_dump(), **overrides})


class ModelSpec(BaseModel):
    """One model to run: `openai:gpt-4o-mini`, `local:smollm2-135m`, or any OpenAI-compatible
    endpoint (`openai:NAME` with `base_url`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: str = Field(
        max_length=limits.NAME_CHARS, description="provider:model, e.g. anthropic:claude-3-5-haiku-latest"
    )
    label: str | None = Field(
        None, max_length=limits.NAME_CHARS, description="Short name shown in results; defaults to the spec."
    )
    base_url: str | None = Field(
        None, max_length=2000, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1"
    )
    api_key_env: str | None = Field(None, description="Environment variable holding the API key (never the key).")
    params: dict[str, Any] = Field(default_factory=dict, description="Decoding overrides for this model only.")
    concurrency: int | None = Field(None, gt=0, le=limits.MAX_CONCURRENCY, description="Parallel calls to this model.")

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"spec": value} if isinstance(value, str) else value

    @field_validator("spec")
    @classmethod
    def _provider_and_model(cls, value: str) -> str:
        provider, sep, model = value.partition(":")
        if not sep or not provider.strip() or not model.strip():
            raise ValueError(
                f"'{value}' is not a model spec | fix: write provider:model, e.g. openai:gpt-4o-mini, "
                "anthropic:claude-3-5-haiku-latest or local:smollm2-135m"
            )
        return value.strip()

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        fix = " | fix: write the endpoint's address, e.g. http://127.0.0.1:8000/v1"
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"'{value}' is not an http:// or https:// URL{fix}")
        try:
            parsed.port  # noqa: B018  (raises on a port that is not a number in 0-65535)
        except ValueError:
            raise ValueError(f"'{value}' has an invalid port{fix}") from None
        return value

    @field_validator("params")
    @classmethod
    def _decoding_overrides(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Checked here, where the file and field are known, not when the first call is built."""
        allowed = ", ".join(Decoding.model_fields)
        if unknown := sorted(set(value) - set(Decoding.model_fields)):
            raise ValueError(f"unknown decoding parameter(s): {', '.join(map(str, unknown))} | fix: use {allowed}")
        try:
            Decoding.model_validate(value)
        except ValidationError as exc:
            error = exc.errors()[0]
            name, shown = error["loc"][0], repr(error.get("input"))[:60]
            raise ValueError(
                f"decoding parameter {name}: {error['msg']} (got {shown}) "
                f"| fix: give {name} a value as under 'decoding:' (see the spec reference in the README)"
            ) from None
        return value

    @field_validator("api_key_env")
    @classmethod
    def _name_not_secret(cls, value: str | None) -> str | None:
        if value and (value.startswith(("sk-", "sk_")) or len(value) > 64 or not value.replace("_", "").isalnum()):
            raise ValueError(
                "api_key_env must name an environment variable, not hold a key "
                "| fix: export the key (e.g. export MY_KEY=...) and write api_key_env: MY_KEY"
            )
        return value

    @property
    def provider(self) -> str:
        return self.spec.partition(":")[0].strip()

    @property
    def model(self) -> str:
        return self.spec.partition(":")[2].strip()

    @property
    def name(self) -> str:
        return self.label or self.spec

    def __hash__(self) -> int:  # params is a dict, so hash its canonical JSON
        return hash(
            (
                self.spec,
                self.label,
                self.base_url,
                self.api_key_env,
                self.concurrency,
                json.dumps(self.params, sort_keys=True, default=str),
            )
        )

    def identity(self) -> dict[str, Any]:
        """What makes two specs the same model (for cache keys); never includes secrets."""
        return {"provider": self.provider, "model": self.model, "base_url": self.base_url}

    def identity_json(self) -> str:
        return json.dumps(self.identity(), sort_keys=True)
