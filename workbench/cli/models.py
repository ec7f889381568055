"""`workbench models`: providers, keys, the bundled model, and checking a spec."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from workbench.calls.retry import classify
from workbench.cli.app import friendly, models_app
from workbench.console import console
from workbench.errors import InputError
from workbench.models.local import BUNDLED_MODELS, bundled_model_path
from workbench.models.registry import PROVIDERS, build_chat_model, check_model
from workbench.models.spec import Decoding, ModelSpec
from workbench.preflight import check_endpoints, endpoint_of, model_endpoints
from workbench.redaction import Redactor
from workbench.yaml_files import validate


@models_app.command("list")
def models_list():
    """Providers, whether their package and key are present, and the bundled offline models."""
    table = Table(title="Providers")
    for column in ("provider", "package", "installed", "API key", "install"):
        table.add_column(column)
    for p in sorted(PROVIDERS.values(), key=lambda p: (p.name != "local", p.name != "openai")):
        key = "not needed" if not p.key_envs else ("set" if p.key_present() else f"missing ({p.key_envs[0]})")
        table.add_row(
            p.name, p.package, "yes" if p.installed() else "no", key, "" if p.installed() else p.install_hint()
        )
    console.print(table)
    console.print(
        "Other LangChain providers (init_chat_model) work once their package is installed; "
        "OpenAI-compatible servers: openai:MODEL with base_url."
    )
    for name, model in BUNDLED_MODELS.items():
        state = "installed" if bundled_model_path(name) else f"not installed: {model.install}"
        console.print(f"bundled [bold]local:{name}[/bold]: {model.description} ({state})")


@models_app.command("check")
@friendly
def models_check(
    spec: str = typer.Argument(..., help="provider:model"),
    base_url: Optional[str] = typer.Option(None, help="OpenAI-compatible endpoint"),
    api_key_env: Optional[str] = typer.Option(None, help="Environment variable with the key"),
    ping: bool = typer.Option(False, help="Also send one short message."),
):
    """Check that a model spec can be called (package, key), optionally with a real call: its
    endpoint is checked for reachability first, exactly as a run does before its first call."""
    model = validate({"spec": spec, "base_url": base_url, "api_key_env": api_key_env}, ModelSpec, path="command line")
    problems = check_model(model, field="SPEC")
    if problems:
        raise InputError(problems)
    console.print(f"[green]ok[/green]: {model.spec} can be called")
    if ping:
        field = "--base-url" if base_url else "SPEC"
        if problems := check_endpoints(model_endpoints([(model, field)], "command line")):
            raise InputError(problems)
        redact = Redactor.for_models([model])
        try:
            reply = build_chat_model(model, Decoding(max_tokens=16), timeout=60).invoke("Say hello in five words.")
        except Exception as exc:  # any provider error: say what it was, where, and what to check
            raise InputError.single(
                f"the call to {model.spec} at {endpoint_of(model) or 'its provider'} failed: "
                f"{redact(classify(exc).reason)[:500]}",
                field=field,
                fix="check the model name, the key and the endpoint; the error above is the server's answer",
            ) from None
        console.print(f"reply: {escape(redact(str(reply.content)))}")
