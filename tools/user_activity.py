"""Tool: one user's activity against their peers (adjustments, write-offs, off-shift work)."""

from __future__ import annotations

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
    mine = view.rows(user_id=user_id)
    if mine.empty:
        return None
    neg, neg_counts, off, users = view.memo("user_activity", lambda: _site(view))
    neg_all = neg_counts.reindex(users, fill_value=0)
    peers = neg_all.drop(user_id, errors="ignore")
    n_neg = int(neg_counts.get(user_id, 0))
    return UserActivity(
        user_id=user_id, transactions=len(mine), negative_adjustments=n_neg,
        written_off_eaches=float(-neg.loc[neg["user_id"] == user_id, "eaches"].sum()),
        off_shift_share=round(float(off.get(user_id, 0.0)), 4), peers=len(peers),
        peer_median_negative_adjustments=float(np.median(peers)) if len(peers) else 0.0,
        peer_median_off_shift_share=round(float(
            off.drop(user_id, errors="ignore").median()) if len(off) > 1 else 0.0, 4),
        negative_adjustment_rank=round(float((peers < n_neg).mean()) if len(peers) else 0.0, 3),
    )


def _site(view: WarehouseView) -> tuple[pd.DataFrame, pd.Series, pd.Series, np.ndarray]:
    """Site-wide aggregates: negative adjustments, their count and quiet-hour share per user."""
    tx = view.ledger
    neg = tx[(tx["type"] == "ADJUSTMENT") & (tx["eaches"] < 0)]
    quiet = tx["ts"].dt.hour.isin(view.quiet_hours)
    return (neg, neg.groupby("user_id").size(), quiet.groupby(tx["user_id"]).mean(),
            tx["user_id"].dropna().unique())


TOOL = ToolSpec(
    name="user_activity",
    description="A user's negative adjustments and quiet-hour activity against peer medians.",
    params=UserParams,
    run=lambda view, p: user_activity(view, p.user_id),
)

