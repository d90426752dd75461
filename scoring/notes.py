"""Operator notes read as evidence: what a floor note says about the cause, quoted as data.

Staff write what they found ("wrong barcode", "sold as sets", "lost", "damages", "found",
"?"): that is a classification signal, as much as a weight is. A note is untrusted text, so
reading it is deliberately narrow: a short phrase from :data:`LEXICON` gives a signal; a
note that addresses the system (names a verdict, an action, a status, approval or
instructions, or carries markup) gives none and is never quoted in evidence. A reading
only shifts the reasoner's belief about the cause (:mod:`agents.reasoners.offline`); the
action still comes from the policy and the evidence, and nothing a note says approves,
routes or writes anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from warehouse.contract import ActionType, RootCause, TicketStatus

R = RootCause
MAX_WORDS = 12
"""A floor note is a short phrase; longer text is read as data only, never as a signal."""


@dataclass(frozen=True)
class NoteReading:
    """What one note says: the cause it points at (None: uncertainty only) and a label."""

    text: str
    cause: RootCause | None
    label: str


LEXICON: tuple[tuple[re.Pattern[str], RootCause | None, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), cause, label) for pattern, cause, label in (
        (r"\b(wrong|incorrect)\w* (bar ?code|code|item|label)|bar ?code|label mix"
         r"|\bsold as \d|mis-?scan", R.MIS_SCAN, "a wrong code was scanned"),
        (r"\bsold (as|in) (a )?sets?\b|\bsold sets?\b|\bsold in \d+'?s\b|\bset/\d|pack size"
         r"|case (qty|quantity)", R.UOM_MASTER_DATA, "sold in another pack than the master"),
        (r"\bnot (rcvd|rec'?d|received|delivered|arrived|in (the )?delivery)\b"
         r"|\bnever (arrived|came|rcvd|received|delivered)\b|\bshort[- ]?(delivered|shipped)\b"
         r"|\b(missing|short) (from|in|on) (the )?(delivery|shipment|order from)\b"
         r"|\bover[- ]?(delivered|shipped)\b|\bsupplier (short|error|sent)",
         R.RECEIVING_ERROR, "a delivery that differed from what was booked in"),
        (r"\blost\b|\bmissing\b|\bmia\b|\bstolen\b|\btheft\b|\bdisappeared\b|\bmystery\b",
         R.SHRINKAGE, "stock lost without a cause"),
        (r"damage|thrown away|throw away|\bbroken\b|\bcracked\b|\bsmashed\b|\bcrushed\b"
         r"|mould|rusty|\bwet\b|faulty|leak|\bsplit\b|can't sell",
         R.LEGITIMATE, "a recorded damage"),
        (r"\bfound\b", R.LEGITIMATE, "stock found"),
        (r"reslot|relocat|replen|second truck|split delivery|rest on",
         R.LEGITIMATE, "a planned movement or delivery"),
        (r"amazon|dotcom|mail ?out|showroom|samples?\b|display|given away",
         R.LEGITIMATE, "stock that left through another channel"),
        (r"credit(ed)? error|incorrectly credited|\breverse\b", R.LEGITIMATE,
         "a correction of an earlier posting"),
        (r"\?|\bcheck\b|mystery|possible|unsure", None, "the operator was unsure"),
    ))
"""Phrase -> cause it points at (None: doubt only) -> plain label; the first match wins,
except that a doubt (``?``) is noted beside a cause."""
_ADDRESSING = re.compile(
    r"\b(ignore|approve\w*|instruction\w*|system|assistant|ai|classify|verdict|severity"
    r"|override|write.?back|skip|urgent|must|ticket)\b|[{}<>\[\]]", re.IGNORECASE)
_NAMES = re.compile("|".join(rf"\b{re.escape(v.value)}\b"
                             for v in (*RootCause, *ActionType, *TicketStatus)))
"""Our own vocabulary as we write it (``SHRINKAGE``, ``NO_ACTION``): a note using it
addresses the system; the floor's own words ("reslot", "recount") do not."""


def read_note(text: str | None) -> list[NoteReading]:
    """The signals one note gives (empty for no note, a long text or one addressing us)."""
    if not text or not text.strip():
        return []
    clean = " ".join(text.split())
    if len(clean.split()) > MAX_WORDS or _ADDRESSING.search(clean) or _NAMES.search(clean):
        return []
    out: list[NoteReading] = []
    for pattern, cause, label in LEXICON:
        if pattern.search(clean) and (cause is None or not any(r.cause for r in out)):
            out.append(NoteReading(clean, cause, label))
    return out


def note_causes(notes: list[str]) -> dict[RootCause, int]:
    """How many notes point at each cause."""
    counts: dict[RootCause, int] = {}
    for note in notes:
        for cause in {r.cause for r in read_note(note) if r.cause is not None}:
            counts[cause] = counts.get(cause, 0) + 1
    return counts


def doubtful(notes: list[str]) -> bool:
    """Whether some note says the operator was unsure ("?", "check")."""
    return any(r.cause is None for n in notes for r in read_note(n))


def catalogue_of(items: pd.DataFrame) -> frozenset[str]:
    """The item descriptions of a master, normalised as :func:`named_cause` compares them.

    Exports fill an empty note with the item's catalogue text ("RED KITCHEN SCALES"): that
    is no one's words about a cause.
    """
    desc: Iterable[object] = items["description"].dropna() if "description" in items else ()
    return frozenset(" ".join(str(d).split()).lower() for d in desc)


def named_cause(note: str | None, catalogue: frozenset[str] = frozenset()) -> RootCause | None:
    """The cause a floor note names (None: no note, doubt only, addressing us, or catalogue)."""
    if not note or " ".join(note.split()).lower() in catalogue:
        return None
    return next((r.cause for r in read_note(note) if r.cause is not None), None)
