"""An online shop's order export, mapped to the contract the way real exports are.

Shaped after the real export in ``shared/data/real-online-retail-h1`` (its README): every
invoice line is a ``PICK`` from the one location ``WH`` with the invoice as ``ref`` and user
``ORDERS``; a cancellation is a ``RETURN`` at ``WH`` under its own cancellation number; stock
adjustments are signed ``ADJUSTMENT`` rows by user ``STOCK``, reason ``OTHER``, with the
staff's own words as ``note``. No receipts, bins, scales, devices or opening stock, so
balances run negative. Every line of an invoice carries the invoice's time, and the order
feed sometimes repeats a line identically inside one invoice.

Benign background (unlabelled, must stay quiet): damage and "thrown away" write-offs,
"found" stock, sales through other channels ("amazon", "dotcom"), giveaways noted with the
item's description, "?" and "check" adjustments, a reversal of a mistaken adjustment on the
same code, cancellations, wholesale-size order lines.

Labelled cases (the causes an order export can show; it has no receipts and one location,
so RECEIVING_ERROR and SLOTTING cannot occur):

- MIS_SCAN ``offsetting_codes``: stock sold under a look-alike code is put right by +N on
  one code and -N on its neighbour the same day, often noted "wrong barcode" (action
  ADJUST_INVENTORY: the staff's pair establishes the quantity).
- UOM_MASTER_DATA ``sold_as_sets``: a code sold in sets while stocked in singles; a large
  negative adjustment in a multiple of the set size, noted "sold as sets" (CORRECT_MASTER_DATA).
- SHRINKAGE ``lost_writeoffs``: three to six write-offs of one code over weeks, noted "lost",
  "missing" or nothing (INVESTIGATE).
- SYSTEM_SYNC ``feed_repeat``: one case holding every repeated copy of an order line (the
  feed is one cause; INVESTIGATE the interface).
- LEGITIMATE ``wholesale_order``: one very large order line of one code; ``cancelled_order``:
  a very large line cancelled the same day (NO_ACTION).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.generator.config import GeneratorConfig
from sim.generator.profiles import SiteProfile, get_profile
from warehouse.contract import (
    ITEM_COLUMNS,
    LABEL_COLUMNS,
    LOCATION_COLUMNS,
    TRANSACTION_COLUMNS,
    ActionType,
    RootCause,
)
from warehouse.dataset import Dataset

R = RootCause
COLOURS = ("RED", "BLUE", "PINK", "IVORY", "GREEN", "BLACK", "WHITE", "CREAM", "MINT", "YELLOW")
MOTIFS = ("RETROSPOT", "POLKADOT", "VINTAGE", "REGENCY", "SPACEBOY", "WOODLAND", "PAISLEY",
          "HEART", "DOLLY GIRL", "SKULL", "ROSE", "BIRD")
PRODUCTS = ("T-LIGHT HOLDER", "LUNCH BOX", "CHARLOTTE BAG", "TEACUP AND SAUCER", "DOORMAT",
            "METAL SIGN", "JUMBO BAG", "CAKE TIN", "PAPER CHAIN KIT", "WATER BOTTLE",
            "KITCHEN SCALES", "ALARM CLOCK", "PHOTO FRAME", "GARDEN TROWEL", "UMBRELLA")
QTY_CHOICES = np.array([1, 2, 3, 4, 6, 8, 10, 12, 24])
QTY_WEIGHTS = np.array([0.2, 0.15, 0.1, 0.1, 0.13, 0.07, 0.07, 0.12, 0.06])
BENIGN_NOTES = {  # note -> (sign, low, high)
    "damages": (-1, 1, 12), "damaged": (-1, 1, 8), "thrown away": (-1, 1, 20),
    "broken": (-1, 1, 4), "cracked": (-1, 1, 3), "wet/rusty": (-1, 2, 15),
    "found": (1, 1, 6), "Found": (1, 1, 24), "?": (0, 1, 30), "check": (0, 1, 10),
    "adjustment": (0, 1, 12), "amazon": (-1, 3, 40), "dotcom sales": (-1, 2, 30),
    "samples": (-1, 1, 4), "display": (-1, 1, 3), "showroom": (-1, 1, 2),
}
MISSCAN_NOTES = ("wrong barcode", "barcode problem", "label mix up", "wrong code", "wrong code?",
                 None, None)
SETS_NOTES = ("sold as sets", "wrongly sold as sets", "? sold as sets?", "dotcom sold in 6's",
              "sold as set/6 by dotcom", "amazon sold sets")
LOST_NOTES = ("lost", "missing", "?lost", "mia", "possible damages or lost?", None, None)


@dataclass
class _Case:
    root_cause: RootCause
    variant: str
    action: ActionType
    sku: str | None
    rows: list[int] = field(default_factory=list)


@dataclass
class _Log:
    """Rows as lists of column values; row numbers index them."""

    cols: dict[str, list] = field(default_factory=lambda: {c: [] for c in (
        "ts", "type", "sku", "qty", "location", "user_id", "reason_code", "ref", "note",
        "line")})

    def add(self, ts: int, type_: str, sku: str, qty: float, ref: str | None, line: int,
            location: str = "WH", user: str = "ORDERS", note: str | None = None) -> int:
        c = self.cols
        c["ts"].append(ts)
        c["type"].append(type_)
        c["sku"].append(sku)
        c["qty"].append(float(qty))
        c["location"].append(location)
        c["user_id"].append(user)
        c["reason_code"].append("OTHER" if type_ == "ADJUSTMENT" else None)
        c["ref"].append(ref)
        c["note"].append(note)
        c["line"].append(line)
        return len(c["ts"]) - 1


class _Shop:
    def __init__(self, cfg: GeneratorConfig, site: SiteProfile) -> None:
        self.cfg, self.site = cfg, site
        self.rng = np.random.default_rng([cfg.seed, 31])
        self.log = _Log()
        self.cases: list[_Case] = []
        self.busy: set[str] = set()
        self._invoice = int(self.rng.integers(500_000, 560_000))
        self.retail = site.naming == "retail"
        self._catalogue()

    # -- catalogue ---------------------------------------------------------------------------

    def _catalogue(self) -> None:
        rng = self.rng
        rows: list[dict[str, object]] = []
        family: dict[str, list[str]] = {}
        code = int(rng.integers(20_000, 23_000))
        while len(rows) < self.cfg.skus:
            product = PRODUCTS[int(rng.integers(len(PRODUCTS)))]
            motif = MOTIFS[int(rng.integers(len(MOTIFS)))]
            n = min(int(rng.integers(1, 5)), self.cfg.skus - len(rows))
            cost = float(np.exp(rng.uniform(np.log(0.3), np.log(18.0))))
            colours = rng.choice(len(COLOURS), size=n, replace=False)
            members = []
            for k, c in enumerate(colours):
                suffix = "ABCDEFG"[k] if n > 1 else ""
                sku = (f"{code}{suffix}" if self.retail else f"P{code * 7 % 100_000:05d}-{k}")
                desc = f"{COLOURS[int(c)]} {motif} {product}"
                rows.append({"sku": sku, "description": desc, "category": None, "case_qty": 1,
                             "unit_cost": round(cost * float(rng.uniform(0.95, 1.05))
                                                * self.site.cost_scale, 2)})
                members.append(sku)
            for m in members:
                family[m] = [o for o in members if o != m]
            code += int(rng.integers(1, 40))
        self.items = pd.DataFrame(rows)
        self.skus = self.items["sku"].tolist()
        self.family = family
        ranks = rng.permutation(len(self.skus)) + 1
        p = 1.0 / ranks**1.05
        self.popularity = p / p.sum()
        self.cost = dict(zip(self.skus, self.items["unit_cost"], strict=True))

    # -- ids ---------------------------------------------------------------------------------

    def invoice(self) -> str:
        self._invoice += int(self.rng.integers(1, 4))
        return str(self._invoice) if self.retail else f"INV-{self._invoice}"

    def cancellation(self) -> str:
        self._invoice += 1
        return f"C{self._invoice}" if self.retail else f"CN-{self._invoice}"

    def day_ts(self, day: int, lo: float = 8.0, hi: float = 19.5) -> int:
        return day * 86_400 + int(self.rng.uniform(lo, hi) * 3600)

    def open_day(self, day: int) -> bool:
        """The shop ships Sunday to Friday (the real one never posts on a Saturday)."""
        return (self.cfg.start.toordinal() + day) % 7 != 5

    def sku(self, ok=lambda s: True) -> str | None:  # noqa: ANN001 - a small predicate
        for i in self.rng.choice(len(self.skus), size=40, p=self.popularity):
            s = self.skus[int(i)]
            if s not in self.busy and ok(s):
                return s
        return None

    # -- benign flows ------------------------------------------------------------------------

    def sales(self, day: int) -> None:
        rng, cfg = self.rng, self.cfg
        lines = rng.poisson(cfg.lines_per_sku_day * cfg.skus)
        n_inv = max(1, int(lines / 18))
        feed = self.feed_case
        cancel_rate = 0.02 * max(1.0, self.site.partial_rate) * max(cfg.noise, 0.2)
        for _ in range(n_inv):
            ref, ts = self.invoice(), self.day_ts(day)
            k = min(1 + int(rng.geometric(1 / 18)), len(self.skus) // 2)
            picks = rng.choice(len(self.skus), size=k, p=self.popularity, replace=False)
            qtys = rng.choice(QTY_CHOICES, size=k, p=QTY_WEIGHTS / QTY_WEIGHTS.sum())
            line = 0
            for i, q in zip(picks, qtys, strict=True):
                sku = self.skus[int(i)]
                q = int(q) * (int(rng.choice((4, 6, 10))) if rng.random() < 0.03 else 1)
                self.log.add(ts, "PICK", sku, q, ref, line)
                line += 1
                if rng.random() < 0.02 * max(cfg.noise, 0.2) and feed is not None:
                    feed.rows.append(self.log.add(ts, "PICK", sku, q, ref, line))
                    line += 1
                if rng.random() < cancel_rate:
                    later = ts + int(rng.uniform(0.1, 6.0) * 86_400)
                    if later < cfg.days * 86_400:
                        self.log.add(later, "RETURN", sku, max(1, q // int(rng.choice((1, 1, 2)))),
                                     self.cancellation(), 0)

    def adjustments(self, day: int) -> None:
        rng = self.rng
        for _ in range(int(rng.poisson(6 * self.cfg.noise * max(1.0, self.cfg.skus / 300)))):
            sku = self.skus[int(rng.integers(len(self.skus)))]
            if sku in self.busy:
                continue
            kind = rng.random()
            ts = self.day_ts(day)
            if kind < 0.45:
                note = list(BENIGN_NOTES)[int(rng.integers(len(BENIGN_NOTES)))]
                sign, lo, hi = BENIGN_NOTES[note]
                sign = sign or int(rng.choice((-1, 1)))
                self.log.add(ts, "ADJUSTMENT", sku, sign * int(rng.integers(lo, hi + 1)), None, 0,
                             user="STOCK", note=note)
            elif kind < 0.7:  # a giveaway noted with the item's description
                desc = self.items.loc[self.items["sku"] == sku, "description"].iloc[0]
                self.log.add(ts, "ADJUSTMENT", sku, int(rng.integers(1, 4)), None, 0,
                             user="STOCK", note=desc.lower() if rng.random() < 0.5 else desc)
            elif kind < 0.95:
                self.log.add(ts, "ADJUSTMENT", sku, int(rng.choice((-1, 1)))
                             * int(rng.integers(1, 25)), None, 0, user="STOCK")
            else:  # a mistaken adjustment and its reversal on the same code
                n = int(rng.integers(5, 400))
                self.log.add(ts, "ADJUSTMENT", sku, n, None, 0, user="STOCK")
                self.log.add(ts + int(rng.uniform(0.2, 5) * 3600), "ADJUSTMENT", sku, -n, None,
                             0, user="STOCK", note="reverse previous adjustment")

    # -- labelled cases ----------------------------------------------------------------------

    def case(self, rc: RootCause, variant: str, action: ActionType, sku: str | None) -> _Case:
        c = _Case(rc, variant, action, sku)
        self.cases.append(c)
        if sku:
            self.busy.add(sku)
        return c

    def offsetting_codes(self, day: int) -> None:
        a = self.sku(lambda s: any(b not in self.busy for b in self.family[s]))
        if a is None:
            return
        b = next(b for b in self.family[a] if b not in self.busy)
        rng = self.rng
        n = int(rng.choice((int(rng.integers(6, 60)), int(rng.integers(60, 3200)))))
        c = self.case(R.MIS_SCAN, "offsetting_codes", ActionType.ADJUST_INVENTORY, a)
        self.busy.add(b)
        ts = self.day_ts(day, 9.0, 15.0)
        note = MISSCAN_NOTES[int(rng.integers(len(MISSCAN_NOTES)))]
        note_b = f"sold as {a}" if note is None and rng.random() < 0.3 else note
        c.rows.append(self.log.add(ts, "ADJUSTMENT", a, n, None, 0, user="STOCK", note=note))
        c.rows.append(self.log.add(ts + int(rng.integers(0, 3 * 3600)), "ADJUSTMENT", b, -n,
                                   None, 0, user="STOCK", note=note_b))

    def sold_as_sets(self, day: int) -> None:
        a = self.sku()
        if a is None:
            return
        rng = self.rng
        size = int(rng.choice((3, 4, 6, 12)))
        n = size * int(rng.integers(20, 150))
        c = self.case(R.UOM_MASTER_DATA, "sold_as_sets", ActionType.CORRECT_MASTER_DATA, a)
        c.rows.append(self.log.add(self.day_ts(day), "ADJUSTMENT", a, -n, None, 0, user="STOCK",
                                   note=SETS_NOTES[int(rng.integers(len(SETS_NOTES)))]))

    def lost_writeoffs(self, day: int) -> None:
        rng = self.rng
        costly = sorted(self.skus, key=lambda s: -self.cost[s])[: max(5, len(self.skus) // 8)]
        a = self.sku(lambda s: s in costly)
        if a is None:
            return
        c = self.case(R.SHRINKAGE, "lost_writeoffs", ActionType.INVESTIGATE, a)
        span = max(2, min(self.cfg.days - day - 1, 28))
        for d in sorted(day + rng.integers(0, span, size=int(rng.integers(3, 7)))):
            c.rows.append(self.log.add(self.day_ts(int(d)), "ADJUSTMENT", a,
                                       -int(rng.integers(1, 13)), None, 0, user="STOCK",
                                       note=LOST_NOTES[int(rng.integers(len(LOST_NOTES)))]))

    def big_order(self, day: int) -> None:
        a = self.sku()
        if a is None:
            return
        rng = self.rng
        cancelled = rng.random() < 0.4
        c = self.case(R.LEGITIMATE, "cancelled_order" if cancelled else "wholesale_order",
                      ActionType.NO_ACTION, a)
        ts, n = self.day_ts(day), int(rng.integers(600, 5000))
        c.rows.append(self.log.add(ts, "PICK", a, n, self.invoice(), 0))
        if cancelled:
            c.rows.append(self.log.add(ts + int(rng.integers(60, 3 * 3600)), "RETURN", a, n,
                                       self.cancellation(), 0))

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> None:
        cfg, rng = self.cfg, self.rng
        per = cfg.cases_per_cause()
        self.feed_case = self.case(R.SYSTEM_SYNC, "feed_repeat", ActionType.INVESTIGATE, None) \
            if per[R.SYSTEM_SYNC] else None
        plan: list[tuple[int, int]] = []  # (day, recipe)
        recipes = (self.offsetting_codes, self.sold_as_sets, self.lost_writeoffs, self.big_order)
        counts = (per[R.MIS_SCAN] + per[R.RECEIVING_ERROR], per[R.UOM_MASTER_DATA],
                  per[R.SHRINKAGE] + per[R.SLOTTING], per[R.LEGITIMATE])
        for k, n in enumerate(counts):
            plan += [(int(rng.integers(1, max(2, cfg.days - 2))), k) for _ in range(n)]
        by_day: dict[int, list[int]] = {}
        for day, k in plan:
            by_day.setdefault(day, []).append(k)
        for day in range(cfg.days):
            if not self.open_day(day):
                continue
            self.sales(day)
            self.adjustments(day)
            for k in by_day.get(day, []):
                recipes[k](day)


def generate_export(cfg: GeneratorConfig) -> Dataset:
    """An e-commerce export of ``cfg.days`` days and ``cfg.skus`` codes, with its labels."""
    site = get_profile(cfg.profile)
    shop = _Shop(cfg, site)
    shop.run()
    raw = pd.DataFrame(shop.log.cols)
    order = np.lexsort((np.arange(len(raw)), raw["ts"].to_numpy()))
    tx = raw.iloc[order].reset_index(drop=True)
    start = pd.Timestamp(cfg.start, tz="UTC") + pd.Timedelta(hours=site.clock_offset_h)
    tx["ts"] = start + pd.to_timedelta(tx["ts"].to_numpy(dtype=np.int64), unit="s")
    if shop.retail:  # like the real export: date-invoice-line
        day = tx["ts"].dt.strftime("%Y%m%d")
        ids = [f"{d}-{r}-{n}" if isinstance(r, str) else f"{d}-ADJ-{i}" for i, (d, r, n)
               in enumerate(zip(day, tx["ref"], tx["line"], strict=True))]
    else:
        ids = [f"X{70_000_000 + i}" for i in range(len(tx))]
    tx.insert(0, "txn_id", ids)
    position = np.empty(len(raw), dtype=np.int64)
    position[order] = np.arange(len(raw))
    for col in TRANSACTION_COLUMNS:
        if col not in tx:
            tx[col] = np.nan if col in ("weight_kg", "expected_qty") else None
    tx["uom"] = "EA"
    tx = tx[TRANSACTION_COLUMNS].copy()
    for col in ("qty", "weight_kg", "expected_qty"):
        tx[col] = tx[col].astype("float64")
    tx["eaches"] = tx["qty"]
    items = shop.items.copy()
    for col in ITEM_COLUMNS:
        if col not in items:
            items[col] = np.nan if col == "unit_weight_kg" else None
    locations = pd.DataFrame([
        {"location_id": "WH", "zone": "WH", "type": "PICK"},
        {"location_id": "RETURNS", "zone": "RETURNS", "type": "RETURNS"}],
        columns=LOCATION_COLUMNS)
    rows = []
    kept = [c for c in shop.cases if c.rows]
    kept.sort(key=lambda c: min(position[r] for r in c.rows))
    for i, c in enumerate(kept, start=1):
        pos = sorted(position[r] for r in c.rows)
        rows.append({"case_id": f"CASE-{i:04d}", "root_cause": c.root_cause.value,
                     "txn_ids": " ".join(ids[p] for p in pos), "sku": c.sku,
                     "location": "WH", "action": c.action.value, "variant": c.variant})
    labels = pd.DataFrame(rows, columns=[*LABEL_COLUMNS, "variant"])
    return Dataset(items=items[ITEM_COLUMNS].copy(), locations=locations, transactions=tx,
                   labels=labels)
