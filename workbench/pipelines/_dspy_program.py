"""The DSPy pipelines' program: a DSPy program for the counsellor's reply, run like every other pipeline.

Imported only when a DSPy pipeline is built or an optimization runs (`pipelines/dspy.py` registers the
names): the registry imports every public module in `pipelines/` at plan time, and DSPy takes seconds
to import.

The program is one `dspy.Predict` over the signature `conversation, user_message -> reply`. Its
instructions are the system prompt's text (with `{{ variables }}` kept, so an optimizer rewrites
the template rather than one locale's rendering) and its demonstrations are the template's
`<example>` blocks (`prompts.layout`), so a program and a registered prompt version are the same
thing in two forms (`counsellor` and `system_template`). The user strategy wraps the message
before the program sees it, as in the LangChain pipeline.

Two adapters decide how the program's fields become messages:

- `dspy` (`ReplyAdapter`): the system prompt as the system message, examples and history as
  chat turns, the wrapped message (and the prompt's reminder) as the user turn; the raw
  completion is the reply. Small models such as the bundled 135M one cannot follow DSPy's field
  markers (ChatAdapter and JSONAdapter raise AdapterParseError on nearly every reply), and a
  single-output signature needs none. Its messages equal the LangChain pipeline's, so the two
  are comparable row by row and differ only in the framework.
- `dspy-chat` (`FieldMarkerAdapter`): DSPy's ChatAdapter with its `[[ ## field ## ]]` markers, for
  models that follow them. A reply that does not parse is an error row (no JSON fallback, which
  would be a second, hidden call).

Both render messages without calling anything (`messages`), which is what the cache key and the
trace show. Calls go through `dspy.LM` (`models.dspy_lm`); the call engine adds retries, timeouts,
the cache and the concurrency limit.
"""

from __future__ import annotations

from typing import Any

import dspy
from dspy.utils.exceptions import AdapterParseError

from workbench.calls.engine import Generation
from workbench.models.dspy_lm import dspy_lm
from workbench.models.spec import Decoding, ModelSpec
from workbench.pipelines.base import Conversation, Message
from workbench.prompts.layout import Demonstration, PromptLayout, fill, parse_layout


class CounsellorReply(dspy.Signature):
    """Reply to the person as a supportive chatbot."""

    conversation: dspy.History = dspy.InputField(desc="the earlier turns of this conversation")
    user_message: str = dspy.InputField(desc="the person's latest message")
    reply: str = dspy.OutputField(desc="the chatbot's reply")


class Counsellor(dspy.Module):
    """The program: one predictor whose instructions are a system prompt."""

    def __init__(self, instructions: str = ""):
        super().__init__()
        self.respond = dspy.Predict(CounsellorReply.with_instructions(instructions))

    def forward(self, conversation: dspy.History, user_message: str) -> dspy.Prediction:
        return self.respond(conversation=conversation, user_message=user_message)

    async def aforward(self, conversation: dspy.History, user_message: str) -> dspy.Prediction:
        return await self.respond.acall(conversation=conversation, user_message=user_message)


def counsellor(system_template: str) -> Counsellor:
    """The program for a system-prompt template: instructions and reminder as the predictor's
    instructions, `<example>` blocks as its demonstrations."""
    layout = parse_layout(system_template)
    program = Counsellor(layout.without_demonstrations)
    program.respond.demos = [
        dspy.Example(user_message=d.user, reply=d.assistant).with_inputs("user_message") for d in layout.demonstrations
    ]
    return program


def system_template(program: dspy.Module) -> str:
    """The template a program stands for: what `workbench optimize` registers as a version."""
    predictor = program.predictors()[0]
    layout = parse_layout(predictor.signature.instructions)
    demos = tuple(Demonstration(str(d["user_message"]), str(d["reply"])) for d in predictor.demos)
    return layout.with_demonstrations(demos).template


def history(turns: tuple[Message, ...] | list[Message]) -> dspy.History:
    """Earlier turns as DSPy history: one entry per exchange, keyed by the signature's fields."""
    entries: list[dict[str, Any]] = []
    for turn in turns:
        if turn["role"] == "user":
            entries.append({"user_message": turn["content"]})
        elif entries and "reply" not in entries[-1]:
            entries[-1]["reply"] = turn["content"]
        else:
            entries.append({"reply": turn["content"]})
    return dspy.History(messages=entries)


def program_inputs(conversation: Conversation) -> dict[str, Any]:
    """The program's inputs for a cell: its history, and its message wrapped by the user strategy."""
    values = {**conversation.values, "message": conversation.message}
    return {"conversation": history(conversation.history), "user_message": fill(conversation.user_template, values)}


def _single_output(signature: type[dspy.Signature]) -> str | None:
    outputs = list(signature.output_fields)
    return outputs[0] if len(outputs) == 1 else None


def _turns(entries: list[dict[str, Any]]) -> list[Message]:
    turns: list[Message] = []
    for entry in entries:
        if entry.get("user_message") is not None:
            turns.append({"role": "user", "content": str(entry["user_message"])})
        if entry.get("reply") is not None:
            turns.append({"role": "assistant", "content": str(entry["reply"])})
    return turns


