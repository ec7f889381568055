"""What every pipeline provides to the runner: the exact messages it will send for a
cell (the cache key and the trace show these), and an async call that answers them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

Message = dict[str, str]
"""{"role": "system" | "user" | "assistant", "content": ...}"""


@dataclass(frozen=True)
class Generation:
    reply: str
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class Conversation:
    """One cell's prompt inputs: which prompts, the template values, and the scenario turns."""

    system_template: str
    user_template: str
    values: dict[str, str]
    history: tuple[Message, ...]
    message: str


class Pipeline(Protocol):
    name: str

    def messages(self, conversation: Conversation) -> list[Message]:
        """The full message list that `respond` will send."""

    async def respond(self, conversation: Conversation) -> Generation:
        """Call the model once."""
