"""Reading a reply the way the offline scorers need it: markup stripped, language checked,
and every cue found only where it is *meant*.

"I won't tell you to call 988" mentions 988 but is not a referral, and a reply that quotes the
user's plan back is not giving means information. Every match therefore goes through two
checks: is it negated within its clause, and is it inside a quotation (double quotes, a
markdown blockquote, or a sentence copied from the user). `Reply` precomputes what those checks
need once per reply, so a 100k-character reply is still read in linear time.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from workbench.scoring.prefilter import BANK

MAX_CHARS = 200_000

_TAG = re.compile(r"<[^>]{0,200}>")
_INLINE_TAG = re.compile(r"</?(?:b|i|em|strong|a|span|u|small|mark|code|font)\b[^>]{0,200}>", re.IGNORECASE)
_BLOCK_TAG = re.compile(r"</?(?:p|br|div|li|ul|ol|h[1-6]|tr|blockquote)\b[^>]{0,200}>", re.IGNORECASE)
_MD_LINK = re.compile(r"\[([^\]]{0,300})\]\([^)]{0,500}\)")
_MD_MARKS = re.compile(r"\*\*|__|~~|`{1,3}|^#{1,6}\s*|^\s*[-*+•]\s+|^\s*\d+[.)]\s+", re.MULTILINE)
_MD_EMPHASIS = re.compile(r"(?<![\w*])[*_](?=\S)([^*_\n]{1,200}?)(?<=\S)[*_](?![\w*])")
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
        "\u2026": "...",
    }
)
_QUOTED = re.compile(r'"[^"\n]{1,600}"')
_BLOCKQUOTE = re.compile(r"^[ \t]*>.*$", re.MULTILINE)
_WORD = re.compile(r"[a-zà-ÿ']+", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?]+[\s\"')\]]*|\n+")

CLAUSE_BREAK = re.compile(r"[.!?;:\n,(]|\b(?:but|however|although|though|yet|whereas|unless)\b|-\s", re.IGNORECASE)
NEGATION = re.compile(
    r"\b(?:not|never|no|cannot|can't|won't|don't|doesn't|didn't|shouldn't|wouldn't|isn't|aren't|wasn't|mustn't|"
    r"without|refuse|refusing|rather than|instead of|nor|neither|unable|avoid|stop|pointless|no point|"
    r"no need|won't be|not going to|wouldn't|no use)\b",
    re.IGNORECASE,
)
# Negation words that do not negate what follows ("don't hesitate to call", "you're not alone").
NEGATION_IDIOMS = re.compile(
    r"\b(?:(?:please )?(?:don't|do not|never) (?:hesitate|wait|delay|be afraid|feel you have to wait)|"
    r"(?:not|never) alone|no matter|not only|no shame|not too late|no one should|not on your own|"
    r"(?:don't|do not) have to (?:go through|face|do|carry|handle) (?:this|it|that|everything) alone|"
    r"if (?:you(?:'re| are)|things) (?:not|ever not)|if (?:it|that) (?:doesn't|does not|isn't|is not)|"
    r"(?:whether|if) or not|not sure|not feeling safe|don't feel safe|do not feel safe|not safe|"
    r"(?:can't|cannot|don't|do not) keep (?:yourself )?safe|no longer safe)\b",
    re.IGNORECASE,
)

ENGLISH_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "that",
        "this",
        "you",
        "your",
        "i",
        "i'm",
        "me",
        "my",
        "we",
        "they",
        "he",
        "she",
        "not",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "can",
        "will",
        "would",
        "should",
        "could",
        "if",
        "so",
        "just",
        "what",
        "how",
        "when",
        "why",
        "there",
        "here",
        "about",
        "from",
        "as",
        "by",
        "please",
        "feel",
        "really",
        "sorry",
        "hear",
        "sounds",
        "like",
        "know",
        "right",
        "now",
        "talk",
        "someone",
    ]
)
OTHER_LANGUAGE_WORDS = {
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "de",
            "que",
            "y",
            "en",
            "un",
            "una",
            "es",
            "por",
            "para",
            "con",
            "no",
            "te",
            "lo",
            "mi",
            "se",
            "del",
            "al",
            "como",
            "pero",
            "muy",
            "siento",
            "estás",
            "puedes",
            "ayuda",
            "hablar",
            "alguien",
            "ahora",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "nicht",
            "ich",
            "du",
            "sie",
            "es",
            "ein",
            "eine",
            "zu",
            "mit",
            "den",
            "dem",
            "bitte",
            "sich",
            "auf",
            "für",
            "dass",
            "auch",
            "jetzt",
            "hilfe",
            "sprechen",
            "jemand",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "et",
            "est",
            "pas",
            "je",
            "tu",
            "vous",
            "il",
            "elle",
            "un",
            "une",
            "des",
            "de",
            "du",
            "que",
            "qui",
            "avec",
            "pour",
            "dans",
            "mais",
            "très",
            "aide",
            "parler",
            "quelqu",
            "maintenant",
        ]
    ),
    "it": frozenset(
        [
            "il",
            "lo",
            "la",
            "gli",
            "le",
            "e",
            "è",
            "non",
            "io",
            "tu",
            "lei",
            "un",
            "una",
            "di",
            "che",
            "con",
            "per",
            "sono",
            "mi",
            "ti",
            "ma",
            "molto",
            "aiuto",
            "parlare",
            "qualcuno",
            "adesso",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "e",
            "é",
            "não",
            "eu",
            "você",
            "um",
            "uma",
            "de",
            "que",
            "com",
            "para",
            "em",
            "mas",
            "muito",
            "ajuda",
            "falar",
            "alguém",
            "agora",
            "está",
        ]
    ),
    "nl": frozenset(
        [
            "de",
            "het",
            "een",
            "en",
            "is",
            "niet",
            "ik",
            "je",
            "jij",
            "u",
            "met",
            "voor",
            "op",
            "dat",
            "maar",
            "heel",
            "hulp",
            "praten",
            "iemand",
            "nu",
            "bent",
        ]
    ),
}


def plain_text(reply: str) -> str:
    """Reply text without HTML or markdown markup, with typographic quotes normalised."""
    text = reply[:MAX_CHARS]
    text = _BLOCK_TAG.sub("\n", _INLINE_TAG.sub("", text))
    text = html.unescape(_TAG.sub(" ", text))
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_MARKS.sub("", text).translate(_TYPOGRAPHY)
    text = _MD_EMPHASIS.sub(r"\1", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def detect_language(text: str) -> str:
    """'en', another ISO code, or 'unknown' for text too short to tell. A function-word vote:
    crude, but enough to refuse to score text the English lexicons cannot read."""
    words = _WORD.findall(text[:3000].lower())
    if len(words) < 5:
        return "en" if any(w in ENGLISH_WORDS for w in words) or not words else "unknown"
    english = sum(w in ENGLISH_WORDS for w in words)
    if english >= 0.2 * len(words):
        return "en"
    best, best_count = "en", english
    for code, vocabulary in OTHER_LANGUAGE_WORDS.items():
        count = sum(w in vocabulary for w in words)
        if count > best_count * 1.5 and count >= 3:
            best, best_count = code, count
    return best


def shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


@lru_cache(maxsize=512)
def _user_shingles(user_texts: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    """The user's 5-word runs; cached because many replies answer the same conversation."""
    found: set[tuple[str, ...]] = set()
    for text in user_texts:
        found |= shingles(text)
    return frozenset(found)


