"""Daily flows of the simulated distribution centre, driven by one event queue.

Each day: a reorder check raises ASNs for SKUs below their reorder point (lead time 1-3
days); trucks are received at a dock against the ASN with a dock-scale weight, put away to
the home pick face up to its capacity and the rest to the SKU's reserve slot; order lines
(skewed popularity, weekday and seasonal swing, promotions) are picked from the home face,
which triggers a replenishment MOVE reserve -> pick face when it falls below its minimum;
customer returns land on the returns desk and are put back or quarantined and written off;
count clerks cycle-count about 3% of the pick faces (counted qty = physical, expected_qty =
system) and post COUNT_CORRECTION adjustments for small variances.

Tasks are ``(ts, seq, fn, args)`` on a heap, so everything happens in time order and the
run is deterministic for a seed. Anomaly recipes (anomalies.py) and benign patterns
(benign.py) hook into the same flows.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

import numpy as np

from sim.generator.catalogue import Catalogue, assign_homes, build_catalogue
from sim.generator.config import GeneratorConfig
from sim.generator.labels import CaseLabel
from sim.generator.layout import Layout, build_layout
from sim.generator.ledger import (
    ADJUSTMENT,
    CYCLE_COUNT,
    MOVE,
    PICK,
    PUTAWAY,
    RECEIPT,
    RETURN,
    Ledger,
)
from sim.generator.profiles import get_profile
from sim.generator.roster import DAY, HOUR, MINUTE, Roster

WEEKDAY_FACTOR = (1.0, 1.05, 1.0, 1.1, 1.15, 0.7, 0.45)
FACE_DAYS = 2.5  # a pick face holds about this many days of demand
REORDER_DAYS = 5.0  # reorder when stock covers fewer days than this
ORDER_UP_TO_DAYS = 12.0



class ReceiptFields(TypedDict):
    """The keywords of :meth:`Ledger.post` that a receipt row and its duplicate share."""

    uom: str
    device: str
    weight: float | None
    expected: float | None
    ref: str | None
    lot: str | None
    expiry: str | None

@dataclass
class Asn:
    """An advance shipping notice and what really happens to it (recipes set the oddities).

    Attributes:
        ref: ASN number.
        sku: item.
        expected: cases on the ASN.
        shipped: cases the supplier really shipped.
        keyed: cases the receiver records; None means what was shipped.
        label: case the receipt row belongs to.
        putaway_label: case the putaway rows belong to.
        duplicate: the receipt is delivered twice by the interface.
        dest: putaway destination as recorded (None: home and reserve).
        phys_dest: where the goods really go (None: as recorded).
        split: the truck comes in two parts (benign partial delivery).
        glitch: the dock scale misreads once (benign; re-weighed at putaway).
        bulk: put away to a bulk lane.
        weigh_putaway: the forklift scale records the putaway weight.
        lines: cases per ASN line still to arrive (one line per SKU, or one per pallet).
        total: the ASN line's total where this receipt is the rest of a partial delivery.
    """

    ref: str
    sku: str
    expected: int
    shipped: int
    keyed: int | None = None
    label: CaseLabel | None = None
    putaway_label: CaseLabel | None = None
    duplicate: bool = False
    dest: str | None = None
    phys_dest: str | None = None
    split: bool = False
    glitch: bool = False
    bulk: bool = False
    weigh_putaway: bool = False
    lines: list[int] | None = None
    total: int | None = None


@dataclass
class PickWatch:
    """Collects pick rows of a SKU into a case: inside a window, or only when they go negative.

    A late replenishment keeps its unposted MOVE in ``move``; the first pick that takes the
    system balance below zero schedules the MOVE ``delay`` seconds later.
    """

    label: CaseLabel
    start: int
    end: int
    negative_only: bool = False
    delay: int = 0
    move: tuple[int, str, str, str, str, str] | None = None


class BenignPatterns(Protocol):
    """The benign look-alike patterns the flows call into (:mod:`sim.generator.benign`)."""

    def plan_promotions(self, sim: Simulation) -> None:
        """Schedule the run's small promotions."""

    def plan_day(self, sim: Simulation, day: int) -> None:
        """Schedule one day's benign noise."""

    def shape_asn(self, sim: Simulation, asn: Asn) -> None:
        """Give an ordinary ASN its oddities, now and then."""

    def glitch_weight(self, rng: np.random.Generator, weight: float) -> float:
        """A dock-scale misread of ``weight`` kg."""

    def reweigh_note(self, rng: np.random.Generator) -> str | None:
        """The note a driver may type when re-weighing."""


