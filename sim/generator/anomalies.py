"""Anomaly recipes: how each labelled case is injected, and what in the log shows it.

Every recipe picks its SKU, user, magnitude and timing at random, so no two cases look
alike. Where an anomaly makes the shelf differ from the system, the recipe also schedules
the cycle counts that reveal it (0.3-4 days later, sometimes with a supervisor recount);
those counts join the case. Routine counts stay off a case's bins, so its divergence is
seen only by the case's own counts.

MIS_SCAN
  lookalike_pick: an order line for SKU A is picked from the look-alike B's face (the next
    slot) while A is scanned. System: A's face down q; shelf: B's face down q. Counts later
    show A over by q and B short by q (mirrored); 70% of the time a check-weigher caught the
    weight, which fits q x B's unit weight, not A's.
  double_scan: one pick of q scanned twice from the same gun 1-12 s apart (two ids, same
    order). The shelf lost q, the system 2q; a count shows the face over by q.
  wrong_location: the picker takes A from its face but scans the neighbouring bin's label.
    The system picks A from a bin that never held it (balance below zero there); counts show
    the face short and the other bin at zero against a negative expected_qty.
UOM_MASTER_DATA
  case_qty: the item master's case_qty is wrong from day one (true pack x0.5, x2, +-2 ...).
    Every CS receipt, putaway and replenishment moves the wrong number of eaches, so counts
    at the face and the reserve are off in multiples of the pack difference, all with one
    sign; the dock-scale weight / (qty x master case_qty x unit weight) is the same ratio
    for every receipt, whoever received it. Case = all its receipts plus the counts.
  pack_change: as case_qty, but the supplier changes the pack mid-run and the master is not
    updated; only receipts after the change are off (and old-pack cases still in reserve
    may move as new-pack ones, so the reserve can show the opposite sign). A face that ran
    dry physically while the system still shows stock is counted empty: its variance is
    the whole phantom balance, not a pack multiple.
  unit_weight: the master unit weight is wrong (x0.1, x0.5, x2, x10, grams keyed as kg);
    every weighed receipt shows one constant measured/expected ratio. No count variance.
SLOTTING
  neighbour_bin: a putaway recorded to A's home face is physically put into the adjacent
    bin; counts show the home short and the neighbour holding A it should not (mirrored).
  away_from_home: a putaway goes to a pick face far from A's home (recorded truthfully).
  cage_outside: a high-value cage item is put away to an ordinary pick or reserve slot.
  overweight: a heavy pallet is put away to an upper reserve level whose max_weight_kg is
    below the pallet's weight (recorded by the forklift scale).
RECEIVING_ERROR
  short_shipped / over_shipped: the supplier ships 5-40% fewer / more cases than the ASN;
    the receipt records what arrived (qty != expected_qty) and no second receipt follows.
  keyed_asn_qty: the supplier ships short but the receiver keys the ASN quantity; the dock
    weight fits what really arrived, and later counts find the shortage.
  miscount: the shipment matches the ASN but the receiver keys a typo (digits swapped, a
    zero dropped or added); weight fits the ASN quantity; counts show the difference.
SHRINKAGE
  writeoffs: one operator posts 3-7 small negative adjustments (DAMAGED, LOST or OTHER) on
    one high-value item over days, mostly outside their shift.
  unrecorded_loss: units of an attractive item vanish from the shelf 1-3 times with no
    record; a count finds the shortage with no movement to explain it.
SYSTEM_SYNC
  duplicate: the interface delivers one PICK, RETURN or RECEIPT twice under two ids with
    identical payload and timestamp.
  late_event: a replenishment MOVE is held by the interface: it posts 0.3-4 hours after the
    first pick that took the face below zero (or 10-30 hours after the move if none did);
    the late MOVE explains the negative balance. Case = the late MOVE and the picks that
    went negative.
LEGITIMATE
  promotion: a 4-9x demand spike on one SKU for 2-4 days (case = the promotion's picks).
  bulk_replenishment: a large delivery put to a bulk lane and moved to the face in one go.
  relocation: a planned reslot of 1-3 family members to spare faces; items.csv shows the
    new home, so the earlier rows look "away from home".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from sim.generator.labels import VARIANTS, CaseLabel
from sim.generator.ledger import ADJUSTMENT, MOVE, PICK, RETURN
from sim.generator.roster import DAY, HOUR, SHIFTS
from warehouse.contract import RootCause

if TYPE_CHECKING:
    from sim.generator.operations import Simulation

R = RootCause
Recipe = Callable[["Simulation", int], bool]
# Variants applied when the run starts (the master data is wrong from day one).
AT_START = {(R.UOM_MASTER_DATA, "case_qty"), (R.UOM_MASTER_DATA, "unit_weight")}


def schedule(sim: Simulation) -> None:
    """Spread the configured cases over the run, cycling through each cause's variants."""
    rng = sim.rng
    last_day = max(2, sim.cfg.days - 3)
    for rc, n in sim.cfg.cases_per_cause().items():
        variants = [v for v in VARIANTS[rc] if _available(sim, rc, v)]
        offset = int(rng.integers(len(variants)))
        for k in range(n):
            variant = variants[(offset + k) % len(variants)]
            if (rc, variant) in AT_START:
                _attempt(0, sim, rc, variant, 0)
                continue
            ts = sim.day_time(int(rng.integers(1, last_day)), 7.5, 19.5)
            sim.at(ts, _attempt, sim, rc, variant, 0)


