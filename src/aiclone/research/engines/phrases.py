"""Key phrases and cue sentences from page text: simple, frequency-based and explainable.

Key phrases: the text is lower-cased and cut into runs of content words at punctuation and at
stop words (the RAKE idea). Every 1-, 2- and 3-word sequence inside a run is a candidate,
scored by how often it occurs times its length in words, so a phrase that recurs beats each of
its words alone. Multi-word candidates seen only once are dropped as noise, words shorter than
three letters and numbers are ignored, and a candidate whose words all belong to a phrase
already chosen is skipped. Ties go to the phrase seen first.

Cue sentences: sentences that mention a pain cue ("struggle", "manual", "costly"…) or an
opportunity cue ("hiring", "launch", "expanding"…), as starting points for a human reader,
not as conclusions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_STOP_WORDS_TEXT = """
    a about above after again against all also am an and any are aren as at be because been before
    being below between both but by can cannot could did didn do does doesn doing don down during
    each even every few for from further get gets got had has have having he her here hers herself
    him himself his how however i if in into is isn it its itself just let like ll made make many
    may me more most much must my myself no nor not now of off on once one only or other our ours
    ourselves out over own per please re same see she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up upon us
    use used using ve very via was wasn we well were what when where which while who whom why will
    with within without won would yes yet you your yours yourself yourselves new news home page
    click read learn contact us menu skip content copyright rights reserved privacy policy terms
    cookies cookie login log sign search follow share view all more back next previous top
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_APOSTROPHE = "\u2019"
_WORD = re.compile(r"[a-z][a-z0-9'\u2019-]*[a-z0-9]|[a-z]")
# Punctuation, quotes, bullets and dashes end a phrase.
_FRAGMENT = re.compile(r"[.,;:!?()\[\]{}\"\u201c\u201d|/\\<>\u2022\u00b7\u2013\u2014]+|\s-\s")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")

PAIN_CUES = (
    "struggl", "challeng", "problem", "pain", "difficult", "costly", "expensive", "slow", "manual",
    "inefficien", "bottleneck", "downtime", "churn", "complex", "frustrat", "outdated", "legacy",
    "risk", "error-prone", "time-consuming", "waste",
)  # fmt: skip
OPPORTUNITY_CUES = (
    "hiring", "we're hiring", "join our team", "growing", "growth", "expand", "launch", "funding",
    "raised", "series a", "series b", "partner", "new office", "announc", "opening", "scale", "scaling",
    "invest", "acquir",
)  # fmt: skip


def _runs(text: str) -> Iterable[list[str]]:
    for fragment in _FRAGMENT.split(text.lower()):
        run: list[str] = []
        for found in _WORD.findall(fragment):
            word = found.replace(_APOSTROPHE, "'")
            if word in STOP_WORDS or len(word) < 3 or word.isdigit():
                if run:
                    yield run
                run = []
            else:
                run.append(word)
        if run:
            yield run


def key_phrases(texts: Iterable[str], *, limit: int = 10, max_words: int = 3) -> list[str]:
    counts: Counter[tuple[str, ...]] = Counter()
    first_seen: dict[tuple[str, ...], int] = {}
    for text in texts:
        for run in _runs(text):
            for size in range(1, max_words + 1):
                for start in range(len(run) - size + 1):
                    gram = tuple(run[start : start + size])
                    counts[gram] += 1
                    first_seen.setdefault(gram, len(first_seen))
    candidates = [(gram, count * len(gram)) for gram, count in counts.items() if len(gram) == 1 or count >= 2]
    candidates.sort(key=lambda item: (-item[1], first_seen[item[0]]))
    chosen: list[tuple[str, ...]] = []
    covered: set[str] = set()
    for gram, _score in candidates:
        if set(gram) <= covered:
            continue
        chosen.append(gram)
        covered.update(gram)
        if len(chosen) == limit:
            break
    return [" ".join(gram) for gram in chosen]


def cue_sentences(texts: Iterable[str], cues: Iterable[str], *, limit: int = 5) -> list[str]:
    patterns = [re.compile(r"\b" + re.escape(cue), re.I) for cue in cues]
    found: dict[str, None] = {}
    for text in texts:
        for part in _SENTENCE.split(text):
            sentence = part.strip()
            if not 25 <= len(sentence) <= 300:
                continue
            if any(pattern.search(sentence) for pattern in patterns):
                found.setdefault(sentence, None)
                if len(found) == limit:
                    return list(found)
    return list(found)
