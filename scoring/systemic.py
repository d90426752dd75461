"""One cause behind many occurrences: flags that fold into a systemic pattern.

A feed that repeats lines (the same payload under a second id, again and again, from one
posting user or interface) or a scanner that double-scans across many SKUs is one problem,
not one per line: the flags of such a cause are taken out of the incident grouping and held
by a :class:`Pattern`, whose occurrences (one per flagged transaction) become the children
of one systemic ticket (contract section 5). A cause is systemic when it has at least
``min_occurrences`` occurrences spread over at least ``min_spread`` SKUs or days; fewer stay
ordinary incidents. A subject whose flags the scorer already marks as a site pattern (a
``pattern:`` link key, e.g. ``REPEATED_LINE_IN_REF``) is systemic at any count, and so is one
already known to be (the service's open systemic tickets: later occurrences join them). Other
flags on an occurrence's transactions join that occurrence.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from scoring.types import Flag

FEED_CODES = frozenset({"DUPLICATE_PAYLOAD", "REPEATED_LINE_IN_REF"})
"""An event delivered or a line posted twice: the feed (posting user) is the subject."""
SCANNER_CODES = frozenset({"DOUBLE_SCAN", "IMPOSSIBLE_TRAVEL"})
"""Scans a handheld could not have made once: the scanner (device) is the subject."""
FAMILIES: dict[str, frozenset[str]] = {"feed": FEED_CODES, "scanner": SCANNER_CODES}


@dataclass
class Occurrence:
    """One flagged transaction of a pattern (its flags of the pattern's codes)."""

    txn_id: str
    flags: list[Flag]

    @property
    def related(self) -> list[str]:
        """Transactions the occurrence repeats (``duplicate_of``, ``first_txn``)."""
        return list(dict.fromkeys(str(f.numbers[n]) for f in self.flags
                                  for n in ("duplicate_of", "first_txn") if f.numbers.get(n)))


@dataclass
class Pattern:
    """One systemic cause: a family (feed, scanner), its subject, and its occurrences."""

    family: str
    subject: str
    occurrences: list[Occurrence] = field(default_factory=list)

    @property
    def flags(self) -> list[Flag]:
        """Every flag of every occurrence."""
        return [f for o in self.occurrences for f in o.flags]

    @property
    def codes(self) -> list[str]:
        """The family's reason codes seen, in order of first appearance."""
        return list(dict.fromkeys(f.code for f in self.flags if f.code in FAMILIES[self.family]))

    @property
    def skus(self) -> list[str]:
        """Distinct SKUs, most occurrences first."""
        return _by_count(f.sku for f in self.flags)

    @property
    def locations(self) -> list[str]:
        """Distinct locations, most occurrences first."""
        return _by_count(f.location for f in self.flags)

    @property
    def days(self) -> list[str]:
        """Distinct calendar days (UTC) with an occurrence, in order."""
        return sorted({f.ts[:10] for f in self.flags if f.ts})


def _by_count(values: object) -> list[str]:
    counts: dict[str, int] = {}
    for v in values:  # type: ignore[attr-defined]
        if v:
            counts[v] = counts.get(v, 0) + 1
    return sorted(counts, key=lambda k: (-counts[k], k))


def _subject(family: str, flag: Flag) -> str | None:
    if family == "scanner":
        return str(flag.numbers.get("scanner") or flag.device_id or "") or None
    return flag.user_id


def fold(flags: Sequence[Flag], *, min_occurrences: int, min_spread: int,
         systemic: Collection[tuple[str, str]] = ()) -> tuple[list[Flag], list[Pattern]]:
    """Split ``flags`` into those left for incidents and the systemic patterns.

    Args:
        flags: the scorer's flags.
        min_occurrences: flagged transactions one subject needs to be systemic.
        min_spread: distinct SKUs or days those must span.
        systemic: (family, subject) pairs already systemic, folded at any count.

    Returns:
        The flags not folded (in their order) and the patterns, most occurrences first.
    """
    candidates: dict[tuple[str, str], dict[str, list[Flag]]] = {}
    for f in flags:
        for family, codes in FAMILIES.items():
            if f.code in codes and (subject := _subject(family, f)):
                candidates.setdefault((family, subject), {}).setdefault(f.txn_id, []).append(f)
    patterns = []
    for (family, subject), by_txn in candidates.items():
        pattern = Pattern(family, subject, [Occurrence(t, fl) for t, fl in by_txn.items()])
        spread = max(len(pattern.skus), len(pattern.days))
        known = (family, subject) in systemic or any(
            k.startswith("pattern:") for f in pattern.flags for k in f.keys)
        if known or (len(pattern.occurrences) >= min_occurrences and spread >= min_spread):
            patterns.append(pattern)
    patterns.sort(key=lambda p: (-len(p.occurrences), p.family, p.subject))
    # other flags on an occurrence's transactions (a volume spike the repeated line makes)
    # belong to that occurrence, not to an incident of their own
    home: dict[str, Occurrence] = {}
    for pattern in patterns:
        for occ in pattern.occurrences:
            for txn in [occ.txn_id, *occ.related]:
                home.setdefault(txn, occ)
    folded = {id(f) for p in patterns for f in p.flags}
    for f in flags:
        if id(f) not in folded and (owner := home.get(f.txn_id)) is not None:
            owner.flags.append(f)
            folded.add(id(f))
    return [f for f in flags if id(f) not in folded], patterns
