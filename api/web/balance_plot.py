"""The ticket page's plot: a SKU's system balance at a location over time.

The flagged transactions and the cycle counts are marked on the line. Where the ticket also
involves a look-alike SKU or a neighbouring bin (another SKU or location among its
transactions, its evidence or its action), that series is drawn beside it on the same time
axis, so mirrored variances show at a glance. The view is windowed on the incident and marks
the first divergence the evidence reports. Written as SVG directly (:mod:`api.web.svg_chart`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from api.web.svg_chart import Panel, render_panels
from warehouse.contract import TYPES_WITH_DESTINATION, TxnType
from warehouse.ledger import with_balances

MAX_COMPANIONS = 2
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./:-]*[A-Za-z0-9]")
_DEST_TYPES = [t.value for t in TYPES_WITH_DESTINATION]
_PARAM_SKUS = ("sku",)
_PARAM_LOCATIONS = ("location", "from_location", "to_location", "locations")


@dataclass(frozen=True)
class Series:
    """One SKU at one location, and why it is on the plot."""

    sku: str
    location: str
    role: str


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [v for v in value if isinstance(v, str)]
    return []


def _stock_location(ledger: pd.DataFrame, sku: str, prefer: list[str]) -> str | None:
    """Where to draw a companion SKU.

    The first of ``prefer`` it touched, else where most of its stock ends up (its largest
    final balance).
    """
    rows = with_balances(ledger[ledger["sku"] == sku].drop(
        columns=["sign", "bal_before", "bal_after", "dest_after", "var"],
        errors="ignore"))
    ends = pd.concat([
        pd.DataFrame({"loc": rows["location"], "bal": rows["bal_after"]}),
        pd.DataFrame({"loc": rows["to_location"], "bal": rows["dest_after"]}).dropna(),
    ]).sort_index(kind="stable").groupby("loc")["bal"].last()
    for loc in prefer:
        if loc in ends.index:
            return loc
    return str(ends.idxmax()) if len(ends) else None


def choose_series(
    ledger: pd.DataFrame,
    *,
    sku: str | None,
    location: str | None,
    txn_ids: Iterable[str],
    evidence_text: str = "",
    action_params: Mapping[str, Any] | None = None,
) -> list[Series]:
    """The series to draw for a ticket: its own SKU and location first, then companions.

    Companions are another SKU (a look-alike) or another location of the ticket's SKU (a
    neighbouring bin), named by the ticket's transactions, its evidence or its action's
    parameters, and present in ``ledger`` (the contract log, with or without balance
    columns). A look-alike is drawn at the ticket's location if it was handled there, else
    at a location of the ticket's transactions, else where most of its stock ends up. The first
    look-alike comes before other locations. Tickets without a SKU or a location take both
    from their first transaction.
    """
    tx = ledger
    own = tx[tx["txn_id"].isin(set(txn_ids))]
    if (sku is None or location is None) and not own.empty:
        sku = sku or str(own["sku"].iloc[0])
        location = location or str(own["location"].iloc[0])
    if sku is None or location is None:
        return []
    known_skus = set(tx["sku"].dropna().astype(str))
    of_sku = tx[tx["sku"] == sku]
    locations_of_sku = set(of_sku["location"].astype(str)) | set(
        of_sku["to_location"].dropna().astype(str))
    own_locations = [location, *own["location"].astype(str),
                     *own["to_location"].dropna().astype(str)]
    params = action_params or {}
    tokens = _TOKEN.findall(evidence_text)
    named_skus = [*own["sku"].astype(str),
                  *(s for k in _PARAM_SKUS for s in _strings(params.get(k))), *tokens]
    named_locations = [*own_locations[1:],
                       *(s for k in _PARAM_LOCATIONS for s in _strings(params.get(k))),
                       *tokens]
    lookalikes = []
    for other in dict.fromkeys(s for s in named_skus if s != sku and s in known_skus):
        where = _stock_location(tx, other, own_locations)
        if where is not None:
            lookalikes.append(Series(other, where, "look-alike SKU"))
    locations = [Series(sku, loc, "other location") for loc in dict.fromkeys(named_locations)
                 if loc != location and loc in locations_of_sku]
    chosen = [Series(sku, location, "ticket")]
    for series in [*lookalikes[:1], *locations, *lookalikes[1:]]:
        if len(chosen) > MAX_COMPANIONS:
            break
        if all((s.sku, s.location) != (series.sku, series.location) for s in chosen):
            chosen.append(series)
    return chosen


def balance_frame(ledger: pd.DataFrame, sku: str, location: str) -> pd.DataFrame:
    """The balance of ``sku`` at ``location`` after each row that touched it.

    Args:
        ledger: the log with balance columns (:func:`warehouse.ledger.with_balances`).
        sku: the item.
        location: the location.

    Returns:
        Rows ``ts`` (naive UTC), ``balance``, ``txn_id``, ``type``, ``counted``, ``expected``
        (the last two only for cycle counts), oldest first.
    """
    at_source = ledger[(ledger["sku"] == sku) & (ledger["location"] == location)]
    at_dest = ledger[(ledger["sku"] == sku) & (ledger["to_location"] == location)
                     & ledger["type"].isin(_DEST_TYPES)]
    source = pd.DataFrame({"ts": at_source["ts"], "balance": at_source["bal_after"],
                           "txn_id": at_source["txn_id"], "type": at_source["type"]})
    counts = at_source["type"] == TxnType.CYCLE_COUNT.value
    source["counted"] = at_source["eaches"].where(counts)
    expected = pd.to_numeric(at_source["expected_qty"], errors="coerce")
    source["expected"] = expected.where(counts)
    dest = pd.DataFrame({"ts": at_dest["ts"], "balance": at_dest["dest_after"],
                         "txn_id": at_dest["txn_id"], "type": at_dest["type"]})
    frame = pd.concat([source, dest]).sort_index(kind="stable")
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_convert(None)
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class Divergence:
    """Where and when the system balance first parted from the shelf (ledger_replay)."""

    location: str
    ts: pd.Timestamp


_DIVERGENCE = re.compile(r"First divergence at (\S+) on (\S+?Z?):")
_RELATED = re.compile(r"other_sku=(\S+)|other_location=(\S+)|fits look-alike (\S+)")
PLOT_COLUMNS = ("txn_id", "ts", "type", "sku", "location", "to_location", "eaches",
                "expected_qty", "bal_after", "dest_after")
"""The ledger columns the plot reads (a narrow slice is much cheaper to filter)."""
WINDOW_PAD = pd.Timedelta(days=2)
"""Time shown before the ticket's first and after its last transaction (at least)."""


