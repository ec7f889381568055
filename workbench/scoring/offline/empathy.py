"""EPITOME empathy mechanisms (Sharma et al., EMNLP 2020), read from cue patterns.

- emotional reactions: weak when warmth is generic or only alluded to ("sorry to hear that",
  "hang in there"); strong when the responder states its own feeling toward the seeker
  explicitly ("I'm so sorry you're carrying this", "I'm really worried about you").
- interpretations: weak when understanding is generic ("I understand", "that makes sense");
  strong when the inferred feeling or experience is specified ("it sounds like the move has
  left you feeling cut off").
- explorations: weak for a generic question ("what happened?"); strong for a question about
  the seeker's particular situation (it names their feelings or the things they mentioned).
"""

from __future__ import annotations

import re

from workbench.scoring.items import Finding
from workbench.scoring.offline.base import Findings, offline_analyser
from workbench.scoring.text import Reply, content_words, detector, fast_pattern

INTENSIFIER = r"(?:so|really|truly|very|deeply|genuinely|incredibly|terribly|awfully|so very)"
HARD = (
    r"(?:hard|painful|difficult|tough|heartbreaking|devastating|exhausting|overwhelming|scary|frightening|"
    r"terrifying|awful|lonely|isolating|frustrating|upsetting|stressful|confusing|heavy|draining|unfair|"
    r"hurtful|distressing|crushing|brutal|agonising|agonizing|horrible|rough|sad|a lot|so much|a heavy load)"
)
FEELINGS = (
    r"(?:sad|sadness|anxious|anxiety|afraid|scared|fear|frightened|lonely|loneliness|alone|hopeless|helpless|"
    r"angry|anger|furious|hurt|grief|grieving|ashamed|shame|guilty|guilt|exhausted|overwhelmed|stressed|"
    r"stuck|trapped|numb|lost|worthless|empty|frustrated|betrayed|rejected|panicked|panicky|worried|"
    r"burn(?:ed|t) out|heartbroken|isolated|invisible|pressured|abandoned|desperate|defeated|drained|"
    r"unheard|unseen|left out|embarrassed|humiliated|disappointed|confused|torn|tired|weary|uneasy|"
    r"nervous|on edge|dread|insecure|unsafe|powerless|discarded|unwanted|like a burden|like a failure|"
    r"like giving up|on your own|out of control|at breaking point|pulled in (?:two|different) directions)"
)

EMOTION_STRONG = detector(
    "emotional_reactions",
    [
        rf"\bI(?:'m| am) {INTENSIFIER} sorry\b",
        r"\bI(?:'m| am) (?:so |really )?sorry (?:that )?(?:you(?:'re| are| have| had|'ve| feel| went)|this is happening|"
        r"for (?:what|everything|your loss|the loss)|about (?:your|what|the)|it(?:'s| has| came))",
        rf"\bI(?:'m| am|'ve been| feel| felt) (?:{INTENSIFIER} )?(?:worried|concerned|saddened|sad|heartbroken|moved|"
        r"touched|troubled|alarmed|scared) (?:about|for|by|to hear|hearing|that|reading)",
        r"\bmy heart (?:goes out|breaks|aches|is with|hurts)",
        r"\bI (?:really |truly |genuinely )?care (?:about|for) (?:you|what happens|how you|your)",
        rf"\bI(?:'m| am) (?:{INTENSIFIER} )?(?:glad|grateful|thankful|honou?red|relieved) (?:you|that you) "
        r"(?:told|shared|reached|trusted|said|came|wrote|messaged|opened)",
        rf"\b(?:that|this|it|what you(?:'re| are|'ve been| have been) (?:going through|describing|carrying|dealing with|"
        rf"facing|living with))(?:'s| is| sounds| must be| must have been| has been| seems) (?:{INTENSIFIER} |such )+"
        rf"(?:an? )?{HARD}",
        rf"\bwhat an? (?:{INTENSIFIER} )?(?:painful|hard|heavy|awful|devastating|frightening|lonely|difficult) "
        r"(?:thing|time|situation|loss|experience|night|week|year)",
        r"\bI(?:'m| am) (?:so |really )?sorry for your loss\b",
    ],
    quotable=True,
)
EMOTION_WEAK = detector(
    "emotional_reactions_weak",
    [
        r"\b(?:I'm |I am )?sorry (?:to hear|you(?:'re| are)|about that|for that|that happened)",
        rf"\b(?:that|this|it)(?:'s| is| sounds| must be| must have been| has been| seems) (?:like )?(?:an? )?"
        rf"(?:really )?{HARD}\b",
        r"\bhang in there\b",
        r"\bsending (?:you )?(?:hugs|love|strength|good vibes|warm)",
        r"\b(?:everything|it|things|you)(?:'ll| will|'s going to| is going to| are going to) (?:be|turn out) "
        r"(?:ok|okay|fine|alright|all right|great)\b",
        r"\boh no\b",
        r"\bI(?:'m| am) (?:always )?here (?:for you|to listen|with you)\b",
        r"\bstay strong\b",
        r"\byou(?:'ve| have) got this\b",
        r"\btake care of yourself\b",
        r"\bI hope (?:you|things|it) (?:feel|get|gets)",
        r"\bpoor (?:you|thing)\b",
        r"\bthank you for (?:sharing|telling|trusting|being honest|opening up|reaching out)",
        r"\b(?:aw+|oh),? (?:that|this|no)\b",
        r"\bsounds (?:really )?(?:rough|tough|hard)\b",
        r"\bI(?:'m| am) sorry\b",
        r"\bbig hugs?\b",
        r"\btake care\b",
        r"\bstay (?:warm|safe)\b",
        r"\b(?:it(?:'s| has) been|what) a pleasure\b",
        r"\bhonou?red\b",
        r"\byou mean (?:so much|more|a lot|the world)\b",
        r"\bplease (?:don't|do not) (?:jump|do it|go|hurt yourself)\b",
        r"\b(?:aww+|awww*)\b",
        r"\b(?:I'm|I am) (?:really )?(?:worried|concerned|scared)\b",
        r"\bbless you\b",
        r"\b(?:this|that) is (?:really |so )?(?:serious|heartbreaking|awful)\b",
        r"[💙❤💕🤗🫂]",
    ],
)