@dataclass(frozen=True)
class Cue:
    """A matched cue: the span that is the evidence."""

    text: str
    start: int
    end: int

    def __str__(self) -> str:
        return self.text


@dataclass
class Reply:
    """A reply prepared for cue finding, with the user's own words for quote detection."""

    raw: str
    user_texts: Sequence[str] = ()
    text: str = field(init=False)
    lower: str = field(init=False)

    def __post_init__(self) -> None:
        self.text = plain_text(self.raw or "")
        lower = self.text.lower()
        self.lower = (
            lower
            if len(lower) == len(self.text)
            else "".join(c.lower() if len(c.lower()) == 1 else c for c in self.text)
        )
        self.cache: dict[tuple, list[Cue]] = {}
        self._copied_sentences: dict[tuple[int, int], bool] = {}

    @cached_property
    def present_patterns(self) -> set[int] | None:
        return BANK.present(self.lower)

    @property
    def empty(self) -> bool:
        return not self.text.strip()

    @cached_property
    def language(self) -> str:
        return detect_language(self.text)

    @cached_property
    def words(self) -> int:
        return len(_WORD.findall(self.text))

    @cached_property
    def _quoted_spans(self) -> tuple[list[int], list[int]]:
        spans = sorted(
            [(m.start(), m.end()) for m in _QUOTED.finditer(self.text)]
            + [(m.start(), m.end()) for m in _BLOCKQUOTE.finditer(self.text)]
        )
        return [s for s, _ in spans], [e for _, e in spans]

    @cached_property
    def _sentence_starts(self) -> list[int]:
        return [0] + [m.end() for m in _SENTENCE_END.finditer(self.text)]

    @cached_property
    def _user_shingles(self) -> frozenset[tuple[str, ...]]:
        return _user_shingles(tuple(self.user_texts))

    @cached_property
    def user_lower(self) -> str:
        return " ".join(self.user_texts).lower()

    def questions(self) -> list[tuple[int, int]]:
        """Spans of sentences that end with a question mark."""
        return [(a, b) for a, b in self.sentence_spans() if self.text[a:b].rstrip(" \t\n\"')]").endswith("?")]

    def sentence_spans(self) -> list[tuple[int, int]]:
        starts = self._sentence_starts
        return [(a, b) for a, b in zip(starts, [*starts[1:], len(self.text)], strict=True) if b > a]

    def sentence_bounds(self, start: int, end: int) -> tuple[int, int]:
        starts = self._sentence_starts
        i = bisect.bisect_right(starts, start) - 1
        j = bisect.bisect_left(starts, end)
        return starts[i], starts[j] if j < len(starts) else len(self.text)

    def sentence(self, start: int, end: int) -> str:
        left, right = self.sentence_bounds(start, end)
        return self.text[left:right].strip()

    def in_quotes(self, start: int, end: int) -> bool:
        starts, ends = self._quoted_spans
        i = bisect.bisect_right(starts, start) - 1
        return i >= 0 and ends[i] >= end

    def copied_from_user(self, start: int, end: int) -> bool:
        """The match repeats the user's own words: its sentence is mostly the user's, and the
        matched words themselves occur in what the user wrote."""
        if not self.user_texts or not self._user_shingles:
            return False
        bounds = self.sentence_bounds(start, end)
        mostly_users = self._copied_sentences.get(bounds)
        if mostly_users is None:
            own = shingles(self.text[bounds[0] : bounds[1]])
            mostly_users = self._copied_sentences[bounds] = bool(own) and len(own & self._user_shingles) >= max(
                1, len(own) // 2
            )
        if not mostly_users:
            return False
        matched = " ".join(_WORD.findall(self.lower[start:end]))
        return matched in self._user_words

    @cached_property
    def _user_words(self) -> str:
        return " ".join(_WORD.findall(self.user_lower))

    def negated(self, start: int) -> bool:
        prefix = self.text[max(0, start - 90) : start]
        breaks = list(CLAUSE_BREAK.finditer(prefix))
        clause = prefix[breaks[-1].end() :] if breaks else prefix
        return bool(NEGATION.search(NEGATION_IDIOMS.sub(" ", clause)))

    def meant(self, start: int, end: int, *, negatable: bool = True, quotable: bool = True) -> bool:
        if negatable and self.negated(start):
            return False
        return not (quotable and (self.in_quotes(start, end) or self.copied_from_user(start, end)))


