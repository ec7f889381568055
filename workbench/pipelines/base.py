"""What every pipeline gives the runner, and how pipelines are registered.

A pipeline turns one cell's `Conversation` (system prompt, user strategy, scenario turns) into
the exact messages it sends (the cache key and the trace show these) and makes the call. The
runner, the response collector and the judge use only this protocol, so a new pipeline is one
module in `workbench/pipelines/` with a factory decorated `@pipeline("name")`:

    @pipeline("echo")
    def echo(model: ModelSpec, decoding: Decoding, timeout: float) -> Pipeline:
        return EchoPipeline()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from workbench.calls.engine import Generation
from workbench.models.spec import Decoding, ModelSpec
from workbench.registry import Registry

Message = dict[str, str]
"""{"role": "system" | "user" | "assistant", "content": ...}"""


@dataclass(frozen=True)
class Conversation:
    """One call's prompt inputs: which templates, their values, and the turns.

    `system_template` may be empty (no system message, as for a judge's rubric); `user_template`
    wraps `message`, the final user turn, with `{{ message }}`."""

    system_template: str
    user_template: str
    values: dict[str, str]
    history: tuple[Message, ...]
    message: str

    @classmethod
    def of_messages(cls, messages: list[Message]) -> Conversation:
        """Literal messages (the last one the user's), no templates: how a judge asks its rubric."""
        *earlier, last = messages
        system = [m["content"] for m in earlier if m["role"] == "system"]
        history = tuple(m for m in earlier if m["role"] != "system")
        return cls(
            "{{ system }}" if system else "",
            "{{ message }}",
            {"system": system[0]} if system else {},
            history,
            last["content"],
        )


class Pipeline(Protocol):
    """A pipeline may also name, as `autolog`, the framework whose MLflow autolog traces its calls
    ("dspy"): a traced run then records that framework's spans inside each reply's trace."""

    name: str

    def messages(self, conversation: Conversation) -> list[Message]:
        """The full message list that `respond` will send (no model call)."""
        ...

    async def respond(self, conversation: Conversation) -> Generation:
        """Call the model once; the call engine adds retries, timeouts and the cache."""
        ...


PipelineFactory = Callable[[ModelSpec, Decoding, float], Pipeline]


@dataclass(frozen=True)
class RegisteredPipeline:
    name: str
    factory: PipelineFactory = field(repr=False)
    description: str = ""


PIPELINES: Registry[RegisteredPipeline] = Registry("pipeline", packages=("workbench.pipelines",))


def pipeline(name: str, *, description: str = "") -> Callable[[PipelineFactory], PipelineFactory]:
    """Register `factory(model, decoding, timeout) -> Pipeline` under `name`, the value a spec's
    `pipelines:` list uses. Building a pipeline must be cheap: start clients on the first call."""
    return PIPELINES.decorator(name, lambda factory: RegisteredPipeline(name, factory, description))


def build_pipeline(name: str, model: ModelSpec, decoding: Decoding, timeout: float) -> Pipeline:
    return PIPELINES.get(name).factory(model, decoding, timeout)
