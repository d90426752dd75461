"""Grounding: every number a supervisor reads must be one the evidence holds.

A reasoner's text is grounded when each number in it appears in an evidence fact (rounded
numbers count when they round an evidence number) and each evidence id it cites exists.
Numbers inside identifiers (SKUs, locations, ids, timestamps) are not quantities and are
ignored. :func:`repair_explanation` is the one repair attempt: it drops the sentences that
carry an unsupported number and the citations that do not exist.
"""

from __future__ import annotations

import re

from agents.case import Classification, Explanation
from agents.narrative import derived_figures
from warehouse.contract import EvidenceItem

# A quantity: not glued to a word, id, date or time on either side.
_NUMBER = re.compile(r"(?<![\w.\-/:])-?\d+(?:\.\d+)?(?![\w\-/:]|\.\d)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_CITE = re.compile(r"\[(E\d+)\]")


def numbers_in(text: str) -> list[str]:
    """The quantities written in ``text``, as written."""
    return _NUMBER.findall(_THOUSANDS.sub("", text))


def _supported(token: str, known: list[float]) -> bool:
    value = float(token)
    if value in known or -value in known:  # the common case, without the rounding scan
        return True
    places = len(token.split(".")[1]) if "." in token else 0
    for k in known:
        if abs(k - value) <= 1e-9 * max(1.0, abs(k)) or round(k, places) == value:
            return True
        if abs(k) == abs(value):  # a loss written as a positive amount
            return True
    return False


def evidence_numbers(evidence: list[EvidenceItem]) -> list[float]:
    """Every quantity stated in the evidence, and the figures the narrative derives from it."""
    return [float(n) for e in evidence for n in numbers_in(e.fact)] + derived_figures(evidence)


def ungrounded(text: str, cited: list[str], evidence: list[EvidenceItem]) -> list[str]:
    """What is wrong with ``text``: unsupported numbers and citations of missing evidence.

    Returns:
        One line per problem; empty when the text is grounded.
    """
    known = evidence_numbers(evidence)
    ids = {e.id for e in evidence if e.id}
    issues = [f"number {n} is not in the evidence" for n in numbers_in(text)
              if not _supported(n, known)]
    issues += [f"cites {c}, which does not exist" for c in dict.fromkeys(
        [*cited, *_CITE.findall(text)]) if c not in ids]
    return issues


def unsupported_numbers(text: str, sources: list[str], *, allowed: tuple[float, ...] = ()
                        ) -> list[str]:
    """The numbers of ``text`` that no source text states (and that ``allowed`` does not hold).

    The same rule as the evidence check (rounding and sign allowed), for a text whose facts
    are a conversation's: what the model was shown and what its tools returned.
    """
    known = [float(n) for src in sources for n in numbers_in(src)] + list(allowed)
    return [n for n in numbers_in(text) if not _supported(n, known)]


def classification_issues(verdict: Classification, evidence: list[EvidenceItem]) -> list[str]:
    """Grounding problems of a verdict's rationale and citations."""
    return ungrounded(verdict.rationale, verdict.cited_evidence, evidence)


def explanation_issues(text: Explanation, evidence: list[EvidenceItem]) -> list[str]:
    """Grounding problems of a summary plus explanation and their citations."""
    return ungrounded(f"{text.summary}\n{text.explanation}", text.cited_evidence, evidence)


def repair_classification(verdict: Classification, evidence: list[EvidenceItem]
                          ) -> Classification | None:
    """Drop missing citations and unsupported rationale sentences; None if nothing is left."""
    ids = {e.id for e in evidence if e.id}
    rationale = _keep_grounded(verdict.rationale, evidence)
    if not rationale:
        return None
    return verdict.model_copy(update={
        "rationale": rationale, "cited_evidence": [c for c in verdict.cited_evidence if c in ids]})


def repair_explanation(text: Explanation, evidence: list[EvidenceItem]) -> Explanation | None:
    """Drop unsupported sentences and missing citations; None when summary or body is lost."""
    ids = {e.id for e in evidence if e.id}
    summary = _keep_grounded(text.summary, evidence)
    body = _keep_grounded(text.explanation, evidence)
    if not summary or not body:
        return None
    return Explanation(summary=summary, explanation=body,
                       cited_evidence=[c for c in text.cited_evidence if c in ids])


def _keep_grounded(text: str, evidence: list[EvidenceItem]) -> str:
    parts = [p for p in _SENTENCE.split(text) if p.strip()]
    return " ".join(p.strip() for p in parts if not ungrounded(p, [], evidence))
