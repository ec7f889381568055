"""A prefilter for the offline back-end: skipping regex scans that cannot match.

The offline scorers hold a few hundred patterns, and any one reply matches only a handful.
For each pattern we derive a set of literal strings at least one of which every match must
contain (from the parsed pattern, so this never hides a real match). `PatternBank` puts those
literal sets into one RE2 set: a single linear pass per reply says which patterns can match
at all, and only those run with Python's `re`. Patterns without such literals always run, and
without RE2 installed every pattern runs.
"""

from __future__ import annotations

import importlib
from typing import Any

# The parser behind `re` (Python 3.11+ names): read, never modified, to find each pattern's literals.
sre_constants: Any = importlib.import_module("re._constants")
sre_parse: Any = importlib.import_module("re._parser")

LITERAL = sre_constants.LITERAL
BRANCH = sre_constants.BRANCH
SUBPATTERN = sre_constants.SUBPATTERN
MAX_REPEAT = sre_constants.MAX_REPEAT
MIN_REPEAT = sre_constants.MIN_REPEAT
ZERO_WIDTH = {sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT}
DIGIT = "\x00digit"  # stands for "some digit": `\d` is necessary but no literal is
MIN_GATE = 3  # shorter literals ("a", "is") would let almost every reply through


def _score(candidate: set[str]) -> int:
    return min(MIN_GATE if c == DIGIT else len(c) for c in candidate)


def _sequence_sets(items) -> list[set[str]]:
    """Every necessary literal set of a sequence, best (longest shortest literal) first."""
    sets: list[set[str]] = []
    run = ""
    for op, arg in items:
        if op == LITERAL:
            run += chr(arg)
            continue
        if run:
            sets.append({run})
        run = ""
        if op in ZERO_WIDTH:
            continue
        found = _item(op, arg)
        if found:
            sets.append(found)
    if run:
        sets.append({run})
    sets = [s for s in sets if _score(s) >= MIN_GATE]
    return sorted(sets, key=_score, reverse=True)


def _sequence(items) -> set[str] | None:
    sets = _sequence_sets(items)
    return sets[0] if sets else None


def _item(op, arg) -> set[str] | None:
    if op == sre_constants.IN and arg == [(sre_constants.CATEGORY, sre_constants.CATEGORY_DIGIT)]:
        return {DIGIT}
    if op == BRANCH:
        found: set[str] = set()
        for alternative in arg[1]:
            literals = _sequence(alternative)
            if literals is None:
                return None
            found |= literals
        return found
    if op == SUBPATTERN:
        return _sequence(arg[-1])
    if op in (MAX_REPEAT, MIN_REPEAT) and arg[0] >= 1:
        return _sequence(arg[2])
    return None


def necessary_sets(source: str, most: int = 2) -> list[set[str]]:
    """Up to `most` literal sets, each of which every match must hit: requiring all of them
    (say, a verb *and* a noun) lets far fewer replies through than any one alone."""
    try:
        return _sequence_sets(sre_parse.parse(source).data)[:most]
    except Exception:  # an unusual construct: no gate, always scan
        return []


class PatternBank:
    """All lower-case detector patterns, prefiltered together with one RE2 set."""

    def __init__(self) -> None:
        self.sources: list[str] = []
        self._set: Any = None  # an RE2 set, or False when RE2 is not installed
        self._always: set[int] = set()
        self._single: dict[int, set[int]] = {}
        self._double: dict[int, list[tuple[int, int]]] = {}
        self._compiled_size = -1

    def add(self, source: str) -> int:
        self.sources.append(source)
        return len(self.sources) - 1

    def _compile(self) -> None:
        try:
            import re2
        except ImportError:
            self._set = False
            return
        options = re2.Options()
        options.never_capture = True
        bank = re2.Set.SearchSet(options)
        entries: dict[str, int] = {}
        self._always, self._single, self._double = set(), {}, {}  # rebuilt for the patterns added since
        for index, source in enumerate(self.sources):
            sets = necessary_sets(source)
            if not sets:
                self._always.add(index)
                continue
            needed = []
            for literals in sets:
                entry = "|".join(r"\d" if literal == DIGIT else re2.escape(literal) for literal in sorted(literals))
                if entry not in entries:
                    entries[entry] = bank.Add(entry)
                needed.append(entries[entry])
            if len(needed) == 1:
                self._single.setdefault(needed[0], set()).add(index)
            else:
                self._double.setdefault(needed[0], []).append((index, needed[1]))
        bank.Compile()
        self._set = bank
        self._compiled_size = len(self.sources)

    def present(self, text: str) -> set[int] | None:
        """Indices of patterns that may match `text`; None means "scan everything"."""
        if self._compiled_size != len(self.sources):
            self._compile()
        if not self._set:
            return None
        hit = set(self._set.Match(text) or ())
        present = set(self._always)
        for entry in hit:
            if entry in self._single:
                present |= self._single[entry]
            for index, other in self._double.get(entry, ()):
                if other in hit:
                    present.add(index)
        return present


BANK = PatternBank()
