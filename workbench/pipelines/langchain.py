"""The LangChain pipeline: ChatPromptTemplate (system prompt, its demonstrations, multi-turn
history, strategy-wrapped user message and the system prompt's reminder) | chat model | reply parser.

Prompt templates are stored in MLflow's `{{ variable }}` syntax; they are converted to
LangChain f-string templates (with literal braces escaped) so user text is never
HTML-escaped or re-interpreted as a template.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import BaseOutputParser
from langchain_core.outputs import Generation as LCGeneration
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable

from workbench.calls.engine import Generation
from workbench.models.registry import build_chat_model
from workbench.models.spec import Decoding, ModelSpec
from workbench.pipelines.base import Conversation, Message, pipeline
from workbench.prompts import VARIABLE
from workbench.prompts.layout import parse_layout

ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def to_fstring(template: str) -> str:
    """`Hello {{ name }} {x}` -> `Hello {name} {{x}}`."""
    parts, last = [], 0
    for match in VARIABLE.finditer(template):
        parts.append(template[last : match.start()].replace("{", "{{").replace("}", "}}"))
        parts.append("{" + match.group(1) + "}")
        last = match.end()
    parts.append(template[last:].replace("{", "{{").replace("}", "}}"))
    return "".join(parts)


@lru_cache(maxsize=256)
def chat_prompt(system_template: str, user_template: str) -> ChatPromptTemplate:
    """System prompt (none if empty), its examples as earlier exchanges, the earlier turns, then the
    strategy-wrapped message followed by the system prompt's reminder (`prompts.layout`)."""
    layout = parse_layout(system_template)
    system = [("system", to_fstring(layout.instructions))] if layout.instructions else []
    examples = [
        message
        for demo in layout.demonstrations
        for message in (("human", to_fstring(demo.user)), ("ai", to_fstring(demo.assistant)))
    ]
    user = f"{user_template}\n\n{layout.reminder}" if layout.reminder else user_template
    return ChatPromptTemplate.from_messages(
        [
            *system,
            *examples,
            MessagesPlaceholder("history", optional=True),
            ("human", to_fstring(user)),
        ]
    )


class ReplyParser(BaseOutputParser[Generation]):
    """The reply text plus the token counts the provider reported."""

    def parse_result(self, result: list[LCGeneration], *, partial: bool = False) -> Generation:
        generation = result[0]
        usage = getattr(getattr(generation, "message", None), "usage_metadata", None) or {}
        return Generation(generation.text, usage.get("input_tokens"), usage.get("output_tokens"))

    async def aparse_result(self, result: list[LCGeneration], *, partial: bool = False) -> Generation:
        return self.parse_result(result)  # trivial work: no need for the default thread hop

    def parse(self, text: str) -> Generation:
        return Generation(text)

    @property
    def _type(self) -> str:
        return "workbench_reply"


def to_dicts(messages: list[BaseMessage]) -> list[Message]:
    return [{"role": ROLES.get(m.type, m.type), "content": str(m.content)} for m in messages]


def inputs(conversation: Conversation) -> dict[str, Any]:
    history = [("human" if t["role"] == "user" else "ai", t["content"]) for t in conversation.history]
    return {**conversation.values, "message": conversation.message, "history": history}


def render(conversation: Conversation) -> list[Message]:
    """The exact messages the chain sends for this conversation (no model needed)."""
    prompt = chat_prompt(conversation.system_template, conversation.user_template)
    return to_dicts(prompt.invoke(inputs(conversation)).to_messages())


class LangChainPipeline:
    """`ChatPromptTemplate | chat model | ReplyParser`, one chain per (system, user) template pair.
    The chat model (and, for the bundled model, its local server) is built on the first call."""

    name = "langchain"

    def __init__(self, model: ModelSpec, decoding: Decoding, timeout: float, chat_model: BaseChatModel | None = None):
        self.model, self.decoding, self.timeout = model, decoding, timeout
        self._chat_model = chat_model
        self._chains: dict[tuple[str, str], Runnable] = {}

    @property
    def chat_model(self) -> BaseChatModel:
        if self._chat_model is None:
            self._chat_model = build_chat_model(self.model, self.decoding, timeout=self.timeout)
        return self._chat_model

    def chain(self, conversation: Conversation) -> Runnable:
        key = (conversation.system_template, conversation.user_template)
        if key not in self._chains:
            self._chains[key] = chat_prompt(*key) | self.chat_model | ReplyParser()
        return self._chains[key]

    def messages(self, conversation: Conversation) -> list[Message]:
        return render(conversation)

    async def respond(self, conversation: Conversation) -> Generation:
        return await self.chain(conversation).ainvoke(inputs(conversation))


@pipeline("langchain", description="ChatPromptTemplate | chat model | output parser (LangChain runnables)")
def langchain(model: ModelSpec, decoding: Decoding, timeout: float) -> LangChainPipeline:
    return LangChainPipeline(model, decoding, timeout)
