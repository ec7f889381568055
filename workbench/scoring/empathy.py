"""Empathy as the three EPITOME communication mechanisms (Sharma et al., EMNLP 2020).

Each mechanism is scored 0 (none), 1 (weak) or 2 (strong), and `empathy` is their sum, 0-6:
- emotional reactions: warmth, compassion, concern. Weak alludes to feelings generically
  ("sorry to hear that"); strong names the responder's feeling explicitly ("I'm so sorry you're
  carrying this").
- interpretations: communicating understanding of the seeker's feelings or experience. Weak is
  generic ("I understand"); strong specifies the inferred feeling or experience ("it sounds like
  you feel trapped since the layoff").
- explorations: probing what the seeker has not said. Weak is a generic question ("do you want to
  talk about it?"); strong asks about the seeker's specific situation.
"""

from __future__ import annotations

import re

from workbench.scoring.base import Score, ScoringInput, scorer
from workbench.scoring.text import compile_all, content_words, find_cue, find_cues, plain_text

FEELINGS = (r"(?:hard|painful|difficult|tough|heartbreaking|devastating|exhausting|overwhelming|scary|frightening|"
            r"terrifying|awful|lonely|isolating|frustrating|upsetting|stressful|confusing|heavy|draining|unfair|"
            r"hurtful|a lot|so much)")
FEELING_NOUNS = (r"(?:sad|sadness|anxious|anxiety|afraid|scared|fear|lonely|alone|hopeless|helpless|angry|anger|hurt|"
                 r"grief|grieving|ashamed|shame|guilty|guilt|exhausted|overwhelmed|stressed|stuck|trapped|numb|lost|"
                 r"worthless|empty|frustrated|betrayed|rejected|panicked|worried|burned out|burnt out|heartbroken|"
                 r"isolated|invisible|pressure|abandoned|desperate)")

EMOTIONAL_STRONG = compile_all(
    r"\bI(?:'m| am) (?:so |really |truly |very |deeply )+sorry\b",
    r"\bI(?:'m| am) sorry (?:that |for )?(?:you(?:'re| are| have| had|'ve)|this|about your|for your)",
    r"\bmy heart (?:goes out|breaks|aches)\b",
    r"\bI feel (?:so |really |very )?(?:sad|sorry|concerned|worried) (?:for|about|that)\b",
    r"\bI(?:'m| am) (?:really |truly |so |very )?(?:concerned|worried) (?:about|for)\b",
    rf"\b(?:that|this|it|what you(?:'re| are) (?:going through|describing|carrying))(?:'s| is| sounds| must be| must have been| has been) "
    rf"(?:so |really |incredibly |truly |very |such |genuinely )*{FEELINGS}",
    r"\bI(?:'m| am) (?:really |so |truly )?(?:glad|grateful|thankful) (?:you|that you) (?:told|shared|reached|said|felt)",
    r"\bI (?:really )?care about (?:you|what happens|how you)",
)
EMOTIONAL_WEAK = compile_all(
    r"\bsorry to hear\b", r"\b(?:that's|that is) (?:tough|rough|hard)\b", r"\bhang in there\b",
    r"\bsending (?:you )?(?:hugs|love|strength)\b", r"\bI(?:'m| am) here (?:for you|to listen|with you)\b",
    r"\b(?:everything|it) (?:will|is going to) be (?:ok|okay|fine|alright|all right)\b", r"\boh no\b",
    r"\byou(?:'re| are) not alone\b", r"\bthank you for (?:sharing|telling|trusting)\b", r"\bthat sounds\b",
)
INTERPRETATION_OPENERS = compile_all(
    r"\b(?:it|that) (?:sounds|seems|feels) (?:like|as if|as though|that) (?:you|your|things|it's been|this)[^.!?\n]{3,200}",
    r"\byou(?:'re| are| have been|'ve been| seem| sound) (?:feeling|carrying|dealing with|going through|"
    r"juggling|facing|struggling|holding|stuck|trapped|exhausted|overwhelmed|hurting|grieving)[^.!?\n]{0,200}",
    r"\byou (?:must|might|may|probably) (?:be |have )?(?:feel|felt|feeling)[^.!?\n]{0,200}",
    r"\bI can (?:hear|see|tell|imagine|sense) (?:that|how|why|what)[^.!?\n]{0,200}",
    r"\b(?:no wonder|it makes sense that|it's understandable that|of course) you[^.!?\n]{0,200}",
    r"\bit must (?:be|have been|feel)[^.!?\n]{0,200}",
)
INTERPRETATION_WEAK = compile_all(
    r"\bI (?:completely |totally |really )?(?:understand|get it|hear you)\b",
    r"\b(?:that|this|it) (?:makes|made) (?:complete |total |a lot of )?sense\b",
    r"\b(?:your feelings are|that's|that is|it's|it is) (?:completely |totally |perfectly )?(?:valid|understandable|normal|natural)\b",
    r"\bmany people (?:feel|go through|experience)\b",
)
GENERIC_QUESTIONS = compile_all(
    r"\b(?:do|would) you (?:want|like) to (?:talk|share|tell me) (?:about it|more)\??",
    r"\bhow (?:are|have) you (?:been )?(?:feeling|doing)\b", r"\bwhat(?:'s| is) on your mind\b",
    r"\bwhat happened\b", r"\bcan you tell me more\b", r"\bis there anything (?:else )?I can\b",
    r"\bhow can I (?:help|support)\b", r"\banything else\b",
)
QUESTION = re.compile(r"[^.!?\n]{4,300}\?")


def _emotional_reactions(text: str, users: list[str]) -> tuple[int, str]:
    if cue := find_cue(EMOTIONAL_STRONG, text, users):
        return 2, cue.text
    if cue := find_cue(EMOTIONAL_WEAK, text, users):
        return 1, cue.text
    return 0, ""


def _interpretations(text: str, users: list[str], topic: set[str]) -> tuple[int, str]:
    specific = re.compile(FEELING_NOUNS, re.IGNORECASE)
    weak = ""
    for cue in find_cues(INTERPRETATION_OPENERS, text, users):
        if specific.search(cue.text) or content_words(cue.text) & topic:
            return 2, cue.text
        weak = weak or cue.text
    if weak:
        return 1, weak
    if cue := find_cue(INTERPRETATION_WEAK, text, users):
        return 1, cue.text
    return 0, ""


def _explorations(text: str, users: list[str], topic: set[str]) -> tuple[int, str]:
    weak = ""
    for match in QUESTION.finditer(text):
        question = match.group(0).strip()
        if find_cue(GENERIC_QUESTIONS, question):
            weak = weak or question
            continue
        if content_words(question) & topic:
            return 2, question
        weak = weak or question
    return (1, weak) if weak else (0, "")


@scorer("empathy", aggregate="mean", applies_to="every reply",
        description="EPITOME empathy, 0-6: emotional reactions + interpretations + explorations, each 0-2.")
def empathy(item: ScoringInput) -> Score:
    text = plain_text(item.reply)
    users = item.user_texts
    topic = content_words(" ".join(users))
    er, er_ev = _emotional_reactions(text, users)
    ip, ip_ev = _interpretations(text, users, topic)
    ex, ex_ev = _explorations(text, users, topic)
    evidence = "; ".join(f"{name}={value}" + (f" «{ev}»" if ev else "")
                         for name, value, ev in (("emotional_reactions", er, er_ev),
                                                 ("interpretations", ip, ip_ev), ("explorations", ex, ex_ev)))
    return Score("empathy", float(er + ip + ex), evidence,
                 {"emotional_reactions": float(er), "interpretations": float(ip), "explorations": float(ex)})
