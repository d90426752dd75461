"""Site profiles: the conventions a simulated site follows, each varied on its own.

Real sites differ in how they record the same work. A profile names one combination of
conventions; the generator simulates the same flows and anomalies and records them the
profile's way, so a detector fitted to one way of recording meets the others in the eval.

Conventions (:class:`SiteProfile` fields):

- ``asn_lines``: ``per_sku`` (one ASN line per SKU) or ``per_pallet`` (one line per pallet,
  the SKU on several lines of one ASN, each receipt posted with its own line's quantity).
- ``partial_expected``: on the later receipts of a partial delivery, ``expected_qty`` is the
  ``open`` quantity or the line's ``total`` repeated.
- ``partial_rate``: how often an ordinary delivery arrives in parts (x the reference rate).
- ``cage``: whether the site has a locked cage for high-value items.
- ``high_value_cost``: unit cost from which an item of a high-value category is caged.
- ``cost_scale``: currency factor on every unit cost (a yen site costs x150).
- ``blind_counts``: share of cycle counts that show no expected quantity.
- ``scales``: ``none`` (no measured weights; the item master keeps its unit weights),
  ``some`` (dock scales on receipts, a check-weigher on a fifth of the picks, putaways
  weighed only when re-weighed) or ``all`` (every receipt, putaway and pick weighed).
- ``devices``: whether rows carry a device id.
- ``receiving``: ``dock`` (receipt at a door, then a putaway) or ``direct`` (the receipt is
  posted at the storage location it goes to, no putaway row).
- ``clock_offset_h``: hours added to every timestamp (a site on another shift pattern or
  one that logs in another zone's clock), so "night" means other hours.
- ``naming``: how SKUs, locations, users, devices, documents and txn_ids are spelled
  (:mod:`sim.generator.naming`).
- ``kind``: ``dc`` (a distribution centre) or ``ecommerce`` (an online shop's order export,
  :mod:`sim.generator.ecommerce`).

Training and held-out profiles are disjoint: the offline reasoner and the risk calibration
see only :data:`TRAINING_PROFILES`; :data:`HELD_OUT_PROFILES` are for the eval alone. The
held-out side holds combinations, a naming scheme and an e-commerce variant never trained on.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SiteProfile(BaseModel):
    """One site's conventions (see the module docstring for each field)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    about: str
    kind: Literal["dc", "ecommerce"] = "dc"
    asn_lines: Literal["per_sku", "per_pallet"] = "per_sku"
    partial_expected: Literal["open", "total"] = "open"
    partial_rate: float = Field(default=1.0, ge=0.0, le=10.0)
    cage: bool = True
    high_value_cost: float = Field(default=40.0, ge=0.0)
    cost_scale: float = Field(default=1.0, gt=0.0)
    blind_counts: float = Field(default=0.0, ge=0.0, le=1.0)
    scales: Literal["none", "some", "all"] = "some"
    devices: bool = True
    receiving: Literal["dock", "direct"] = "dock"
    clock_offset_h: int = Field(default=0, ge=-12, le=14)
    naming: Literal["reference", "numeric", "verbose", "compact", "retail"] = "reference"


_PROFILES = (
    SiteProfile(name="reference", about="the original generator: one ASN line per SKU, open "
                "quantity on partial receipts, cage, dock receiving, counts show the system qty"),
    SiteProfile(name="pallet-asn", about="one ASN line per pallet, numeric ids, every handling "
                "weighed", asn_lines="per_pallet", scales="all", naming="numeric",
                partial_rate=1.5),
    SiteProfile(name="blind-direct", about="blind counts, receipts posted straight to storage, "
                "no devices, clock 5 h ahead", blind_counts=1.0, receiving="direct",
                devices=False, clock_offset_h=5, naming="verbose"),
    SiteProfile(name="nocage-total", about="no cage, ASN total repeated on partial receipts, "
                "many partial deliveries, costs x100", cage=False, partial_expected="total",
                partial_rate=3.0, cost_scale=100.0, scales="some", naming="verbose"),
    SiteProfile(name="shop-export", about="e-commerce order export: sales as picks from one "
                "location, cancellations as returns, adjustments with floor notes",
                kind="ecommerce", scales="none", devices=False, cage=False, naming="retail"),
    # -- held out: never trained or tuned on -----------------------------------------------------
    SiteProfile(name="pallet-blind", about="one ASN line per pallet, blind counts, no cage, "
                "direct-to-storage receiving, compact ids", asn_lines="per_pallet",
                blind_counts=1.0, cage=False, receiving="direct", naming="compact",
                clock_offset_h=-4),
    SiteProfile(name="total-noscale", about="ASN total repeated on partial receipts, no scales, "
                "no devices, half the counts blind, high-value from cost 25, clock 9 h ahead",
                partial_expected="total", partial_rate=2.5, scales="none", devices=False,
                blind_counts=0.5, high_value_cost=25.0, clock_offset_h=9, naming="compact"),
    SiteProfile(name="yen-pallet", about="one ASN line per pallet with the total repeated, "
                "costs x150, every handling weighed, numeric ids", asn_lines="per_pallet",
                partial_expected="total", cost_scale=150.0, scales="all", naming="numeric",
                partial_rate=2.0),
    SiteProfile(name="shop-export-b", about="e-commerce order export of another shop: other "
                "code and invoice formats, more cancellations, another clock",
                kind="ecommerce", scales="none", devices=False, cage=False, naming="compact",
                clock_offset_h=-6, partial_rate=2.0),
)
PROFILES: dict[str, SiteProfile] = {p.name: p for p in _PROFILES}
TRAINING_PROFILES: tuple[str, ...] = ("reference", "pallet-asn", "blind-direct", "nocage-total",
                                      "shop-export")
HELD_OUT_PROFILES: tuple[str, ...] = ("pallet-blind", "total-noscale", "yen-pallet",
                                      "shop-export-b")
assert not set(TRAINING_PROFILES) & set(HELD_OUT_PROFILES)
assert set(TRAINING_PROFILES) | set(HELD_OUT_PROFILES) == set(PROFILES)


def get_profile(name: str) -> SiteProfile:
    """The profile called ``name``; a ValueError lists the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None


def refuse_held_out(name: str, purpose: str) -> None:
    """Raise when a held-out profile would be used for training or tuning (``purpose``)."""
    if name in HELD_OUT_PROFILES:
        raise ValueError(f"profile {name!r} is held out for evaluation; {purpose} uses only "
                         f"training profiles ({', '.join(TRAINING_PROFILES)})")


def training_profile(seed: int) -> str:
    """The training profile a training seed simulates (seeds cycle through them)."""
    return TRAINING_PROFILES[(seed - 1) % len(TRAINING_PROFILES)]
