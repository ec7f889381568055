"""A whole pipeline in one file: it echoes the user's (strategy-wrapped) message back, and the
runner finds it by its registered name, `echo`, from a spec's `pipelines:` list."""

from __future__ import annotations

from workbench.calls import Generation
from workbench.models import Decoding, ModelSpec
from workbench.pipelines import Conversation, Message, Pipeline, pipeline
from workbench.prompts import VARIABLE


def fill(template: str, values: dict[str, str]) -> str:
    return VARIABLE.sub(lambda match: values[match.group(1)], template)


class EchoPipeline:
    name = "echo"

    def __init__(self, model: ModelSpec):
        self.model = model
        self.seen: list[list[Message]] = []

    def messages(self, conversation: Conversation) -> list[Message]:
        values = {**conversation.values, "message": conversation.message}
        return [
            {"role": "system", "content": fill(conversation.system_template, values)},
            *conversation.history,
            {"role": "user", "content": fill(conversation.user_template, values)},
        ]

    async def respond(self, conversation: Conversation) -> Generation:
        sent = self.messages(conversation)
        self.seen.append(sent)
        return Generation(f"echo from {self.model.name}: {sent[-1]['content']}", input_tokens=1, output_tokens=1)


@pipeline("echo", description="Replies with the user's own message (a test double).")
def echo(model: ModelSpec, decoding: Decoding, timeout: float) -> Pipeline:
    return EchoPipeline(model)
