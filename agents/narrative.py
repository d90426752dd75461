"""What happened in one case, in plain sentences built from its evidence.

The scorer's reason codes (``WRITE_OFF_PATTERN user=OP472 writeoffs_same_item=1 ...``) are
parsed into :class:`Signal` s; :func:`story` turns the signals that bear on the chosen root
cause into sentences with their numbers and citations, grouped per code (six write-offs
read as one sentence, not six rows). :func:`mechanism` names which of a cause's mechanisms
the evidence shows, so the explanation's "why" speaks of that one. :data:`REASON_LABELS`
gives each code a human label for the UI's evidence table.

Every number a sentence prints is an evidence number or a figure
:func:`derived_figures` reads from the evidence (how many signals of a code), so
:mod:`agents.grounding` accepts the prose; the ticket's money is told only by quoting the
policy's value-at-risk fact (:func:`agents.value.value_fact`), never summed here.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable

from pydantic import BaseModel

from warehouse.contract import EvidenceItem, RootCause

REASON_LABELS: dict[str, str] = {
    "WRITE_OFF_PATTERN": "repeated write-offs",
    "WEIGHT_RATIO_CONSTANT": "weight off by a constant ratio",
    "DOCK_WEIGHT_MISMATCH": "dock weight does not fit the quantity",
    "WEIGHT_MISMATCH": "weighed quantity does not fit the scan",
    "PACK_MULTIPLE": "variance in whole cases",
    "COUNT_VARIANCE": "cycle count differs from the system",
    "SAME_SIGN_VARIANCES": "same-direction variances in several bins",
    "MIRRORED_VARIANCE": "mirrored variances",
    "PICK_WITHOUT_STOCK": "pick from a bin without stock",
    "DOUBLE_SCAN": "one handling scanned twice",
    "DUPLICATE_PAYLOAD": "one event delivered twice",
    "NEGATIVE_BALANCE": "negative system balance",
    "LATE_INFLOW_HEALS": "late event heals a negative balance",
    "AWAY_FROM_HOME": "put away from the home location",
    "HIGH_VALUE_OUTSIDE_CAGE": "high-value item outside the cage",
    "OVER_WEIGHT_LIMIT": "location over its weight limit",
    "RECEIPT_QTY_MISMATCH": "receipt differs from the ASN",
    "VELOCITY_SPIKE": "unusual number of lines",
    "FACE_TO_FACE_MOVE": "whole-bin move",
    "BIN_OVERFILL": "bin far fuller than usual",
    "RARE_STORAGE_TYPE": "rarely used storage type",
    "QTY_OUTLIER": "unusual quantity",
    "IMPOSSIBLE_TRAVEL": "scans too far apart for the time between them",
    "MULTIVARIATE_OUTLIER": "unusual combination of fields",
}
"""Each scorer reason code as a supervisor would say it."""

ADJUSTMENT_REASONS: dict[str, str] = {
    "DAMAGED": "damaged", "LOST": "lost", "FOUND": "found",
    "COUNT_CORRECTION": "count correction", "EXPIRED": "expired", "OTHER": "other",
}
"""Adjustment reason codes (contract section 1) as words."""

MECHANISMS: dict[RootCause, tuple[str, ...]] = {
    RootCause.MIS_SCAN: ("DOUBLE_SCAN", "WEIGHT_MISMATCH", "PICK_WITHOUT_STOCK",
                         "MIRRORED_VARIANCE", "NEGATIVE_BALANCE", "COUNT_VARIANCE"),
    RootCause.UOM_MASTER_DATA: ("WEIGHT_RATIO_CONSTANT", "DOCK_WEIGHT_MISMATCH",
                                "PACK_MULTIPLE", "SAME_SIGN_VARIANCES", "COUNT_VARIANCE"),
    RootCause.SLOTTING: ("HIGH_VALUE_OUTSIDE_CAGE", "OVER_WEIGHT_LIMIT", "MIRRORED_VARIANCE",
                         "AWAY_FROM_HOME", "FACE_TO_FACE_MOVE", "BIN_OVERFILL",
                         "RARE_STORAGE_TYPE", "COUNT_VARIANCE"),
    RootCause.RECEIVING_ERROR: ("RECEIPT_QTY_MISMATCH", "DOCK_WEIGHT_MISMATCH",
                                "COUNT_VARIANCE"),
    RootCause.SHRINKAGE: ("WRITE_OFF_PATTERN", "COUNT_VARIANCE", "NEGATIVE_BALANCE"),
    RootCause.SYSTEM_SYNC: ("DUPLICATE_PAYLOAD", "LATE_INFLOW_HEALS", "NEGATIVE_BALANCE"),
    RootCause.LEGITIMATE: ("VELOCITY_SPIKE", "BIN_OVERFILL", "FACE_TO_FACE_MOVE",
                           "RARE_STORAGE_TYPE", "QTY_OUTLIER"),
}
"""Per root cause, the reason codes that show one of its mechanisms, strongest first."""

KEY_FACTS: dict[RootCause, tuple[str, ...]] = {
    RootCause.MIS_SCAN: ("fits look-alike",),
}
"""Tool facts (besides the policy's) that show a cause's mechanism and are told verbatim."""
STORY_CODES = 3
"""At most this many reason codes are told per explanation (the strongest for the cause)."""
_SHOWN_PER_CODE = 3
_CODE = re.compile(r"^([A-Z][A-Z_]{3,})\b(.*)$")
_PARAM = re.compile(r"(\w+)=(\S+)")


class Signal(BaseModel):
    """One scorer reason code in the evidence, with its parameters as written."""

    code: str
    params: dict[str, str]
    id: str | None

    def num(self, key: str) -> float | None:
        """A parameter as a number, None when absent or not numeric."""
        try:
            return float(self.params[key])
        except (KeyError, ValueError):
            return None


def label_of(code: str) -> str:
    """A reason code's human label (the code itself, in words, when unknown)."""
    return REASON_LABELS.get(code, code.replace("_", " ").lower())


def signals(evidence: list[EvidenceItem]) -> list[Signal]:
    """The scorer reason codes in ``evidence`` (facts from ``scorer:*`` sources)."""
    found = []
    for e in evidence:
        if not e.source.startswith("scorer"):
            continue
        match = _CODE.match(e.fact.strip())
        if match and match.group(1) in REASON_LABELS:
            params = {k: _plain(v) for k, v in _PARAM.findall(match.group(2))}
            found.append(Signal(code=match.group(1), params=params, id=e.id))
    return found


def _plain(value: str) -> str:
    """A number in scientific notation (``1.86e+03``) as people write it (``1860``)."""
    if "e" in value.lower() and any(ch.isdigit() for ch in value):
        try:
            return f"{float(value):g}" if abs(float(value)) < 1e15 else value
        except ValueError:
            return value
    return value


def by_code(found: list[Signal]) -> dict[str, list[Signal]]:
    """Signals grouped per code, in order of first appearance."""
    groups: dict[str, list[Signal]] = defaultdict(list)
    for s in found:
        groups[s.code].append(s)
    return dict(groups)


def mechanism(cause: RootCause, evidence: list[EvidenceItem]) -> str | None:
    """The reason code that shows how ``cause`` happened here, or None if none does."""
    present = {s.code for s in signals(evidence)}
    return next((code for code in MECHANISMS[cause] if code in present), None)


def story(cause: RootCause, evidence: list[EvidenceItem]) -> list[str]:
    """Plain sentences of what happened: the cause's strongest signals, then the policy's view.

    Signals outside the cause's mechanisms are told only when none bear on it.
    """
    groups = by_code(signals(evidence))
    wanted = [c for c in MECHANISMS[cause] if c in groups] or list(groups)
    lines = [_tell(code, groups[code]) for code in wanted[:STORY_CODES]]
    keys = KEY_FACTS.get(cause, ())
    lines += [f"{_sentence(e.fact)} [{e.id}]" for e in evidence if e.id and (
        e.source == "policy" or any(k in e.fact for k in keys))]
    return [line for line in lines if line]


def derived_figures(evidence: list[EvidenceItem]) -> list[float]:
    """Figures :func:`story` reads from the evidence: signal counts per code, parsed params.

    Params are parsed so that scientific notation counts as written (``1.86e+03`` is 1860).

    Money is never derived here: the ticket's money is the policy's value-at-risk fact.
    """
    figures: list[float] = []
    for group in by_code(signals(evidence)).values():
        figures.append(float(len(group)))
        figures += [v for s in group for key in s.params if (v := s.num(key)) is not None]
    return figures


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "."


def _cites(group: list[Signal]) -> str:
    ids = [s.id for s in group if s.id]
    return " ".join(f"[{i}]" for i in ids)


def _g(s: Signal, key: str, default: str = "?") -> str:
    return s.params.get(key, default)


def _write_offs(group: list[Signal]) -> str:
    first = group[0]
    reasons = Counter(ADJUSTMENT_REASONS.get(_g(s, "reason_code", ""), "none given")
                      for s in group)
    reason_text = ", ".join(f"{name} ({n})" if len(group) > 1 else name
                            for name, n in reasons.most_common())
    off_hours = sum(1 for s in group if _g(s, "off_hours") == "True")
    text = (f"User {_g(first, 'user')} wrote this item off {len(group)} time"
            f"{'s' if len(group) != 1 else ''} within {_g(first, 'window_days')} days; "
            f"the reason codes recorded were {reason_text}.")
    if off_hours:
        text += (" It was off-shift." if len(group) == 1 else
                 f" {'All' if off_hours == len(group) else 'Some'} of them were off-shift.")
    rate, peers = first.num("user_rate_per_1k"), first.num("peer_median_per_1k")
    if rate is not None and peers is not None and rate > peers:
        text += (f" Their write-off rate is {_g(first, 'user_rate_per_1k')} per thousand "
                 f"transactions against a peer median of {_g(first, 'peer_median_per_1k')}.")
    return text


def _each(template: str) -> Callable[[list[Signal]], str]:
    """A teller that fills ``template`` from each signal (up to a few), joined."""
    def tell(group: list[Signal]) -> str:
        parts = []
        for s in group[:_SHOWN_PER_CODE]:
            try:
                money = {f"{k}_money": f"{v:,.2f}" for k in ("value",)
                         if (v := s.num(k)) is not None}
                parts.append(template.format(**s.params, **money))
            except KeyError:
                parts.append(f"{label_of(s.code)}: " + ", ".join(
                    f"{k} {v}" for k, v in s.params.items()))
        tail = " (More such signals are cited.)" if len(group) > _SHOWN_PER_CODE else ""
        return " ".join(_sentence(p) for p in parts) + tail
    return tell


def _sign(group: list[Signal]) -> str:
    s = group[0]
    direction = {"+": "over", "-": "short"}.get(_g(s, "sign"), _g(s, "sign"))
    return f"Counts in {_g(s, 'bins')} different bins all came out {direction}."


_TELLERS: dict[str, Callable[[list[Signal]], str]] = {
    "WRITE_OFF_PATTERN": _write_offs,
    "WEIGHT_RATIO_CONSTANT": _each(
        "across {rows} weighings by {users} different users the measured weight was a steady "
        "{ratio} times what the item master's unit weight predicts"),
    "DOCK_WEIGHT_MISMATCH": _each(
        "a receipt weighed {measured_kg} kg at the dock where the item master expects "
        "{expected_kg} kg (ratio {ratio}), which is about {implied_eaches} eaches"),
    "WEIGHT_MISMATCH": _each(
        "a scan weighed {measured_kg} kg where {expected_kg} kg was expected (ratio {ratio}): "
        "about {implied_eaches} eaches of this item, so something else was handled"),
    "PACK_MULTIPLE": _each(
        "a count variance of {variance} eaches is exactly {packs} cases of {case_qty}"),
    "COUNT_VARIANCE": _each(
        "a cycle count found {counted} where the system expected {expected} "
        "(variance {variance}, worth ${value_money})"),
    "SAME_SIGN_VARIANCES": _sign,
    "MIRRORED_VARIANCE": _each(
        "the counts mirror each other: {variance} here and {other_variance} of {other_sku} "
        "at {other_location}"),
    "PICK_WITHOUT_STOCK": _each(
        "a pick was scanned at {location}, which held no stock (balance {balance_before}); "
        "the item's home is {home}"),
    "DOUBLE_SCAN": _each(
        "the same {qty} eaches were scanned twice on {scanner}, {seconds_apart} seconds apart "
        "(first scan {first_txn})"),
    "DUPLICATE_PAYLOAD": _each(
        "the interface delivered one {type} of {qty} twice under two ids (the first is "
        "{duplicate_of})"),
    "NEGATIVE_BALANCE": _each(
        "the system balance went negative ({balance_after} eaches) for {negative_for_h} hours"),
    "LATE_INFLOW_HEALS": _each(
        "a later inflow to {to_location} healed a negative balance of {balance_before}"),
    "AWAY_FROM_HOME": _each("stock was put away at {to_location}, not at its home {home}"),
    "HIGH_VALUE_OUTSIDE_CAGE": _each(
        "an item costing {unit_cost} each went to {to_location} ({to_type}) instead of its "
        "cage location {home}"),
    "OVER_WEIGHT_LIMIT": _each(
        "{to_location} now carries {load_kg} kg against a limit of {limit_kg} kg"),
    "RECEIPT_QTY_MISMATCH": _each(
        "the receipt under {ref} booked {received} against {asn_qty} on the ASN "
        "(difference {difference}, {difference_pct}%)"),
    "VELOCITY_SPIKE": _each(
        "{lines_24h} lines in one day against a usual {usual_per_day} a day "
        "({ratio} times as many)"),
    "FACE_TO_FACE_MOVE": _each(
        "a move of {qty} from {from_location} to {to_location} left {left_behind} behind"),
    "BIN_OVERFILL": _each(
        "{to_location} reached {balance_after} eaches, {ratio} times its typical {typical}"),
    "RARE_STORAGE_TYPE": _each(
        "stock went to {to_location} ({to_type}), a storage type used {uses_in_history} times "
        "in {transfers_in_history} transfers"),
}


def _tell(code: str, group: list[Signal]) -> str:
    text = _TELLERS.get(code, _each_generic)(group).strip()
    cites = _cites(group)
    return f"{text.rstrip('.')} {cites}." if cites else text


def _each_generic(group: list[Signal]) -> str:
    s = group[0]
    params = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in s.params.items())
    return _sentence(f"{label_of(s.code)}: {params}" if params else label_of(s.code))