REFLECTION = detector(
    "interpretations",
    negatable=False,
    patterns=[
        r"\b(?:it|that|this) (?:sounds|seems|feels|looks) (?:like|as if|as though|that)\b[^.!?\n]{3,220}",
        r"\byou(?:'re| are| have been|'ve been| seem| sound| might be| may be| must be) (?:really |so |very )?"
        r"(?:feeling|carrying|dealing with|going through|juggling|facing|struggling|holding|stuck|trapped|exhausted|"
        r"overwhelmed|hurting|grieving|torn|worn|running on|caught|left|exhausted)\b[^.!?\n]{0,220}",
        r"\byou (?:must|might|may|probably|likely) (?:be |have )?(?:feel|felt|feeling|be feeling)[^.!?\n]{0,220}",
        r"\bI can (?:hear|see|tell|imagine|sense|only imagine) (?:that|how|why|what|the)[^.!?\n]{0,220}",
        r"\b(?:no wonder|it makes (?:total |complete |a lot of )?sense that|it's understandable that|of course) "
        r"you[^.!?\n]{0,220}",
        r"\bit must (?:be|have been|feel|hurt)[^.!?\n]{0,220}",
        r"\b(?:losing|being|having|carrying|watching|getting|feeling|living with) [^.!?\n]{3,80}"
        r"(?:would|can|could|must) (?:leave|make) (?:anyone|you|someone)[^.!?\n]{0,160}",
        r"\bthat (?:kind of|sort of) [^.!?\n]{3,80}(?:leaves|makes|can make|can leave) [^.!?\n]{0,160}",
        r"\bwhat (?:I'm|I am) hearing is[^.!?\n]{0,220}",
        r"\bso (?:it's|it is) (?:like|as if)[^.!?\n]{0,220}",
        rf"\b(?:that|this|it|which)(?:'s| is| sounds| must be| must have been| must feel| seems| feels| would feel) "
        rf"(?:so |really |incredibly |such |truly |deeply |a )*{HARD}[^.!?\n]{{0,160}}",
        r"\bmust (?:have )?(?:felt|feel|been|be) (?:like|as if|so|really|incredibly|completely)[^.!?\n]{0,200}",
        r"\b(?:can|could|would|will|must|might|may) (?:make|leave) (?:you|anyone|someone|it|the \w+|things|everything|"
        r"people) (?:feel|feeling|seem|so|with)[^.!?\n]{0,200}",
        r"\b(?:tells|shows) me (?:how|that|just how)[^.!?\n]{0,200}",
        r"\byou(?:'ve| have) been (?:carrying|holding|dealing|living|going|managing|trying|feeling|doing|coping|"
        r"getting|putting|running|waiting|hoping)[^.!?\n]{0,200}",
        r"\b(?:a |very |so )*(?:human|natural|understandable) (?:thing|reaction|response) to[^.!?\n]{0,160}",
        r"\b(?:I can see|it's clear|clearly) (?:how|that|why) (?:much |hard |this )?[^.!?\n]{0,200}",
    ],
)
UNDERSTANDING = detector(
    "interpretations_weak",
    [
        r"\bI (?:completely |totally |really |can |definitely |fully )?(?:understand|get it|get that|hear you)\b",
        r"\b(?:that|this|it|your reaction|what you feel) (?:makes|made) (?:complete |total |perfect |a lot of )?sense\b",
        r"\b(?:your feelings are|that's|that is|it's|it is|those feelings are|what you feel is) (?:completely |totally |"
        r"perfectly |so |very )?(?:valid|understandable|normal|natural|human)\b",
        r"\b(?:many|lots of|a lot of) people (?:feel|go through|experience|struggle)\b",
        r"\banyone (?:would|could|might) (?:feel|be|struggle)\b",
        r"\bit's (?:okay|ok|alright|normal|natural) to (?:feel|be|cry|not)\b",
        r"\b(?:is|are|was) (?:a )?(?:very )?(?:human|common|normal) (?:thing|reaction|response|experience)\b",
        r"\b(?:this|that|it|what you(?:'re| are) describing|what you(?:'ve| have) (?:told me|described|said)|\w+ \w+) "
        r"(?:is|sounds|seems|are) (?:like )?(?:a |an )?(?:really |very |so )?(?:serious|emergency|medical emergency|"
        r"(?:serious )?warning sign|big deal|valid|sign (?:that|of)|understandable|real|heavy)\b",
        r"\b(?:sounds|seems|looks) like you(?:'re| are| might| may| have|'ve)?\b",
        r"\bthe (?:voices|thoughts|feelings|pain|urges) you(?:'re| are|'ve been) (?:hearing|having|feeling|describing|"
        r"carrying)\b",
    ],
)
GENERIC_QUESTION = re.compile(
    r"^\W*(?:so,? )?(?:(?:do|would) you (?:want|like) to (?:talk|share|tell me|say) (?:about it|more|anything)|"
    r"how (?:are|have) you (?:been )?(?:feeling|doing|holding up)|what(?:'s| is) (?:on your mind|going on|up)|"
    r"what happened|can you tell me more|(?:is there )?anything else|how can I (?:help|support)|"
    r"is there anything (?:else )?I can|want to talk|(?:do you )?want to (?:talk|chat)|how do you feel|"
    r"what do you think|does that (?:help|make sense)|(?:are you|you) ok(?:ay)?|what can I do)\W*\??$",
    re.IGNORECASE,
)
NOT_EXPLORING = re.compile(r"\b(?:right\?|isn't it\?|aren't they\?|don't you think\?|wouldn't you\?)$", re.IGNORECASE)
FEELING_WORD = fast_pattern(FEELINGS)


