"""Consistency: an explanation may not contradict its own evidence, counts or approval rule.

Grounding (:mod:`agents.grounding`) checks that each number is *somewhere* in the evidence;
this checks what the prose claims against what the evidence says:

- "without a recorded cause" / "no reason code" while the write-offs carry reason codes;
- "N weighings" (write-offs, cycle counts, receipts) where the evidence counts otherwise;
- "once a supervisor approves" where the approval rule needs a controller (or the reverse),
  when the caller knows the role the rules require.

Sentences quoted verbatim from the evidence are the evidence's own claims and are skipped.
:func:`contradictions` returns one line per problem; the graph sends an explanation with
any problem back to the offline template path (no repair: a contradiction is not a typo).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agents.narrative import by_code, signals
from warehouse.contract import Action, EvidenceItem

ApproverRole = Callable[[Action], str | None]
"""The least role the approval rules require for an action (``supervisor``, ...), if known."""

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_COUNT = re.compile(r"\b(\d+|" + "|".join(_WORDS) + r")\s+(weighings?|write-?offs?|writeoffs?"
                    r"|(?:cycle\s+)?counts?|receipts?)\b", re.IGNORECASE)
_NO_CAUSE = re.compile(r"without (a |any )?(recorded|stated|given) (cause|reason)"
                       r"|no reason codes?\b|without (a |any )?reason codes?", re.IGNORECASE)
_ROLE_CLAIM = re.compile(
    r"\b(supervisor|controller|admin)s?\b[^.;]{0,30}?\bapprov"
    r"|\bapprov\w*\s+(?:by|from|of)\s+(?:an?\s+|the\s+)?(supervisor|controller|admin)",
    re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_CITE = re.compile(r"\s*\[E\d+\]")


def _noun(word: str) -> str:
    word = word.lower().replace("-", "").replace(" ", "")
    for noun in ("weighing", "writeoff", "receipt"):
        if word.startswith(noun):
            return noun
    return "count"


def evidence_counts(evidence: list[EvidenceItem]) -> dict[str, set[int]]:
    """How many weighings, write-offs, counts and receipts the evidence shows or states."""
    groups = by_code(signals(evidence))
    counts: dict[str, set[int]] = {"weighing": set(), "writeoff": set(), "count": set(),
                                   "receipt": set()}
    for s in groups.get("WEIGHT_RATIO_CONSTANT", []):
        if (rows := s.num("rows")) is not None:
            counts["weighing"].add(int(rows))
    weighed = sum(1 for e in evidence if e.source == "transactions" and "weighed" in e.fact)
    if weighed:
        counts["weighing"].add(weighed)
    if "WRITE_OFF_PATTERN" in groups:
        counts["writeoff"].add(len(groups["WRITE_OFF_PATTERN"]))
    if "COUNT_VARIANCE" in groups:
        counts["count"].add(len(groups["COUNT_VARIANCE"]))
    receipts = sum(1 for e in evidence if e.source == "receipt_vs_asn")
    if receipts:
        counts["receipt"].add(receipts)
    for e in evidence:  # counts the evidence states in words ("7 negative adjustments")
        for number, word in _COUNT.findall(e.fact):
            counts[_noun(word)].add(_as_int(number))
        for number in re.findall(r"(\d+) negative adjustments", e.fact):
            counts["writeoff"].add(int(number))
    return counts


def _as_int(token: str) -> int:
    return _WORDS.get(token.lower(), None) or int(token)


def _prose(text: str, evidence: list[EvidenceItem]) -> list[str]:
    """The sentences of ``text`` that are not verbatim quotes of an evidence fact."""
    facts = {_CITE.sub("", e.fact).strip().rstrip(".").lower() for e in evidence}
    sentences = [_CITE.sub("", p).strip() for p in _SENTENCE.split(text) if p.strip()]
    return [s for s in sentences if s.rstrip(".").lower() not in facts]


def contradictions(text: str, evidence: list[EvidenceItem], *,
                   required_role: str | None = None) -> list[str]:
    """What ``text`` claims that its evidence (or the approval rule) contradicts.

    Args:
        text: summary and explanation.
        evidence: the ticket's evidence.
        required_role: the least role the approval rules require, when known.

    Returns:
        One line per contradiction; empty when the prose agrees with the evidence.
    """
    problems = []
    prose = _prose(text, evidence)
    coded = [s for s in signals(evidence) if s.code == "WRITE_OFF_PATTERN"
             and s.params.get("reason_code")]
    for sentence in prose:
        if coded and _NO_CAUSE.search(sentence):
            problems.append(f"says {_NO_CAUSE.search(sentence).group(0)!r} but "  # type: ignore[union-attr]
                            f"{len(coded)} write-off(s) carry reason codes")
        if required_role:
            for match in _ROLE_CLAIM.finditer(sentence):
                claimed = (match.group(1) or match.group(2)).lower()
                if claimed != required_role.lower():
                    problems.append(f"says a {claimed} approves but the approval rules need "
                                    f"a {required_role}")
    known = evidence_counts(evidence)
    for sentence in prose:
        for number, word in _COUNT.findall(sentence):
            noun, n = _noun(word), _as_int(number)
            if known[noun] and n not in known[noun]:
                problems.append(f"says {number} {word} but the evidence shows "
                                f"{' or '.join(str(k) for k in sorted(known[noun]))}")
    return problems