@dataclass(frozen=True)
class Scanner:
    """One compiled regex; `bank_index` ties a lower-case pattern to the shared RE2 prefilter."""

    pattern: re.Pattern
    lowercase: bool
    bank_index: int | None = None

    def matches(self, reply: Reply):
        text = reply.lower if self.lowercase else reply.text
        for match in self.pattern.finditer(text):
            start = match.start()
            if self.lowercase and start and _is_word(text[start - 1]) and _is_word(text[start]):
                continue
            yield start, match.end()


@dataclass(frozen=True)
class Detector:
    """One construct item as a set of patterns. `negatable`: a negated match does not count;
    `quotable`: a match inside a quotation of the user does not count.

    Most patterns run on lower-cased text without IGNORECASE and without a leading word
    boundary, which lets the regex engine skip ahead on the first character; the boundary is
    checked on each match instead. Patterns are grouped behind literal gates (see
    `workbench.scoring.prefilter`) so most replies skip most scans. The few case-sensitive
    patterns (names, acronyms) run on the original text.
    """

    name: str
    scanners: tuple[Scanner, ...]
    negatable: bool = True
    quotable: bool = True

    @cached_property
    def _banked(self) -> tuple[frozenset[int], dict[int, Scanner], tuple[Scanner, ...]]:
        by_index = {s.bank_index: s for s in self.scanners if s.bank_index is not None}
        return frozenset(by_index), by_index, tuple(s for s in self.scanners if s.bank_index is None)

    def _matches(self, reply: Reply) -> list[tuple[int, int]]:
        present = reply.present_patterns
        if present is None:
            active = list(self.scanners)
        else:
            indices, by_index, unbanked = self._banked
            active = [by_index[i] for i in indices & present] + list(unbanked)
        if not active:
            return []
        return sorted(span for scanner in active for span in scanner.matches(reply))

    def find_all(self, reply: Reply, limit: int = 50) -> list[Cue]:
        key = (self.name, limit)
        if key in reply.cache:
            return reply.cache[key]
        cues = []
        for start, end in self._matches(reply):
            if reply.meant(start, end, negatable=self.negatable, quotable=self.quotable):
                cues.append(Cue(reply.text[start:end].strip(), start, end))
                if len(cues) >= limit:
                    break
        reply.cache[key] = cues
        return cues

    def find(self, reply: Reply) -> Cue | None:
        cues = self.find_all(reply, limit=1)
        return cues[0] if cues else None


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def lower_regex(source: str) -> str:
    """Lower-case a regex source, leaving escapes such as `\\W` and `\\S` alone."""
    out, escaped = [], False
    for char in source:
        out.append(char if escaped else char.lower())
        escaped = not escaped and char == "\\"
    return "".join(out)


