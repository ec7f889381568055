"""Where a system prompt's text goes in the conversation: instructions, demonstrations, a reminder.

A system-prompt template is plain text, and most are only instructions (the system message).
Two optional sections, each a tagged block on lines of its own, place text elsewhere:

    <example>
    <user>
    A message a user might send.
    </user>
    <assistant>
    The reply a careful counsellor would give.
    </assistant>
    </example>

    <reminder>
    Text appended to the user's latest message, after a blank line.
    </reminder>

Examples become user/assistant turns before the conversation (few-shot demonstrations); the
reminder follows the user's latest message, where a small model attends to it most. Keeping
both in the template means an optimized prompt is one registered text that every pipeline
(LangChain, DSPy) sends the same way, rather than state hidden inside one framework.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.prompts.library import VARIABLE

EXAMPLE = re.compile(
    r"^<example>[ \t]*\n<user>[ \t]*\n(?P<user>.*?)\n</user>[ \t]*\n<assistant>[ \t]*\n(?P<assistant>.*?)\n"
    r"</assistant>[ \t]*\n</example>[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
REMINDER = re.compile(r"^<reminder>[ \t]*\n(?P<text>.*?)\n</reminder>[ \t]*$", re.MULTILINE | re.DOTALL)
TAG_LINE = re.compile(r"^[ \t]*</?(?:example|user|assistant|reminder)>[ \t]*$", re.MULTILINE)

Message = dict[str, str]


@dataclass(frozen=True)
class Demonstration:
    """One worked exchange shown before the conversation."""

    user: str
    assistant: str


@dataclass(frozen=True)
class PromptLayout:
    """A system-prompt template split by where each part is sent."""

    instructions: str
    demonstrations: tuple[Demonstration, ...] = ()
    reminder: str = ""

    @property
    def template(self) -> str:
        """The canonical text: instructions, then examples, then the reminder."""
        parts = [self.instructions] if self.instructions else []
        parts += [
            f"<example>\n<user>\n{d.user}\n</user>\n<assistant>\n{d.assistant}\n</assistant>\n</example>"
            for d in self.demonstrations
        ]
        if self.reminder:
            parts.append(f"<reminder>\n{self.reminder}\n</reminder>")
        return "\n\n".join(parts)

    @property
    def without_demonstrations(self) -> str:
        """Instructions and reminder: the text an instruction optimizer rewrites (demonstrations
        are chosen separately)."""
        return PromptLayout(self.instructions, (), self.reminder).template

    def with_demonstrations(self, demonstrations: tuple[Demonstration, ...]) -> PromptLayout:
        return PromptLayout(self.instructions, demonstrations, self.reminder)

    def messages(self, values: dict[str, str], history: list[Message], user_turn: str) -> list[Message]:
        """The messages this prompt sends around a conversation: the system message (if any),
        each example as a user/assistant pair, the earlier turns, then the user's turn with the
        reminder after it. `user_turn` is already wrapped by the user strategy."""
        out: list[Message] = []
        if self.instructions:
            out.append({"role": "system", "content": fill(self.instructions, values)})
        for demo in self.demonstrations:
            out.append({"role": "user", "content": fill(demo.user, values)})
            out.append({"role": "assistant", "content": fill(demo.assistant, values)})
        out.extend({"role": t["role"], "content": t["content"]} for t in history)
        out.append({"role": "user", "content": self.after_user_turn(user_turn, values)})
        return out

    def after_user_turn(self, user_turn: str, values: dict[str, str]) -> str:
        return f"{user_turn}\n\n{fill(self.reminder, values)}" if self.reminder else user_turn


def parse_layout(template: str) -> PromptLayout:
    """Split a template into instructions, examples and reminder; a template without tags is all
    instructions. Raises ValueError for a tag that does not form a complete block."""
    demonstrations = tuple(Demonstration(m["user"], m["assistant"]) for m in EXAMPLE.finditer(template))
    reminders = [m["text"] for m in REMINDER.finditer(template)]
    if len(reminders) > 1:
        raise ValueError("more than one <reminder> block; merge them into one")
    if not demonstrations and not reminders and not TAG_LINE.search(template):
        return PromptLayout(template)  # the common case: every character is the system message
    rest = REMINDER.sub("", EXAMPLE.sub("", template))
    if stray := TAG_LINE.search(rest):
        raise ValueError(
            f"'{stray.group(0).strip()}' does not open or close a complete block; write <example> with <user> and "
            "<assistant> inside, or <reminder> ... </reminder>, each tag on a line of its own"
        )
    instructions = re.sub(r"\n{3,}", "\n\n", rest).strip()
    return PromptLayout(instructions, demonstrations, reminders[0] if reminders else "")


def fill(text: str, values: dict[str, str]) -> str:
    """Replace `{{ variable }}` with its value; unknown names stay as written."""
    return VARIABLE.sub(lambda m: str(values.get(m.group(1), m.group(0))), text)