def _available(sim: Simulation, rc: RootCause, variant: str) -> bool:
    if variant in ("unit_weight", "overweight"):
        return sim.weighs
    if variant == "cage_outside":
        return bool(sim.cat.cage)
    return True


def _attempt(ts: int, sim: Simulation, rc: RootCause, variant: str, tries: int) -> None:
    if RECIPES[(rc, variant)](sim, ts) or tries >= 6:
        return
    sim.at(ts + sim.minutes(60, 300), _attempt, sim, rc, variant, tries + 1)


# -- choosing what to hit --------------------------------------------------------------------

def _sku(sim: Simulation, ok: Callable[[str], bool], *, by_popularity: bool = True) -> str | None:
    """A SKU not used by another case that passes ``ok`` (popular ones more likely)."""
    rng = sim.rng
    skus = sim.cat.skus
    p = sim.cat.popularity if by_popularity else None
    for i in rng.choice(len(skus), size=min(60, len(skus)), p=p):
        sku = skus[int(i)]
        if sku not in sim.busy_skus and ok(sku):
            return sku
    return None


def _floor_sku(sim: Simulation, min_stock: int = 1) -> Callable[[str], bool]:
    return lambda s: (s not in sim.cat.cage
                      and sim.ledger.physical[(s, sim.cat.home[s])] >= min_stock)


def _case(sim: Simulation, rc: RootCause, variant: str, sku: str | None,
          location: str | None) -> CaseLabel:
    return sim.new_case(CaseLabel(rc, variant, sku, location))