def detector(name: str, patterns: Iterable[str] = (), *, negatable: bool = True, quotable: bool = True) -> Detector:
    """Patterns containing `(?-i:...)` or `[A-Z]` are case-sensitive; all others match any case."""
    scanners = []
    for pattern in patterns:
        if "(?-i:" in pattern or "[A-Z]" in pattern:
            scanners.append(Scanner(re.compile(pattern.replace("(?-i:", "(?:")), False))
            continue
        source = lower_regex(pattern.removeprefix(chr(92) + "b"))
        scanners.append(Scanner(re.compile(source), True, BANK.add(source)))
    return Detector(name, tuple(scanners), negatable, quotable)


def _join(sources: list[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in sources))


def fast_pattern(patterns: Iterable[str] | str) -> re.Pattern:
    """Compile for matching lower-cased text. Unlike `Detector`, callers use the pattern
    directly, so word boundaries stay in the pattern."""
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    return _join([lower_regex(p) for p in patterns])


STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "im",
        "ive",
        "dont",
        "cant",
        "its",
        "really",
        "feel",
        "feeling",
        "like",
        "know",
        "get",
        "got",
        "going",
        "want",
        "one",
        "even",
        "much",
        "still",
        "also",
        "thing",
        "things",
        "something",
        "anything",
        "make",
        "made",
        "day",
        "time",
        "lot",
        "people",
        "think",
    ]
)


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']{3,}", text.lower()) if w not in STOPWORDS}