class Simulation:
    """The whole site: catalogue, layout, crew, ledger, queue and the flows between them.

    Args:
        cfg: generator configuration.
        benign: the benign look-alike patterns (:mod:`sim.generator.benign`).
        schedule_cases: plans the labelled anomaly cases on the fresh site
            (:func:`sim.generator.anomalies.schedule`).
    """

    def __init__(self, cfg: GeneratorConfig, *, benign: BenignPatterns,
                 schedule_cases: Callable[[Simulation], None]) -> None:
        self.cfg = cfg
        self.site = get_profile(cfg.profile)
        self.weighs = cfg.with_weights and self.site.scales != "none"
        self.benign = benign
        self.schedule_cases = schedule_cases
        self.rng = np.random.default_rng(cfg.seed)
        rng = self.rng
        self.cat: Catalogue = build_catalogue(
            cfg.skus, rng, high_value_cost=self.site.high_value_cost if self.site.cage else None)
        n_cage = len(self.cat.cage)
        n_floor = cfg.skus - n_cage
        self.layout: Layout = build_layout(int(n_floor * 1.25) + 20, int(n_floor * 1.1) + 20,
                                           int(n_cage * 1.3) + 2, rng, cage=self.site.cage)
        self.spare_faces = assign_homes(self.cat, self.layout.pick, self.layout.reserve,
                                        self.layout.cage, rng)
        self.spare_reserve = [r for r in self.layout.reserve
                              if r not in set(self.cat.reserve.values())]
        self.ledger = Ledger(self.cat.master_case_qty, self.cat.true_case_qty)
        self.lines_per_day = cfg.lines_per_sku_day * cfg.skus
        self.roster = Roster(self.lines_per_day, cfg.operators, cfg.shift_swap_rate, rng)
        self.end = cfg.days * DAY
        self.cases: list[CaseLabel] = []
        self.watched: set[tuple[str, str]] = set()
        self.watched_skus: set[str] = set()
        self.busy_skus: set[str] = set()
        self.pick_watch: dict[str, PickWatch] = {}
        self.late_replen: dict[str, tuple[CaseLabel, int]] = {}
        self.receipt_cases: dict[str, CaseLabel] = {}
        self.bulk_of: dict[str, str] = {}
        self.promotions: list[tuple[int, int, int, float]] = []
        self._queue: list[tuple[int, int, Callable[..., Any], tuple]] = []
        self._n = 0
        self._asn_no = int(rng.integers(100_000, 400_000))
        self._order_no = int(rng.integers(1_000_000, 4_000_000))
        self._task_no = int(rng.integers(10_000, 90_000))
        self.on_order: dict[str, int] = dict.fromkeys(self.cat.skus, 0)
        self.pending_replen: set[str] = set()
        self.picked_today = 0
        rate = self.lines_per_day * self.cat.popularity * self.cat.line_size
        self.rate = dict(zip(self.cat.skus, rate, strict=True))
        self.face_max: dict[str, int] = {}
        self.face_min: dict[str, int] = {}
        for sku, r in self.rate.items():
            cq = self.cat.master_case_qty[sku]
            cases = max(2, math.ceil(r * FACE_DAYS / cq))
            if sku in self.cat.cage:
                cases = max(2, math.ceil(r * ORDER_UP_TO_DAYS / cq))
            self.face_max[sku] = cases * cq
            self.face_min[sku] = max(1, int(self.face_max[sku] * 0.35))

    # -- queue ------------------------------------------------------------------------------

    def at(self, ts: int, fn: Callable[..., Any], *args: Any) -> None:
        """Schedule ``fn(ts, *args)``; tasks past the horizon never run."""
        if ts < self.end:
            self._n += 1
            heapq.heappush(self._queue, (int(ts), self._n, fn, args))

    def run_until(self, ts: int) -> None:
        """Run every task scheduled before ``ts``."""
        q = self._queue
        while q and q[0][0] < ts:
            t, _, fn, args = heapq.heappop(q)
            fn(t, *args)

    # -- ids and helpers ---------------------------------------------------------------------

    def next_ref(self, kind: str) -> str:
        """A fresh document number: ASN, SO (sales order), T (task), RMA."""
        if kind == "ASN":
            self._asn_no += int(self.rng.integers(1, 4))
            return f"ASN{self._asn_no}"
        if kind == "SO":
            self._order_no += int(self.rng.integers(1, 3))
            return f"SO{self._order_no}"
        self._task_no += 1
        return f"{kind}{self._task_no}"

    def crew(self, role: str, ts: int) -> tuple[str, str]:
        """A (user, device) of ``role`` on duty at ``ts``."""
        return self.roster.choose(role, ts % DAY, self.rng)

    def minutes(self, lo: float, hi: float) -> int:
        """A random delay in seconds between ``lo`` and ``hi`` minutes."""
        return int(self.rng.uniform(lo, hi) * MINUTE)

    def day_time(self, day: int, lo_h: float = 7.0, hi_h: float = 20.5) -> int:
        """A random time of ``day`` between two hours."""
        return day * DAY + int(self.rng.uniform(lo_h, hi_h) * HOUR)

    def scale_weight(self, sku: str, eaches: int, sd: float = 0.008) -> float | None:
        """What a scale reads for ``eaches`` of ``sku`` (true weight, small noise)."""
        if not self.weighs or eaches <= 0:
            return None
        return round(eaches * self.cat.true_weight[sku] * (1 + float(self.rng.normal(0, sd))), 2)

    def post_at(self, ts: int, *args: Any, case: CaseLabel | None = None, **kw: Any) -> None:
        """Post a row at a later time (ledger.post arguments), joining ``case`` if given."""
        self.at(ts, self._post, args, kw, case)

    def _post(self, ts: int, args: tuple, kw: dict[str, Any], case: CaseLabel | None) -> None:
        seq = self.ledger.post(ts, *args, **kw)
        if case is not None:
            case.seqs.append(seq)

    def new_case(self, case: CaseLabel) -> CaseLabel:
        """Register a case so its rows end up in labels.csv."""
        self.cases.append(case)
        if case.sku:
            self.busy_skus.add(case.sku)
        return case

    def watch(self, pairs: list[tuple[str, str]]) -> None:
        """Keep routine counts and corrections off these bins so only the case's counts see them."""
        self.watched.update(pairs)

    def reveal(self, case: CaseLabel, pairs: list[tuple[str, str]], ts: int,
               days: tuple[float, float] = (0.3, 2.5), recount: float = 0.4) -> None:
        """Schedule the cycle counts that reveal a case's divergence (rows join the case)."""
        self.watch(pairs)
        when = ts + int(self.rng.uniform(*days) * DAY)
        day = when // DAY
        when = max(when, self.day_time(day, 7.0, 20.0)) if when % DAY < 7 * HOUR else when
        for k, (sku, loc) in enumerate(pairs):
            self.at(when + k * self.minutes(1, 6), self.count, sku, loc, case)
            if self.rng.random() < recount:
                self.at(when + self.minutes(20, 120), self.count, sku, loc, case, "supervisor")

    # -- opening stock -----------------------------------------------------------------------

    def open_stock(self) -> None:
        """Opening balances as adjustments just before the first day (ref OPENING).

        Pick faces are loaded in eaches (counted), reserve slots in full cases.
        """
        rng = self.rng
        for sku in self.cat.skus:
            cq = self.cat.master_case_qty[sku]
            home = self.cat.home[sku]
            face = max(cq, int(self.face_max[sku] * rng.uniform(0.5, 1.0)) // cq * cq)
            t = -HOUR + int(rng.integers(0, 1800))
            self.ledger.post(t, ADJUSTMENT, sku, face, home, "MIGRATION", reason="OTHER",
                             ref="OPENING")
            res = self.cat.reserve[sku]
            if res is not None:
                cases = max(1, math.ceil(self.rate[sku] * rng.uniform(3, 8) / cq))
                self.ledger.post(t + 1, ADJUSTMENT, sku, cases, res, "MIGRATION", uom="CS",
                                 reason="OTHER", ref="OPENING")

    # -- day planning ------------------------------------------------------------------------

    def plan_day(self, day: int) -> None:
        """Draw the day's roster, orders, receipts, counts, returns and benign noise."""
        self.roster.plan_day(self.rng)
        self.at(day * DAY + 5 * HOUR, self.reorder_check)
        self.plan_picks(day)
        self.plan_counts(day)
        self.plan_returns(day)
        self.benign.plan_day(self, day)

    def demand_multiplier(self, day: int) -> np.ndarray:
        """Per-SKU demand multiplier of the day from the running promotions."""
        mult = np.ones(len(self.cat.skus))
        for idx, d0, d1, m in self.promotions:
            if d0 <= day < d1:
                mult[idx] *= m
        return mult

    def plan_picks(self, day: int) -> None:
        """Order lines of the day, grouped into orders, each picked by one picker."""
        rng = self.rng
        season = 1.0 + 0.12 * math.sin(2 * math.pi * (day / 28.0 + self.cfg.seed % 7 / 7.0))
        date_weekday = (self.cfg.start.weekday() + day) % 7
        mult = self.demand_multiplier(day)
        p = self.cat.popularity * mult
        mean_lines = self.lines_per_day * season * WEEKDAY_FACTOR[date_weekday] * p.sum()
        n_lines = int(rng.poisson(mean_lines))
        if n_lines == 0:
            return
        skus = rng.choice(len(p), size=n_lines, p=p / p.sum())
        qty = 1 + rng.poisson(np.maximum(self.cat.line_size[skus] * mult[skus] ** 0.3 - 1, 0))
        sizes = 1 + rng.geometric(0.45, size=n_lines)
        bounds = np.cumsum(sizes)
        bounds = bounds[bounds < n_lines]
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [n_lines]))
        n_orders = len(starts)
        in_b = rng.random(n_orders) < 0.45
        t0 = np.where(in_b, 14 * HOUR, 6 * HOUR) + rng.uniform(10 * MINUTE, 7.5 * HOUR, n_orders)
        overtime = rng.random(n_orders) < self.cfg.overtime_rate * self.cfg.noise
        t0 = np.where(overtime, 22 * HOUR + rng.uniform(0, 80 * MINUTE, n_orders), t0)
        gaps = rng.uniform(20, 110, size=n_lines)
        base = day * DAY
        cage = self.cat.cage
        sku_names = self.cat.skus
        for o in range(n_orders):
            ref = self.next_ref("SO")
            user, device = self.crew("picker", int(t0[o]) if not overtime[o] else 21 * HOUR)
            t = base + float(t0[o])
            for i in range(starts[o], ends[o]):
                t += gaps[i]
                sku = sku_names[skus[i]]
                if sku in cage:
                    u, d = self.crew("cage", int(t))
                    self.at(int(t), self.pick, sku, int(qty[i]), u, d, ref)
                else:
                    self.at(int(t), self.pick, sku, int(qty[i]), user, device, ref)
        self.picked_today = n_lines

    def plan_counts(self, day: int) -> None:
        """Routine cycle counts: a share of the pick faces and a few reserve slots."""
        rng = self.rng
        n = int(rng.poisson(self.cfg.count_fraction * len(self.cat.skus)))
        if n == 0:
            return
        idx = rng.choice(len(self.cat.skus), size=min(n, len(self.cat.skus)), replace=False)
        times = np.sort(rng.uniform(7 * HOUR, 20 * HOUR, size=len(idx))).astype(int)
        for i, t in zip(idx, times, strict=True):
            sku = self.cat.skus[i]
            loc = self.cat.home[sku]
            res = self.cat.reserve[sku]
            if res is not None and rng.random() < 0.25:
                loc = res
            self.at(day * DAY + int(t), self.count, sku, loc)

    def plan_returns(self, day: int) -> None:
        """Customer returns of the day, on the returns desk, then put back or quarantined."""
        rng = self.rng
        n = int(rng.poisson(self.picked_today * self.cfg.return_rate))
        if n == 0:
            return
        p = self.cat.popularity
        for i in rng.choice(len(p), size=n, p=p):
            sku = self.cat.skus[i]
            t = self.day_time(day, 8.0, 19.0)
            user, device = self.crew("returns", t)
            q = int(rng.integers(1, 3))
            self.ledger.post(t, RETURN, sku, q, self.layout.returns, user, device=device,
                             ref=self.next_ref("RMA"))
            self.at(t + self.minutes(30, 20 * 60), self.dispose_return, sku, q)

    # -- flows -------------------------------------------------------------------------------

    def reorder_check(self, ts: int) -> None:
        """Raise an ASN for every SKU whose stock position is under its reorder point."""
        rng = self.rng
        total = self.ledger.system_total
        for sku in self.cat.skus:
            r = self.rate[sku]
            pos = total[sku] + self.on_order[sku]
            if pos >= r * REORDER_DAYS:
                continue
            cq = self.cat.master_case_qty[sku]
            cases = max(2, math.ceil((r * ORDER_UP_TO_DAYS - pos) / cq))
            lead = int(rng.integers(1, 4))
            self.order(ts // DAY * DAY + lead * DAY, sku, cases)

    def order(self, day_start: int, sku: str, cases: int, *, shipped: int | None = None,
              **oddities: Any) -> Asn:
        """Raise an ASN for ``cases`` of ``sku`` arriving on the day of ``day_start``.

        Args:
            day_start: any time on the arrival day.
            sku: item.
            cases: cases on the ASN.
            shipped: cases the supplier really ships (default: as ordered).
            **oddities: further :class:`Asn` fields set by recipes.
        """
        asn = Asn(self.next_ref("ASN"), sku, cases, cases if shipped is None else shipped,
                  **oddities)
        self.benign.shape_asn(self, asn)
        self.on_order[sku] += cases * self.cat.master_case_qty[sku]
        asn.lines = self.asn_lines(sku, asn.expected)
        self.at(self.day_time(day_start // DAY, 6.5, 15.0), self.receive, asn)
        return asn

    def asn_lines(self, sku: str, cases: int) -> list[int]:
        """Cases per ASN line: one line per SKU, or one per pallet of about 350 kg."""
        if self.site.asn_lines == "per_sku" or cases < 2:
            return [cases]
        case_kg = self.cat.true_case_qty[sku] * self.cat.true_weight[sku]
        n = min(8, cases, max(2, math.ceil(cases * case_kg / 350.0)))
        base, extra = divmod(cases, n)
        return [base + (1 if i < extra else 0) for i in range(n)]

    def receipt_rows(self, asn: Asn) -> list[tuple[int, int, int]]:
        """(expected_qty, keyed, shipped) in cases per RECEIPT row of one delivery.

        One row per ASN line; ``expected_qty`` is the line's own quantity, or under the
        ``total`` convention the SKU's ASN total on every row. A keying error lands on the
        largest line; a short shipment leaves the last lines short or missing.
        """
        lines = asn.lines or [asn.expected]
        total = asn.total if asn.total is not None else asn.expected
        repeat = self.site.partial_expected == "total"
        if len(lines) == 1:
            keyed = asn.shipped if asn.keyed is None else asn.keyed
            return [(total if repeat else asn.expected, keyed, asn.shipped)]
        ship = _fill(lines, asn.shipped)
        if asn.keyed is None:
            keyed_rows = list(ship)
        elif asn.keyed == sum(lines):
            keyed_rows = list(lines)
        else:
            keyed_rows = list(ship)
            big = int(np.argmax(ship))
            keyed_rows[big] = max(1, ship[big] + asn.keyed - asn.shipped)
        return [(total if repeat else line, k, n)
                for line, k, n in zip(lines, keyed_rows, ship, strict=True) if k or n]

    def receive(self, ts: int, asn: Asn) -> None:
        """Unload a truck against the ASN: its RECEIPT rows, then their putaways.

        At a dock site each row lands on a dock door and is put away; at a direct-receiving
        site it is posted at the storage location it goes to.
        """
        rng = self.rng
        sku = asn.sku
        if asn.split:
            asn = self._split(ts, asn)
        direct = self.site.receiving == "direct"
        dock = self.layout.docks[int(rng.integers(len(self.layout.docks)))]
        where, real = (self.direct_dest(asn) if direct else (dock, dock))
        user, _ = self.crew("receiver", ts)
        scale = f"SCL-{dock[-2:]}"
        lot = expiry = None
        case = asn.label if asn.label is not None else self.receipt_cases.get(sku)
        for k, (expected, keyed, shipped) in enumerate(self.receipt_rows(asn)):
            phys = shipped * self.cat.true_case_qty[sku]
            weight = self.scale_weight(sku, phys)
            reweigh = None
            if asn.glitch and weight is not None and k == 0:
                weight, reweigh = self.benign.glitch_weight(self.rng, weight), weight
            if k == 0 and sku in self.cat.lot_controlled:
                day = self.cfg.start.toordinal() + ts // DAY
                lot = f"L{day:d}{int(rng.integers(10, 99))}"
                expiry = str(self.cfg.start.fromordinal(day + int(rng.integers(90, 420))))
            row: ReceiptFields = {"uom": "CS", "device": scale, "weight": weight,
                                  "expected": expected, "ref": asn.ref, "lot": lot,
                                  "expiry": expiry}
            seq = self.ledger.post(ts, RECEIPT, sku, keyed, where, user,
                                   physical=[(sku, real, phys)], **row)
            self.on_order[sku] = max(0, self.on_order[sku]
                                     - keyed * self.cat.master_case_qty[sku])
            if case is not None:
                case.seqs.append(seq)
                case.location = case.location or where
            if direct and asn.putaway_label is not None:
                asn.putaway_label.seqs.append(seq)
            if asn.duplicate and case is not None and k == 0:
                case.seqs.append(self.ledger.post(ts, RECEIPT, sku, keyed, where, user,
                                                  physical=[], **row))
            if not direct:
                self.at(ts + self.minutes(10, 90), self.putaway, asn, dock, keyed, phys,
                        reweigh)
            ts += self.minutes(1, 4) if k + 1 < len(asn.lines or ()) else 0

    def _split(self, ts: int, asn: Asn) -> Asn:
        """A partial delivery: the part that arrives now; the rest is scheduled 3-30 h later."""
        asn.split = False
        lines = asn.lines or [asn.expected]
        if len(lines) >= 2:
            k = int(self.rng.integers(1, len(lines)))
            now, later = lines[:k], lines[k:]
            first = Asn(asn.ref, asn.sku, asn.expected, sum(now), lines=now)
            rest = Asn(asn.ref, asn.sku, sum(later), sum(later), lines=later, total=asn.expected)
        else:
            shipped = max(1, int(asn.shipped * self.rng.uniform(0.35, 0.8)))
            first = Asn(asn.ref, asn.sku, asn.expected, shipped, lines=[asn.expected])
            left = asn.shipped - shipped
            rest = Asn(asn.ref, asn.sku, left, left, lines=[left], total=asn.expected)
        self.at(ts + self.minutes(3 * 60, 30 * 60), self.receive, rest)
        return first

    def direct_dest(self, asn: Asn) -> tuple[str, str]:
        """(recorded, physical) storage location a direct receipt is posted at."""
        sku = asn.sku
        if asn.dest is not None:
            return asn.dest, asn.phys_dest or asn.dest
        if asn.bulk:
            lane = self.bulk_of.setdefault(sku, self.layout.bulk[
                int(self.rng.integers(len(self.layout.bulk)))])
            return lane, lane
        loc = self.cat.reserve[sku] or self.cat.home[sku]
        return loc, loc

    def putaway(self, ts: int, asn: Asn, dock: str, cases: int, phys: int,
                reweigh: float | None) -> None:
        """Move a receipt off the dock: home face up to its maximum, the rest to reserve."""
        sku = asn.sku
        cq_m = self.cat.master_case_qty[sku]
        cq_t = self.cat.true_case_qty[sku]
        home = self.cat.home[sku]
        res = self.cat.reserve[sku]
        if asn.dest is not None:
            plan = [(asn.dest, cases, phys, asn.phys_dest or asn.dest)]
        elif asn.bulk:
            lane = self.bulk_of.setdefault(sku, self.layout.bulk[
                int(self.rng.integers(len(self.layout.bulk)))])
            plan = [(lane, cases, phys, lane)]
        elif res is None:
            plan = [(home, cases, phys, home)]
        else:
            room = max(0, self.face_max[sku] - self.ledger.system[(sku, home)])
            to_home = min(cases, room // cq_m)
            home_phys = min(phys, to_home * cq_t)
            plan = [(home, to_home, home_phys, home), (res, cases - to_home, phys - home_phys, res)]
        user, device = self.crew("driver", ts)
        note = self.benign.reweigh_note(self.rng) if reweigh is not None else None
        for dest, n, p, real in plan:
            if n <= 0:
                continue
            self.post_at(ts, PUTAWAY, sku, n, dock, user, uom="CS", to=dest, device=device,
                         ref=asn.ref, note=note, case=asn.putaway_label,
                         weight=self.scale_weight(sku, p)
                         if reweigh is not None or asn.weigh_putaway
                         or self.site.scales == "all" else None,
                         physical=[(sku, dock, -p), (sku, real, p)])
            ts += self.minutes(2, 8)

    def pick(self, ts: int, sku: str, qty: int, user: str, device: str, ref: str) -> None:
        """Pick an order line from the home face (short-picked if the shelf runs dry)."""
        home = self.cat.home[sku]
        take = min(qty, self.ledger.physical[(sku, home)])
        if take > 0:
            weighed = self.site.scales == "all" or self.rng.random() < 0.2
            weight = self.scale_weight(sku, take, 0.015) if weighed else None
            seq = self.ledger.post(ts, PICK, sku, take, home, user, device=device, ref=ref,
                                   weight=weight)
            watch = self.pick_watch.get(sku)
            if watch is not None and watch.start <= ts < watch.end and (
                    not watch.negative_only or self.ledger.system[(sku, home)] < 0):
                watch.label.seqs.append(seq)
                if watch.negative_only and watch.delay:
                    self.at(ts + watch.delay, self.post_late_move, sku, watch)
                    watch.delay = 0
        self.need_replenishment(ts, sku)

    def need_replenishment(self, ts: int, sku: str) -> None:
        """Raise a replenishment task when the face is under its minimum."""
        # a late-event case waits for a nearly empty face, so the held MOVE is missed
        floor = self.face_max[sku] // 10 if sku in self.late_replen else self.face_min[sku]
        if (sku in self.pending_replen or sku in self.cat.cage
                or self.ledger.system[(sku, self.cat.home[sku])] >= floor):
            return
        self.pending_replen.add(sku)
        self.at(ts + self.minutes(4, 45), self.replenish, sku)

    def replenish(self, ts: int, sku: str) -> None:
        """MOVE whole cases reserve (or bulk) -> pick face, as many as the face takes."""
        self.pending_replen.discard(sku)
        ledger = self.ledger
        home = self.cat.home[sku]
        src = self.cat.reserve[sku]
        if src is None:
            return
        if ledger.system[(sku, src)] <= 0 and sku in self.bulk_of:
            src = self.bulk_of[sku]
        cq_m = self.cat.master_case_qty[sku]
        cq_t = self.cat.true_case_qty[sku]
        need = math.ceil((self.face_max[sku] - ledger.system[(sku, home)]) / cq_m)
        cases = min(need, ledger.system[(sku, src)] // cq_m, ledger.physical[(sku, src)] // cq_t)
        if cases <= 0:
            return
        user, device = self.crew("driver", ts)
        ref = self.next_ref("T")
        moved = [(sku, src, -cases * cq_t), (sku, home, cases * cq_t)]
        late = self.late_replen.pop(sku, None)
        if late is not None:
            case, delay = late
            ledger.shift(moved)
            watch = PickWatch(case, ts, self.end, negative_only=True, delay=delay,
                              move=(cases, src, home, user, device, ref))
            self.pick_watch[sku] = watch
            self.pending_replen.add(sku)  # the WMS still sees the task open
            self.at(ts + self.minutes(10 * 60, 30 * 60), self.post_late_move, sku, watch)
            return
        if self.rng.random() < 0.02 * self.cfg.noise:  # benign confirmation latency
            ledger.shift(moved)
            self.post_at(ts + self.minutes(1, 9), MOVE, sku, cases, src, user, uom="CS",
                         to=home, device=device, ref=ref, physical=[])
            return
        ledger.post(ts, MOVE, sku, cases, src, user, uom="CS", to=home, device=device, ref=ref)

    def post_late_move(self, ts: int, sku: str, watch: PickWatch) -> None:
        """The confirmation of a replenishment that physically happened hours earlier."""
        if watch.move is None:
            return
        cases, src, home, user, device, ref = watch.move
        watch.move = None
        watch.label.seqs.append(self.ledger.post(ts, MOVE, sku, cases, src, user, uom="CS",
                                                 to=home, device=device, ref=ref, physical=[]))
        self.pick_watch.pop(sku, None)
        self.pending_replen.discard(sku)

    def dispose_return(self, ts: int, sku: str, qty: int) -> None:
        """Put a return back on its home face, or quarantine it and write it off later."""
        ret = self.layout.returns
        user, device = self.crew("returns", ts)
        if self.rng.random() < 0.8:
            self.ledger.post(ts, PUTAWAY, sku, qty, ret, user, to=self.cat.home[sku],
                             device=device)
            return
        qa = self.layout.quarantine
        self.ledger.post(ts, MOVE, sku, qty, ret, user, to=qa, device=device)
        sup, _ = self.crew("supervisor", ts)
        self.post_at(ts + self.minutes(60, 40 * 60), ADJUSTMENT, sku, -qty, qa, sup,
                     device="TERM-01", reason="DAMAGED")

    def count(self, ts: int, sku: str, loc: str, case: CaseLabel | None = None,
              role: str = "counter", recount: bool = False) -> None:
        """Cycle-count one bin: counted = physical, expected_qty = system.

        Routine counts skip watched bins. A variance on a routine count is either a counting
        slip (a recount 15-90 minutes later finds the system right) or real drift (a clerk
        posts a COUNT_CORRECTION). Counts that reveal a case join it and are not corrected.
        """
        if case is None and ((sku, loc) in self.watched or sku in self.watched_skus):
            return
        ledger = self.ledger
        expected = ledger.system[(sku, loc)]
        counted = max(0, ledger.physical[(sku, loc)])
        slip = (case is None and not recount and counted > 3
                and self.rng.random() < 0.02 * self.cfg.noise)
        if slip:
            counted += int(self.rng.choice((-2, -1, 1, 2)))
        user, device = self.crew(role, ts)
        ref = self.next_ref("CC")
        seq = ledger.post(ts, CYCLE_COUNT, sku, counted, loc, user, device=device,
                          expected=expected, ref=ref)
        if case is not None:
            case.seqs.append(seq)
            return
        variance = counted - expected
        if variance == 0:
            return
        if slip:
            self.at(ts + self.minutes(15, 90), self.count, sku, loc, None, "counter", True)
            return
        sup, _ = self.crew("supervisor", ts)
        self.post_at(ts + self.minutes(5, 120), ADJUSTMENT, sku, variance, loc, sup,
                     device="TERM-01", reason="COUNT_CORRECTION", ref=ref, physical=[])

    # -- the run -----------------------------------------------------------------------------

    def run(self, on_day: Callable[[int], None] | None = None) -> None:
        """Simulate every day; ``on_day`` is called after each (progress bars)."""
        self.schedule_cases(self)  # first: some recipes make the master wrong from day one
        self.open_stock()
        self.benign.plan_promotions(self)
        for day in range(self.cfg.days):
            self.plan_day(day)
            self.run_until((day + 1) * DAY)
            if on_day is not None:
                on_day(day)
        self._queue.clear()


def _fill(lines: list[int], n: int) -> list[int]:
    """``n`` cases spread over ASN lines in order, each up to its size; excess on the last."""
    out = []
    left = n
    for size in lines:
        take = min(size, max(0, left))
        out.append(take)
        left -= take
    out[-1] += max(0, left)
    return out