def _next_day(ts: int) -> int:
    return (ts // DAY + 1) * DAY


def _order_cases(sim: Simulation, sku: str, lo: float = 4.0, hi: float = 10.0) -> int:
    return max(3, math.ceil(sim.rate[sku] * sim.rng.uniform(lo, hi)
                            / sim.cat.master_case_qty[sku]))


# -- MIS_SCAN ----------------------------------------------------------------------------------

def lookalike_pick(sim: Simulation, ts: int) -> bool:
    """Pick the look-alike B while scanning A."""
    rng, cat, ledger = sim.rng, sim.cat, sim.ledger

    def ok(s: str) -> bool:
        return s not in cat.cage and any(
            b not in cat.cage and b not in sim.busy_skus and ledger.physical[(b, cat.home[b])] >= 2
            for b in cat.family[s])

    a = _sku(sim, ok)
    if a is None:
        return False
    b = next(b for b in cat.family[a] if b not in cat.cage and b not in sim.busy_skus
             and ledger.physical[(b, cat.home[b])] >= 2)
    home_a, home_b = cat.home[a], cat.home[b]
    q = int(rng.integers(1, min(12, ledger.physical[(b, home_b)]) + 1))
    user, device = sim.crew("picker", ts)
    wa, wb = cat.true_weight[a], cat.true_weight[b]
    weight = None
    if abs(wb - wa) / wa > 0.08 and rng.random() < 0.7:
        weight = sim.scale_weight(b, q, 0.01)
    case = _case(sim, R.MIS_SCAN, "lookalike_pick", a, home_a)
    sim.busy_skus.add(b)
    case.seqs.append(ledger.post(ts, PICK, a, q, home_a, user, device=device,
                                 ref=sim.next_ref("SO"), weight=weight,
                                 physical=[(b, home_b, -q)]))
    sim.reveal(case, [(a, home_a), (b, home_b)], ts)
    return True


def double_scan(sim: Simulation, ts: int) -> bool:
    """One pick scanned twice, seconds apart, from one gun."""
    a = _sku(sim, _floor_sku(sim, 2))
    if a is None:
        return False
    rng, ledger = sim.rng, sim.ledger
    home = sim.cat.home[a]
    q = int(rng.integers(1, min(10, ledger.physical[(a, home)]) + 1))
    user, device = sim.crew("picker", ts)
    ref = sim.next_ref("SO")
    case = _case(sim, R.MIS_SCAN, "double_scan", a, home)
    case.seqs.append(ledger.post(ts, PICK, a, q, home, user, device=device, ref=ref))
    case.seqs.append(ledger.post(ts + int(rng.integers(1, 13)), PICK, a, q, home, user,
                                 device=device, ref=ref, physical=[]))
    sim.reveal(case, [(a, home)], ts)
    return True


def wrong_location(sim: Simulation, ts: int) -> bool:
    """Take A from its face but scan the neighbouring bin."""
    a = _sku(sim, lambda s: _floor_sku(sim, 2)(s) and bool(sim.layout.neighbours.get(
        sim.cat.home[s])))
    if a is None:
        return False
    rng, ledger = sim.rng, sim.ledger
    home = sim.cat.home[a]
    near = sim.layout.neighbours[home]
    other = near[int(rng.integers(len(near)))]
    q = int(rng.integers(1, min(8, ledger.physical[(a, home)]) + 1))
    user, device = sim.crew("picker", ts)
    case = _case(sim, R.MIS_SCAN, "wrong_location", a, other)
    case.seqs.append(ledger.post(ts, PICK, a, q, other, user, device=device,
                                 ref=sim.next_ref("SO"), physical=[(a, home, -q)]))
    sim.reveal(case, [(a, home), (a, other)], ts)
    return True


# -- UOM_MASTER_DATA -----------------------------------------------------------------------------

def _wrong_pack(sim: Simulation, true: int) -> int:
    options = sorted(p for p in {true * 2, max(1, true // 2), true + 2, max(1, true - 2),
                                 int(true * 1.5)} if p >= 1 and abs(p / true - 1) >= 0.1)
    return options[int(sim.rng.integers(len(options)))]


def _uom_sku(sim: Simulation) -> str | None:
    return _sku(sim, lambda s: s not in sim.cat.cage and sim.cat.master_case_qty[s] >= 2
                and sim.cat.reserve[s] is not None)


def _reveal_over_run(sim: Simulation, case: CaseLabel, sku: str, start: int) -> None:
    """Counts of the face and reserve on two later days (the error keeps accumulating)."""
    sim.watched_skus.add(sku)
    pairs = sim.cat.face_and_reserve(sku)
    span = max(1.0, (sim.end - start) / DAY - 1.5)
    sim.reveal(case, pairs, start, days=(span * 0.4, span * 0.6), recount=0.0)
    sim.reveal(case, pairs[:1], start, days=(span * 0.8, span), recount=0.0)


def case_qty(sim: Simulation, ts: int) -> bool:
    """The master's case_qty is wrong from day one."""
    sku = _uom_sku(sim)
    if sku is None:
        return False
    true = sim.cat.master_case_qty[sku]
    master = _wrong_pack(sim, true)
    sim.cat.master_case_qty[sku] = master
    sim.cat.master.loc[sim.cat.master["sku"] == sku, "case_qty"] = master
    case = _case(sim, R.UOM_MASTER_DATA, "case_qty", sku, sim.cat.home[sku])
    sim.receipt_cases[sku] = case
    sim.order(int(sim.rng.integers(1, max(2, sim.cfg.days // 2))) * DAY, sku,
              _order_cases(sim, sku))  # a slow mover still gets at least one delivery
    _reveal_over_run(sim, case, sku, DAY)
    return True


def pack_change(sim: Simulation, ts: int) -> bool:
    """The supplier changes the pack; the master keeps the old case_qty."""
    sku = _uom_sku(sim)
    if sku is None:
        return False
    sim.cat.true_case_qty[sku] = _wrong_pack(sim, sim.cat.master_case_qty[sku])
    case = _case(sim, R.UOM_MASTER_DATA, "pack_change", sku, sim.cat.home[sku])
    sim.receipt_cases[sku] = case
    sim.order(_next_day(ts), sku, _order_cases(sim, sku))
    _reveal_over_run(sim, case, sku, ts + DAY)
    return True


def unit_weight(sim: Simulation, ts: int) -> bool:
    """The master's unit weight is off by a constant factor."""
    sku = _sku(sim, lambda s: s not in sim.cat.cage)
    if sku is None:
        return False
    factor = (0.1, 0.5, 2.0, 10.0, 1000.0)[int(sim.rng.integers(5))]
    wrong = round(sim.cat.true_weight[sku] * factor, 4)
    sim.cat.master_weight[sku] = wrong
    sim.cat.master.loc[sim.cat.master["sku"] == sku, "unit_weight_kg"] = wrong
    case = _case(sim, R.UOM_MASTER_DATA, "unit_weight", sku, sim.cat.home[sku])
    sim.receipt_cases[sku] = case
    sim.order(int(sim.rng.integers(1, max(2, sim.cfg.days - 2))) * DAY, sku,
              _order_cases(sim, sku))
    return True


# -- SLOTTING ------------------------------------------------------------------------------------

def neighbour_bin(sim: Simulation, ts: int) -> bool:
    """Putaway recorded to the home face, goods put into the adjacent bin."""
    sku = _sku(sim, lambda s: s not in sim.cat.cage and bool(
        sim.layout.neighbours.get(sim.cat.home[s])))
    if sku is None:
        return False
    home = sim.cat.home[sku]
    near = sim.layout.neighbours[home]
    other = near[int(sim.rng.integers(len(near)))]
    case = _case(sim, R.SLOTTING, "neighbour_bin", sku, home)
    cases = max(1, min(_order_cases(sim, sku, 0.5, 1.5),
                       sim.face_max[sku] // sim.cat.master_case_qty[sku]))
    sim.order(_next_day(ts), sku, cases, dest=home, phys_dest=other, putaway_label=case)
    sim.reveal(case, [(sku, home), (sku, other)], ts, days=(2.2, 4.0))
    return True


def away_from_home(sim: Simulation, ts: int) -> bool:
    """Putaway to a pick face far from home."""
    sku = _sku(sim, lambda s: s not in sim.cat.cage)
    if sku is None or not sim.spare_faces:
        return False
    far = sim.spare_faces.pop(int(sim.rng.integers(len(sim.spare_faces))))
    case = _case(sim, R.SLOTTING, "away_from_home", sku, far)
    sim.order(_next_day(ts), sku, _order_cases(sim, sku, 1.0, 3.0), dest=far,
              putaway_label=case)
    sim.watch([(sku, far)])
    return True


def cage_outside(sim: Simulation, ts: int) -> bool:
    """High-value item put away outside the cage."""
    sku = _sku(sim, lambda s: s in sim.cat.cage, by_popularity=False)
    if sku is None:
        return False
    pool = sim.spare_faces if sim.spare_faces and sim.rng.random() < 0.6 else sim.spare_reserve
    if not pool:
        return False
    dest = pool.pop(int(sim.rng.integers(len(pool))))
    case = _case(sim, R.SLOTTING, "cage_outside", sku, dest)
    sim.order(_next_day(ts), sku, max(1, _order_cases(sim, sku, 1.0, 4.0) // 2), dest=dest,
              putaway_label=case)
    sim.watch([(sku, dest)])
    return True


def overweight(sim: Simulation, ts: int) -> bool:
    """Heavy pallet put away to an upper level it overloads."""
    top = [loc for loc in sim.spare_reserve if sim.layout.level[loc] >= 3]
    if not top:
        return False
    dest = top[int(sim.rng.integers(len(top)))]
    limit = sim.layout.max_weight[dest]

    def heavy(s: str) -> bool:
        case_kg = sim.cat.true_case_qty[s] * sim.cat.true_weight[s]
        return s not in sim.cat.cage and case_kg >= 8 and limit * 1.6 / case_kg <= 120

    sku = _sku(sim, heavy, by_popularity=False)
    if sku is None:
        return False
    sim.spare_reserve.remove(dest)
    case_kg = sim.cat.true_case_qty[sku] * sim.cat.true_weight[sku]
    cases = math.ceil(limit * sim.rng.uniform(1.15, 1.6) / case_kg)
    case = _case(sim, R.SLOTTING, "overweight", sku, dest)
    sim.order(_next_day(ts), sku, cases, dest=dest, putaway_label=case, weigh_putaway=True)
    sim.watch([(sku, dest)])
    return True


# -- RECEIVING_ERROR -----------------------------------------------------------------------------

def _receiving(sim: Simulation, ts: int, variant: str) -> bool:
    sku = _sku(sim, lambda s: s not in sim.cat.cage)
    if sku is None:
        return False
    rng = sim.rng
    expected = _order_cases(sim, sku, 5.0, 12.0)
    k = max(1, round(expected * rng.uniform(0.05, 0.4)))
    case = _case(sim, R.RECEIVING_ERROR, variant, sku, None)
    shipped, keyed = expected, None
    if variant == "short_shipped":
        shipped = expected - min(k, expected - 1)
    elif variant == "over_shipped":
        shipped = expected + k
    elif variant == "keyed_asn_qty":
        shipped, keyed = expected - min(k, expected - 1), expected
    else:
        keyed = _typo(sim, expected)
    sim.order(_next_day(ts), sku, expected, label=case, shipped=shipped, keyed=keyed)
    if variant in ("keyed_asn_qty", "miscount"):
        pairs = sim.cat.face_and_reserve(sku)
        sim.reveal(case, pairs, ts, days=(2.2, 4.0))
    return True


def _typo(sim: Simulation, n: int) -> int:
    digits = str(n)
    options = {int(digits + "0"), max(1, n - 1), n + 1}
    if len(digits) >= 2 and digits[0] != digits[1]:
        options.add(int(digits[1] + digits[0] + digits[2:]))
    if digits.endswith("0") and n >= 10:
        options.add(n // 10)
    options.discard(n)
    choices = sorted(options)
    return choices[int(sim.rng.integers(len(choices)))]


# -- SHRINKAGE -----------------------------------------------------------------------------------

def _valuable(sim: Simulation) -> str | None:
    if sim.cat.cage and sim.rng.random() < 0.7:
        return _sku(sim, lambda s: s in sim.cat.cage, by_popularity=False)
    costly = sorted(sim.cat.skus, key=lambda s: -sim.cat.cost[s])[: max(5, len(sim.cat.skus) // 10)]
    return _sku(sim, lambda s: s in costly, by_popularity=False)


def writeoffs(sim: Simulation, ts: int) -> bool:
    """One operator's repeated small write-offs of one high-value item, mostly off-shift."""
    sku = _valuable(sim)
    if sku is None:
        return False
    rng = sim.rng
    op = sim.roster.operators[int(rng.integers(len(sim.roster.operators)))]
    home = sim.cat.home[sku]
    case = _case(sim, R.SHRINKAGE, "writeoffs", sku, home)
    favourite = ("DAMAGED", "LOST", "OTHER")[int(rng.integers(3))]
    start, end = SHIFTS[op.shift]
    span = min(10 * DAY, int((sim.end - ts) * 0.9))
    for t in sorted(ts + rng.uniform(0, span, size=int(rng.integers(3, 8))).astype(int)):
        day = int(t) // DAY * DAY
        if rng.random() < 0.65:  # off-shift: after the shift ends or before it starts
            when = day + end % DAY + int(rng.uniform(0.3, 3.5) * HOUR) if rng.random() < 0.6 \
                else day + (start - int(rng.uniform(0.5, 2.0) * HOUR)) % DAY
        else:
            when = day + start % DAY + int(rng.uniform(0.5, 7.0) * HOUR)
        reason = favourite if rng.random() < 0.7 else ("DAMAGED", "LOST", "OTHER")[
            int(rng.integers(3))]
        sim.at(when, _write_off, sim, case, sku, home, op.user_id, op.device, reason,
               int(rng.integers(1, 4)))
    return True


def _write_off(ts: int, sim: Simulation, case: CaseLabel, sku: str, loc: str, user: str,
               device: str, reason: str, qty: int) -> None:
    qty = min(qty, sim.ledger.physical[(sku, loc)])
    if qty > 0:
        case.seqs.append(sim.ledger.post(ts, ADJUSTMENT, sku, -qty, loc, user, device=device,
                                         reason=reason))


def unrecorded_loss(sim: Simulation, ts: int) -> bool:
    """Units vanish with no record; a count finds the shortage."""
    sku = _valuable(sim) if sim.rng.random() < 0.6 else _sku(sim, _floor_sku(sim, 4))
    if sku is None:
        return False
    home = sim.cat.home[sku]
    case = _case(sim, R.SHRINKAGE, "unrecorded_loss", sku, home)
    sim.watch([(sku, home)])
    sim.at(ts, _vanish, sim, case, sku, home, int(sim.rng.integers(1, 4)))
    return True


def _vanish(ts: int, sim: Simulation, case: CaseLabel, sku: str, loc: str, left: int) -> None:
    """Take 10-35% of the shelf; when the last theft is done, schedule the revealing count."""
    have = sim.ledger.physical[(sku, loc)]
    if have <= 0:  # nothing to take right now: come back later
        sim.at(ts + sim.minutes(120, 480), _vanish, sim, case, sku, loc, left)
        return
    sim.ledger.shift([(sku, loc, -min(have, max(1, round(have * sim.rng.uniform(0.1, 0.35)))))])
    if left > 1:
        sim.at(ts + int(sim.rng.uniform(0.2, 1.2) * DAY), _vanish, sim, case, sku, loc, left - 1)
    else:
        sim.reveal(case, [(sku, loc)], ts, days=(0.3, 2.0))


# -- SYSTEM_SYNC ---------------------------------------------------------------------------------

def duplicate(sim: Simulation, ts: int) -> bool:
    """One event delivered twice under two ids, identical payload and time."""
    rng, ledger = sim.rng, sim.ledger
    kind = rng.random()
    if kind < 0.25:
        sku = _sku(sim, lambda s: s not in sim.cat.cage)
        if sku is None:
            return False
        case = _case(sim, R.SYSTEM_SYNC, "duplicate", sku, None)
        sim.order(_next_day(ts), sku, _order_cases(sim, sku), label=case, duplicate=True)
        return True
    sku = _sku(sim, _floor_sku(sim, 2))
    if sku is None:
        return False
    home = sim.cat.home[sku]
    if kind < 0.45:
        user, device = sim.crew("returns", ts)
        post = partial(ledger.post, ts, RETURN, sku, int(rng.integers(1, 3)), sim.layout.returns,
                       user, device=device, ref=sim.next_ref("RMA"))
        where = sim.layout.returns
    else:
        user, device = sim.crew("picker", ts)
        post = partial(ledger.post, ts, PICK, sku,
                       int(rng.integers(1, min(8, ledger.physical[(sku, home)]) + 1)), home, user,
                       device=device, ref=sim.next_ref("SO"))
        where = home
    case = _case(sim, R.SYSTEM_SYNC, "duplicate", sku, where)
    case.seqs.append(post())
    case.seqs.append(post(physical=[]))
    sim.watch([(sku, where)])
    return True


def late_event(sim: Simulation, ts: int) -> bool:
    """The next replenishment of a fast mover is confirmed hours late."""
    fast = sorted(sim.rate.values())[len(sim.rate) * 3 // 4]
    sku = _sku(sim, lambda s: s not in sim.cat.cage and sim.cat.reserve[s] is not None
               and sim.rate[s] >= fast)
    if sku is None:
        return False
    case = _case(sim, R.SYSTEM_SYNC, "late_event", sku, sim.cat.home[sku])
    sim.late_replen[sku] = (case, int(sim.rng.uniform(0.3, 4.0) * HOUR))
    sim.watch([(sku, sim.cat.home[sku])])
    return True


# -- LEGITIMATE ----------------------------------------------------------------------------------

def promotion(sim: Simulation, ts: int) -> bool:
    """A big promotion on one SKU; its picks are the case."""
    from sim.generator.operations import PickWatch

    sku = _sku(sim, lambda s: s not in sim.cat.cage)
    if sku is None:
        return False
    rng = sim.rng
    d0 = ts // DAY + 1
    d1 = d0 + int(rng.integers(2, 5))
    sim.promotions.append((sim.cat.skus.index(sku), d0, d1, float(rng.uniform(4.0, 9.0))))
    case = _case(sim, R.LEGITIMATE, "promotion", sku, sim.cat.home[sku])
    sim.pick_watch[sku] = PickWatch(case, d0 * DAY, d1 * DAY)
    sim.order(d0 * DAY - DAY, sku, _order_cases(sim, sku, 8.0, 20.0))
    return True


def bulk_replenishment(sim: Simulation, ts: int) -> bool:
    """A pallet to a bulk lane, then moved to the face in one large MOVE."""
    sku = _sku(sim, lambda s: s not in sim.cat.cage)
    if sku is None:
        return False
    case = _case(sim, R.LEGITIMATE, "bulk_replenishment", sku, sim.cat.home[sku])
    sim.order(_next_day(ts), sku, _order_cases(sim, sku, 10.0, 25.0), bulk=True,
              putaway_label=case)
    sim.at(_next_day(ts) + DAY + int(sim.rng.uniform(6.5, 11) * HOUR), _bulk_move, sim, case, sku)
    return True


def _bulk_move(ts: int, sim: Simulation, case: CaseLabel, sku: str) -> None:
    lane = sim.bulk_of.get(sku)
    if lane is None:
        return
    cq = sim.cat.master_case_qty[sku]
    cases = min(sim.ledger.system[(sku, lane)] // cq,
                sim.ledger.physical[(sku, lane)] // sim.cat.true_case_qty[sku])
    cases = max(1, int(cases * sim.rng.uniform(0.6, 1.0))) if cases > 0 else 0
    if cases:
        user, device = sim.crew("driver", ts)
        case.seqs.append(sim.ledger.post(ts, MOVE, sku, cases, lane, user, uom="CS",
                                         to=sim.cat.home[sku], device=device,
                                         ref=sim.next_ref("T")))


def relocation(sim: Simulation, ts: int) -> bool:
    """Planned reslot of one to three family members to spare faces."""
    sku = _sku(sim, lambda s: s not in sim.cat.cage)
    if sku is None:
        return False
    members = [sku, *[m for m in sim.cat.family[sku] if m not in sim.cat.cage
                      and m not in sim.busy_skus]][: int(sim.rng.integers(1, 4))]
    if len(sim.spare_faces) < len(members):
        return False
    case = _case(sim, R.LEGITIMATE, "relocation", sku, sim.cat.home[sku])
    user, device = sim.crew("driver", ts)
    note = "planned reslot per slotting review" if sim.rng.random() < 0.5 else None
    for k, m in enumerate(members):
        sim.busy_skus.add(m)
        old = sim.cat.home[m]
        new = sim.spare_faces.pop(int(sim.rng.integers(len(sim.spare_faces))))
        qty = min(sim.ledger.system[(m, old)], sim.ledger.physical[(m, old)])
        sim.cat.home[m] = new
        if qty > 0:
            case.seqs.append(sim.ledger.post(ts + k * sim.minutes(3, 10), MOVE, m, qty, old,
                                             user, to=new, device=device, note=note,
                                             ref=sim.next_ref("T")))
    return True


RECIPES: dict[tuple[RootCause, str], Recipe] = {
    (R.MIS_SCAN, "lookalike_pick"): lookalike_pick,
    (R.MIS_SCAN, "double_scan"): double_scan,
    (R.MIS_SCAN, "wrong_location"): wrong_location,
    (R.UOM_MASTER_DATA, "case_qty"): case_qty,
    (R.UOM_MASTER_DATA, "pack_change"): pack_change,
    (R.UOM_MASTER_DATA, "unit_weight"): unit_weight,
    (R.SLOTTING, "neighbour_bin"): neighbour_bin,
    (R.SLOTTING, "away_from_home"): away_from_home,
    (R.SLOTTING, "cage_outside"): cage_outside,
    (R.SLOTTING, "overweight"): overweight,
    (R.RECEIVING_ERROR, "short_shipped"): lambda sim, ts: _receiving(sim, ts, "short_shipped"),
    (R.RECEIVING_ERROR, "over_shipped"): lambda sim, ts: _receiving(sim, ts, "over_shipped"),
    (R.RECEIVING_ERROR, "keyed_asn_qty"): lambda sim, ts: _receiving(sim, ts, "keyed_asn_qty"),
    (R.RECEIVING_ERROR, "miscount"): lambda sim, ts: _receiving(sim, ts, "miscount"),
    (R.SHRINKAGE, "writeoffs"): writeoffs,
    (R.SHRINKAGE, "unrecorded_loss"): unrecorded_loss,
    (R.SYSTEM_SYNC, "duplicate"): duplicate,
    (R.SYSTEM_SYNC, "late_event"): late_event,
    (R.LEGITIMATE, "promotion"): promotion,
    (R.LEGITIMATE, "bulk_replenishment"): bulk_replenishment,
    (R.LEGITIMATE, "relocation"): relocation,
}