def first_divergence(evidence_facts: Iterable[str]) -> Divergence | None:
    """The first divergence the evidence reports, if any."""
    for fact in evidence_facts:
        match = _DIVERGENCE.search(fact)
        if match:
            ts = pd.to_datetime(match.group(2), utc=True, errors="coerce")
            if not pd.isna(ts):
                return Divergence(match.group(1), ts.tz_convert(None))
    return None


def related_names(evidence_facts: Iterable[str]) -> str:
    """The SKUs and locations the evidence ties to the ticket.

    Those are a mirrored variance's counterpart and the look-alike a weight fits; neighbour
    lists and look-alike candidates are not related by themselves.
    """
    names = []
    for fact in evidence_facts:
        for match in _RELATED.finditer(fact):
            names += [g.rstrip(";,.") for g in match.groups() if g]
    return " ".join(names)


def incident_window(ledger: pd.DataFrame, txn_ids: Iterable[str],
                    divergence: Divergence | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The time span to show: the ticket's transactions (and divergence), padded."""
    rows = ledger[ledger["txn_id"].isin(set(txn_ids))]
    stamps = list(pd.to_datetime(rows["ts"], utc=True).dt.tz_convert(None))
    if divergence is not None:
        stamps.append(divergence.ts)
    if not stamps:
        return None
    start, end = min(stamps), max(stamps)
    pad = max(WINDOW_PAD, (end - start) * 0.25)
    return start - pad, end + pad


def ticket_plot_svg(ledger: pd.DataFrame, record: Any) -> bytes:
    """The ticket page's plot: windowed on the incident, divergence marked, related panels."""
    facts = [str(e.get("fact", "")) for e in record.evidence]
    divergence = first_divergence(facts)
    related = related_names(facts)
    params = record.action.get("params") or {}
    candidates = {record.sku, *_TOKEN.findall(related), *_strings(params.get("sku")),
                  *ledger.loc[ledger["txn_id"].isin(set(record.txn_ids)), "sku"].astype(str)}
    own = ledger[ledger["sku"].isin(candidates - {None})]  # the ticket's slice of the log
    series = choose_series(own, sku=record.sku, location=record.location,
                           txn_ids=record.txn_ids, evidence_text=related, action_params=params)
    own = own[[c for c in PLOT_COLUMNS if c in own.columns]]
    return render_balance_svg(own, series, flagged=record.txn_ids,
                              window=incident_window(own, record.txn_ids, divergence),
                              divergence=divergence)


def _in_window(frame: pd.DataFrame, window: tuple[pd.Timestamp, pd.Timestamp] | None
               ) -> pd.DataFrame:
    """The rows inside ``window``, led by the balance carried in from before it."""
    if window is None or frame.empty:
        return frame
    carried = frame[frame["ts"] < window[0]].tail(1).assign(
        ts=window[0], txn_id="", counted=float("nan"))
    inside = frame[(frame["ts"] >= window[0]) & (frame["ts"] <= window[1])]
    return pd.concat([carried, inside], ignore_index=True)


def _points(frame: pd.DataFrame, column: str) -> list[tuple[pd.Timestamp, float]]:
    rows = frame[frame[column].notna()]
    return list(zip(rows["ts"], rows[column].astype(float), strict=True))


def _panel(frame: pd.DataFrame, series: Series, flagged: set[str],
           divergence: Divergence | None) -> Panel:
    title = f"{series.sku} @ {series.location}"
    if series.role != "ticket":
        title += f"  ({series.role})"
    if frame.empty:
        return Panel(title, note=f"no transactions for {series.sku} @ {series.location}")
    hits = frame[frame["txn_id"].isin(flagged)]
    return Panel(title, steps=_points(frame, "balance"), counts=_points(frame, "counted"),
                 flagged=_points(hits, "balance"),
                 divergence=divergence.ts if divergence is not None
                 and divergence.location == series.location else None)


def render_balance_svg(
    ledger: pd.DataFrame, series: list[Series], *, flagged: Iterable[str],
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    divergence: Divergence | None = None,
) -> bytes:
    """Draw each series in its own panel on a shared time axis, as SVG bytes.

    Args:
        ledger: the log with balance columns (:func:`warehouse.ledger.with_balances`, or a
            ``WarehouseView.ledger``).
        series: what to draw, the ticket's own series first (:func:`choose_series`).
        flagged: the ticket's transaction ids, marked where they touch a series.
        window: the time span shown (the whole history when None); the balance at the
            window's start carries in from before it.
        divergence: marked with a vertical line on the panel of its location.
    """
    marked = set(flagged)
    if not series:
        now = pd.Timestamp.now()
        return render_panels([Panel("", note="no SKU and location to plot")], now, now)
    frames = [_in_window(balance_frame(ledger, one.sku, one.location), window)
              for one in series]
    panels = [_panel(f, one, marked, divergence) for f, one in zip(frames, series, strict=True)]
    if window is None:
        stamps = [ts for f in frames for ts in f["ts"]]
        if not stamps:
            now = pd.Timestamp.now()
            return render_panels(panels, now - pd.Timedelta(days=1), now)
        pad = max(pd.Timedelta(hours=1), (max(stamps) - min(stamps)) * 0.03)
        window = (min(stamps) - pad, max(stamps) + pad)
    return render_panels(panels, window[0], window[1])