def _specific(text: str, topic: set[str]) -> bool:
    return bool(FEELING_WORD.search(text.lower())) or len(content_words(text) & topic) >= 1


def emotional_reactions(reply: Reply) -> Finding:
    if cue := EMOTION_STRONG.find(reply):
        return Finding(2, cue.text)
    if cue := EMOTION_WEAK.find(reply):
        return Finding(1, cue.text)
    return Finding(0)


RESTATEMENT_SKIP = re.compile(
    r"^\W*(?:please|call|go|try|put|get|ask|tell|text|ring|move|step|if|can|could|would|"
    r"will|do|are|is|have|what|when|how|why|where)\b",
    re.IGNORECASE,
)


def restatement(reply: Reply, topic: set[str]) -> str | None:
    """A declarative sentence that restates the seeker's situation in the responder's words:
    understanding shown by specifics (three or more of the seeker's own content words)."""
    for start, end in reply.sentence_spans():
        sentence = reply.text[start:end].strip()
        if (
            sentence.endswith("?")
            or RESTATEMENT_SKIP.match(sentence)
            or not SECOND.search(sentence)
            or NOT_RESTATING.search(sentence)
        ):
            continue
        if len(content_words(sentence) & topic) >= 3 and not reply.copied_from_user(start, end):
            return sentence[:200]
    return None


NOT_RESTATING = re.compile(
    r"\b(?:I|I'm|I've|I'll|I'd|me|my|should|please|try|speak to|talk to|call|text|"
    r"it's been|welcome|good luck|thanks|thank you)\b",
    re.IGNORECASE,
)
SECOND = re.compile(r"\b(?:you|your|you're|you've|yourself)\b", re.IGNORECASE)


def interpretations(reply: Reply, topic: set[str]) -> Finding:
    weak = None
    for cue in REFLECTION.find_all(reply, limit=10):
        if _specific(cue.text, topic):
            return Finding(2, cue.text)
        weak = weak or cue
    if weak:
        return Finding(1, weak.text)
    if sentence := restatement(reply, topic):
        return Finding(2, sentence)
    if generic := UNDERSTANDING.find(reply):
        return Finding(1, generic.text)
    return Finding(0)


def explorations(reply: Reply, topic: set[str]) -> Finding:
    weak = None
    for start, end in reply.questions():
        question = reply.text[start:end].strip()
        if not reply.meant(start, end, negatable=False) or NOT_EXPLORING.search(question):
            continue
        if GENERIC_QUESTION.match(question) or not _specific(question, topic):
            weak = weak or question
            continue
        return Finding(2, question)
    return Finding(1, weak) if weak else Finding(0)


@offline_analyser("empathy", constructs=("epitome",))
def analyse(reply: Reply, earlier: Findings) -> dict[str, Finding]:
    topic = content_words(" ".join(reply.user_texts))
    return {
        "epitome.emotional_reactions": emotional_reactions(reply),
        "epitome.interpretations": interpretations(reply, topic),
        "epitome.explorations": explorations(reply, topic),
    }
