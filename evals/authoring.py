"""Tools for writing hand-written eval cases: a small site, a log that knows its balances.

The cases themselves live in :mod:`evals.casebook`, one function each, written by hand from
the contract's root-cause signatures (CONTRACT.md section 2) and warehouse practice, not from
the generator. ``python -m evals.casebook`` rewrites ``evals/cases/<name>/``.

The site uses its own naming (numeric SKUs, ``P-01-A`` faces, user names, ``W``/``evt-``
ids) so nothing here resembles the generator's output.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from warehouse.contract import BALANCE_SIGN, ITEM_COLUMNS, LOCATION_COLUMNS, TRANSACTION_COLUMNS

START = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday

# location_id, zone, type, x_m, y_m, level, max_weight_kg
LOCATIONS: list[tuple[str, str, str, float, float, int, float]] = [
    ("P-01-A", "PF", "PICK", 10.0, 4.0, 0, 150.0),
    ("P-01-B", "PF", "PICK", 11.2, 4.0, 0, 150.0),
    ("P-02-A", "PF", "PICK", 10.0, 9.0, 0, 150.0),
    ("P-02-B", "PF", "PICK", 11.2, 9.0, 0, 150.0),
    ("P-07-A", "PF", "PICK", 41.0, 30.0, 0, 400.0),
    ("P-07-B", "PF", "PICK", 42.2, 30.0, 0, 400.0),
    ("R-01-3", "RS", "RESERVE", 10.0, 4.0, 3, 600.0),
    ("R-02-4", "RS", "RESERVE", 10.0, 9.0, 4, 200.0),
    ("R-09-2", "RS", "RESERVE", 55.0, 38.0, 2, 600.0),
    ("BULK-N1", "BK", "BULK", 62.0, 5.0, 0, 2000.0),
    ("SEC-1", "SEC", "CAGE", 3.0, 40.0, 0, 300.0),
    ("RCV-1", "DOCK", "DOCK", 0.0, 0.0, 0, float("nan")),
    ("RTN", "RT", "RETURNS", 0.0, 12.0, 0, float("nan")),
    ("OUT-1", "OB", "STAGING", 70.0, 0.0, 0, float("nan")),
    ("MAIN", "SHOP", "PICK", float("nan"), float("nan"), 0, float("nan")),  # one-room shops
]

# sku, description, gtin, category, case_qty, unit_weight_kg, unit_cost, home_location
ITEMS: list[tuple[str, str, str, str, int, float, float, str]] = [
    ("4006381", "Hair shampoo citrus 250ml", "4006381002508", "personal care", 12, 0.28, 2.10,
     "P-01-A"),
    ("4006382", "Hair shampoo citrus 500ml", "4006381005004", "personal care", 12, 0.54, 3.40,
     "P-01-B"),
    ("7312040", "Dish soap lemon 1L", "7312040010006", "household", 8, 1.05, 1.80, "P-02-A"),
    ("3045320", "Espresso beans dark roast 1kg", "3045320100013", "grocery", 6, 1.02, 14.90,
     "P-02-B"),
    ("5901234", "Wireless earbuds BT5 black", "5901234123457", "electronics", 10, 0.12, 64.00,
     "SEC-1"),
    ("8710103", "Cat litter clumping 10kg", "8710103900107", "pet", 1, 10.20, 7.50, "P-07-A"),
    ("6001087", "AA alkaline batteries 4-pack", "6001087400015", "electronics", 24, 0.10, 3.20,
     "P-07-B"),
]
"""Effect of each type on the balance at ``location`` (CONTRACT.md section 1)."""
CREW = ["amoreno", "bkowalski", "cnguyen", "dokafor"]
DEVICES = {"amoreno": "ZB-11", "bkowalski": "ZB-12", "cnguyen": "ZB-14", "dokafor": "ZB-15"}


@dataclass
class Row:
    """One transaction being written; its id is assigned when the case is written."""

    values: dict[str, Any]
    posted: datetime
    when: datetime
    eaches: float
    txn_id: str = ""


@dataclass
class Log:
    """A transaction log that knows the system balance (eaches per SKU and location) at any time.

    Rows may be added out of time order (an anomaly written before the background); the
    balance is always replayed in time order, and the background only takes stock that no
    later row needs (:meth:`available`).

    Args:
        name: case name; seeds the small randomness of the background and prefixes nothing.
        weights: whether scales capture ``weight_kg`` on picks, receipts and putaways.
        id_style: ``W`` (W1000, W1001, ...) or ``evt`` (evt-000001, ...).
    """

    name: str
    weights: bool = True
    id_style: str = "W"
    rows: list[Row] = field(default_factory=list)
    opening: dict[tuple[str, str], float] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.name)
        self.items = {i[0]: dict(zip(ITEM_COLUMNS, i, strict=True)) for i in ITEMS}

    # -- one row ----------------------------------------------------------------------------

    def add(self, kind: str, sku: str, qty: float, location: str, when: datetime, *,
            to: str | None = None, user: str = "amoreno", uom: str = "EA",
            weight: float | None = None, expected: float | None = None,
            reason: str | None = None, ref: str | None = None, note: str | None = None,
            device: str | None = "", posted: datetime | None = None) -> Row:
        """Append one transaction.

        ``weight`` None means "what a scale would read" when the log has weights (use 0 to
        leave it empty); ``device`` "" means the user's own gun; ``posted`` later than
        ``when`` makes a late event (a larger id with an earlier time).
        """
        item = self.items[sku]
        eaches = qty * (item["case_qty"] if uom == "CS" else 1)
        if weight is None and self.weights and kind in ("PICK", "RECEIPT", "PUTAWAY"):
            weight = round(eaches * item["unit_weight_kg"] * self.rng.uniform(0.99, 1.01), 2)
        values = {
            "ts": when.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "type": kind, "sku": sku,
            "qty": qty, "uom": uom, "location": location, "to_location": to, "user_id": user,
            "device_id": DEVICES.get(user, "ZB-20") if device == "" else device,
            "weight_kg": weight or None, "expected_qty": expected, "reason_code": reason,
            "ref": ref, "note": note,
        }
        row = Row(values, posted or when, when, eaches)
        self.rows.append(row)
        return row

    def _history(self, sku: str, location: str) -> list[tuple[datetime, float]]:
        """(time, balance after) of every row touching the SKU at the location, in time order."""
        moves = []
        for r in self.rows:
            v = r.values
            if v["sku"] != sku:
                continue
            if v["location"] == location:
                moves.append((r.when, BALANCE_SIGN.get(v["type"], 0) * r.eaches))
            if v["to_location"] == location and v["type"] in ("PUTAWAY", "MOVE"):
                moves.append((r.when, r.eaches))
        balance, out = self.opening.get((sku, location), 0.0), []
        for when, delta in sorted(moves, key=lambda m: m[0]):
            balance += delta
            out.append((when, balance))
        return out

    def on_hand(self, sku: str, location: str, at: datetime | None = None) -> float:
        """System balance in eaches at ``at`` (rows up to and including it; None: all rows)."""
        balance = self.opening.get((sku, location), 0.0)
        for when, after in self._history(sku, location):
            if at is not None and when > at:
                break
            balance = after
        return balance

    def available(self, sku: str, location: str, at: datetime) -> float:
        """What may be taken at ``at`` without any later balance going below zero."""
        later = [after for when, after in self._history(sku, location) if when > at]
        return max(0.0, min([self.on_hand(sku, location, at), *later]))

    def count(self, sku: str, location: str, when: datetime, *, off: float = 0,
              user: str = "dokafor", note: str | None = None) -> Row:
        """A cycle count: the system shows its balance, the counter finds it ``off`` from it."""
        system = self.on_hand(sku, location, when)
        return self.add("CYCLE_COUNT", sku, system + off, location, when, user=user,
                        expected=system, note=note)

    # -- background -------------------------------------------------------------------------

    def receive(self, sku: str, cases: int, when: datetime, *, into: str, asn: str,
                user: str = "bkowalski", weight: float | None = None) -> tuple[Row, Row]:
        """A receipt of whole cases as the ASN says, put away ``into`` 40 minutes later.

        ``weight`` is what the dock scale read, when it differs from the master's view.
        """
        rec = self.add("RECEIPT", sku, cases, "RCV-1", when, uom="CS", expected=cases,
                       ref=asn, user=user, weight=weight)
        put = self.add("PUTAWAY", sku, cases, "RCV-1", when + timedelta(minutes=40),
                       to=into, uom="CS", ref=asn, user=user, weight=weight)
        return rec, put

    def trade(self, sku: str, face: str, days: range, *, reserve: str | None = None,
              per_day: tuple[int, int] = (3, 6), qty: tuple[int, int] = (1, 6),
              count_days: tuple[int, ...] = (), users: list[str] | None = None,
              hours: tuple[int, int] = (7, 20), restock: bool = False) -> list[Row]:
        """Ordinary days: picks at ``face``, replenished from ``reserve`` when it runs low.

        With ``restock``, a clean delivery arrives at 06:30 on a day the stock would not last.
        """
        out = []
        crew = users or CREW[:3]
        case_qty = self.items[sku]["case_qty"]
        for day in days:
            base = START + timedelta(days=day)
            store = reserve or face
            stock = self.on_hand(sku, face, base) + (
                self.on_hand(sku, reserve, base) if reserve and reserve != face else 0)
            if restock and stock < per_day[1] * qty[1]:
                cases = max(2, -(-per_day[1] * qty[1] * 2 // case_qty))
                self.receive(sku, cases, base + timedelta(hours=5, minutes=30), into=store,
                             asn=f"ASN-{sku[-3:]}{day:02d}")
            times = sorted(self.rng.uniform(hours[0], hours[1])
                           for _ in range(self.rng.randint(*per_day)))
            for h in times:
                when = base + timedelta(hours=h)
                want = self.rng.randint(*qty)
                move_at = when - timedelta(minutes=25)
                if reserve and reserve != face and self.on_hand(sku, face, when) < want + case_qty:
                    spare = self.available(sku, reserve, move_at)
                    cases = max(1, min(2, int(spare // case_qty)))
                    if spare >= cases * case_qty:
                        out.append(self.add("MOVE", sku, cases * case_qty, reserve, move_at,
                                            to=face, user="bkowalski"))
                take = min(want, self.available(sku, face, when))
                if take > 0:
                    user = crew[self.rng.randrange(len(crew))]
                    out.append(self.add("PICK", sku, take, face, when, user=user,
                                        ref=f"SO-{self.rng.randint(40000, 49999)}"))
            if day in count_days:
                out.append(self.count(sku, face, base + timedelta(hours=21, minutes=5)))
        return out

    # -- writing ----------------------------------------------------------------------------

    def assign_ids(self) -> None:
        """Ids in posting order (a late event gets a larger id than its time suggests)."""
        order = sorted(self.rows, key=lambda r: r.posted)
        for n, row in enumerate(order):
            row.txn_id = f"W{1000 + n}" if self.id_style == "W" else f"evt-{n + 1:06d}"


def at(day: int, hhmm: str, seconds: int = 0) -> datetime:
    """The moment ``hhmm`` (and seconds) on simulated day ``day`` (day 0 = 2 June 2025)."""
    h, m = (int(p) for p in hhmm.split(":"))
    return START + timedelta(days=day, hours=h, minutes=m, seconds=seconds)


@dataclass
class Case:
    """A hand-written case ready to write: data, expectations and what kind of test it is."""

    kind: str
    log: Log
    expected: list[dict[str, Any]]
    items: list[str] | None = None
    item_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    locations: list[str] | None = None
    coordinates: bool = True
    columns: list[str] | None = None
    injection: dict[str, Any] | None = None
    duplicate_lines: int = 0
    name: str = ""
    description: str = ""

    def write(self, root: Path) -> Path:
        """Write items.csv, locations.csv, transactions.csv and expected.yaml; the folder."""
        out = root / self.name
        out.mkdir(parents=True, exist_ok=True)
        self.log.assign_ids()
        skus = self.items or sorted({r.values["sku"] for r in self.log.rows})
        items = [{**self.log.items[s], **self.item_overrides.get(s, {})} for s in skus]
        if not self.log.weights:
            for it in items:
                it["unit_weight_kg"] = None
        _write_csv(out / "items.csv", ITEM_COLUMNS, items)
        used = {r.values["location"] for r in self.log.rows} | {
            r.values["to_location"] for r in self.log.rows if r.values["to_location"]}
        for it in items:
            used.add(it["home_location"])
        keep = self.locations or [loc[0] for loc in LOCATIONS if loc[0] in used]
        locs = [dict(zip(LOCATION_COLUMNS, loc, strict=True)) for loc in LOCATIONS
                if loc[0] in keep]
        for loc in locs:
            if not self.coordinates:
                loc["x_m"] = loc["y_m"] = None
            if not self.log.weights:
                loc["max_weight_kg"] = None
        _write_csv(out / "locations.csv", LOCATION_COLUMNS, locs)
        rows = sorted(self.log.rows, key=lambda r: (r.posted, r.txn_id))  # arrival order
        tx = [{"txn_id": r.txn_id, **r.values} for r in rows]
        if self.columns and "uom" not in self.columns:  # such an export states eaches
            tx = [{**t, "qty": t["qty"] * self.log.items[t["sku"]]["case_qty"], "uom": "EA"}
                  if t["uom"] == "CS" else t for t in tx]
        tx += [dict(t) for t in tx[len(tx) // 2: len(tx) // 2 + self.duplicate_lines]]
        _write_csv(out / "transactions.csv", self.columns or TRANSACTION_COLUMNS, tx)
        spec: dict[str, Any] = {"description": self.description, "kind": self.kind,
                                "cases": [_resolve(e) for e in self.expected]}
        if self.injection:
            spec["injection"] = self.injection
        (out / "expected.yaml").write_text(yaml.safe_dump(spec, sort_keys=False, width=100),
                                           encoding="utf-8")
        return out


def _resolve(exp: dict[str, Any]) -> dict[str, Any]:
    out = dict(exp)
    out["txn_ids"] = [r.txn_id for r in exp["txn_ids"]]
    return out


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k)) for k in columns})


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
