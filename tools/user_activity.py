"""Tool: one user's activity against their peers (adjustments, write-offs, off-shift work)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from tools.result import ToolSpec, num
from tools.view import WarehouseView


class UserParams(BaseModel):
    """Arguments of :func:`user_activity`."""

    user_id: str = Field(min_length=1)


class UserActivity(BaseModel):
    """The user's figures, the peer median of each and the user's rank among peers."""

    user_id: str
    transactions: int
    negative_adjustments: int
    written_off_eaches: float
    off_shift_share: float = Field(description="share of the user's rows in the site's quiet hours")
    peers: int
    peer_median_negative_adjustments: float
    peer_median_off_shift_share: float
    negative_adjustment_rank: float = Field(description="share of peers with fewer (0..1)")

    def facts(self) -> list[str]:
        """Evidence sentences."""
        median = num(self.peer_median_negative_adjustments)
        return [
            f"User {self.user_id}: {self.negative_adjustments} negative adjustments writing off "
            f"{num(self.written_off_eaches)} EA (peer median {median} across {self.peers} users)",
            f"User {self.user_id}: {num(100 * self.off_shift_share, 1)}% of activity in quiet "
            f"hours (peer median {num(100 * self.peer_median_off_shift_share, 1)}%)",
        ]


def user_activity(view: WarehouseView, user_id: str) -> UserActivity | None:
    """Negative adjustments and quiet-hour work of ``user_id`` against all other users.

    Quiet hours are the site's own: hours carrying well under an average hour's volume, so
    no shift pattern is assumed. Computed once per user and view (a batch asks again for
    every incident the user adjusted in).

    Returns:
        The comparison, or None when the user has no transactions.
    """
    return view.memo(f"user_activity:{user_id}", lambda: _user_activity(view, user_id))


def _user_activity(view: WarehouseView, user_id: str) -> UserActivity | None:
    mine = view.positions(user_id=user_id)
    if mine is None or not len(mine):
        return None
    site = site_activity(view)
    peers = site.negative_adjustments[site.users != user_id]
    n_neg = int(site.negative_counts.get(user_id, 0))
    return UserActivity(
        user_id=user_id, transactions=len(mine), negative_adjustments=n_neg,
        written_off_eaches=float(-site.negative_eaches[site.negative_users == user_id].sum()),
        off_shift_share=round(float(site.off_shift.get(user_id, 0.0)), 4), peers=len(peers),
        peer_median_negative_adjustments=float(np.median(peers)) if len(peers) else 0.0,
        peer_median_off_shift_share=round(float(
            site.off_shift.drop(user_id, errors="ignore").median())
            if len(site.off_shift) > 1 else 0.0, 4),
        negative_adjustment_rank=round(float((peers < n_neg).mean()) if len(peers) else 0.0, 3),
    )


@dataclass(frozen=True)
class SiteActivity:
    """Site-wide aggregates every user is compared with (arrays a user's figures read)."""

    users: np.ndarray
    """Every user id, in order of first appearance."""
    negative_adjustments: np.ndarray
    """Negative adjustments posted by each of ``users``."""
    negative_counts: dict[str, int]
    """User -> negative adjustments posted (users who posted any)."""
    negative_users: np.ndarray
    """The user of each negative adjustment, in ledger order."""
    negative_eaches: np.ndarray
    """The eaches of each negative adjustment, in ledger order."""
    off_shift: pd.Series
    """User -> share of their rows in the site's quiet hours."""


def site_activity(view: WarehouseView) -> SiteActivity:
    """The site's aggregates for :func:`user_activity`, built once per view.

    A batch builds them with its view (:class:`agents.batch.TriageKit`), so no ticket pays
    for a pass over the whole log.
    """
    return view.memo("user_activity", lambda: _site(view))


def _site(view: WarehouseView) -> SiteActivity:
    tx = view.ledger
    neg = tx[(tx["type"] == "ADJUSTMENT") & (tx["eaches"] < 0)]
    counts = neg.groupby("user_id").size()
    users = tx["user_id"].dropna().unique()
    quiet = tx["ts"].dt.hour.isin(view.quiet_hours)
    return SiteActivity(
        users=np.asarray(users, dtype=object),
        negative_adjustments=counts.reindex(users, fill_value=0).to_numpy(),
        negative_counts={str(k): int(v) for k, v in counts.items()},
        negative_users=neg["user_id"].to_numpy(dtype=object),
        negative_eaches=neg["eaches"].to_numpy(dtype=float),
        off_shift=quiet.groupby(tx["user_id"]).mean())


TOOL = ToolSpec(
    name="user_activity",
    description="A user's negative adjustments and quiet-hour activity against peer medians.",
    params=UserParams,
    run=lambda view, p: user_activity(view, p.user_id),
)