class ReplyAdapter(dspy.Adapter):
    """Plain chat messages in, the raw completion out (for single-output signatures).

    `values` fill the template's `{{ variables }}` (the locale's crisis resources). Other
    signatures are parsed by DSPy's ChatAdapter, so a multi-output program still gets its fields
    or an AdapterParseError."""

    def __init__(self, values: dict[str, str] | None = None):
        super().__init__()
        self.values = dict(values or {})

    def format(self, signature: type[dspy.Signature], demos: list[dict[str, Any]], inputs: dict[str, Any]) -> list:
        layout = parse_layout(signature.instructions)
        history_field = self._get_history_field_name(signature)
        earlier = inputs.get(history_field) if history_field else None
        others = {k: v for k, v in inputs.items() if k != history_field and k in signature.input_fields}
        user_turn = (
            str(next(iter(others.values())))
            if len(others) == 1
            else "\n\n".join(f"{name}: {value}" for name, value in others.items())
        )
        demonstrations = tuple(
            Demonstration(str(d.get("user_message", "")), str(d.get("reply", "")))
            for d in demos
            if d.get("user_message") is not None and d.get("reply") is not None
        )
        turns = _turns(earlier.messages) if earlier is not None else []
        return layout.with_demonstrations(demonstrations).messages(self.values, turns, user_turn)

    def parse(self, signature: type[dspy.Signature], completion: str) -> dict[str, Any]:
        name = _single_output(signature)
        if name is None:
            return dspy.ChatAdapter().parse(signature, completion)
        text = (completion or "").strip()
        if not text:
            raise AdapterParseError(
                adapter_name=type(self).__name__, signature=signature, lm_response=completion, message="empty reply"
            )
        return {name: text}


class FieldMarkerAdapter(dspy.ChatAdapter):
    """DSPy's ChatAdapter (`[[ ## field ## ]]` markers), with the template's variables filled and its
    reminder after the user's message; no silent second call through JSONAdapter."""

    def __init__(self, values: dict[str, str] | None = None):
        super().__init__(use_json_adapter_fallback=False)
        self.values = dict(values or {})

    def format_task_description(self, signature: type[dspy.Signature]) -> str:
        return f"In adhering to this structure, your objective is: {fill(self._layout(signature).instructions, self.values)}"

    def format_user_message_content(
        self,
        signature: type[dspy.Signature],
        inputs: dict[str, Any],
        prefix: str = "",
        suffix: str = "",
        main_request: bool = False,
    ) -> str:
        content = super().format_user_message_content(signature, inputs, prefix, suffix, main_request)
        reminder = self._layout(signature).reminder
        return f"{content}\n\n{fill(reminder, self.values)}" if main_request and reminder else content

    def format(self, signature: type[dspy.Signature], demos: list[dict[str, Any]], inputs: dict[str, Any]) -> list:
        filled = [{k: fill(v, self.values) if isinstance(v, str) else v for k, v in d.items()} for d in demos]
        return super().format(signature, filled, inputs)

    def _layout(self, signature: type[dspy.Signature]) -> PromptLayout:
        return parse_layout(signature.instructions)


ADAPTERS: dict[str, type[ReplyAdapter] | type[FieldMarkerAdapter]] = {
    "dspy": ReplyAdapter,
    "dspy-chat": FieldMarkerAdapter,
}


class DspyPipeline:
    """A `Counsellor` program per system prompt, called through `dspy.LM` with the chosen adapter.
    The LM (and, for the bundled model, its local server) is built on the first call. A traced run
    records DSPy's own spans of each call with `mlflow.dspy.autolog` (`autolog`)."""

    autolog = "dspy"

    def __init__(self, name: str, model: ModelSpec, decoding: Decoding, timeout: float, lm: dspy.BaseLM | None = None):
        self.name = name
        self.model, self.decoding, self.timeout = model, decoding, timeout
        self._lm = lm
        self._programs: dict[str, Counsellor] = {}

    @property
    def lm(self) -> dspy.BaseLM:
        if self._lm is None:
            self._lm = dspy_lm(self.model, self.decoding, self.timeout)
        return self._lm

    def program(self, system_template: str) -> Counsellor:
        if system_template not in self._programs:
            self._programs[system_template] = counsellor(system_template)
        return self._programs[system_template]

    def adapter(self, conversation: Conversation) -> dspy.Adapter:
        return ADAPTERS[self.name](conversation.values)

    def messages(self, conversation: Conversation) -> list[Message]:
        predictor = self.program(conversation.system_template).respond
        return self.adapter(conversation).format(predictor.signature, predictor.demos, program_inputs(conversation))

    async def respond(self, conversation: Conversation) -> Generation:
        program = self.program(conversation.system_template)
        with dspy.context(lm=self.lm, adapter=self.adapter(conversation), track_usage=True):
            prediction = await program.acall(**program_inputs(conversation))
        usage: dict[str, Any] = next(iter((prediction.get_lm_usage() or {}).values()), {})
        return Generation(prediction.reply, usage.get("prompt_tokens"), usage.get("completion_tokens"))
