"""One definition of folding, shared by ``tally run`` and the service.

Flags of one cause behind many occurrences (a feed repeating lines, a scanner
double-scanning) leave incident grouping as systemic patterns (:func:`split_systemic`,
:mod:`scoring.systemic`), each a parent ticket with cheap children
(:func:`agents.systemic.systemic_tickets`); after triage, many lone unexplained write-offs of
one poster and many dismissals of one reason-code set fold under one parent each
(:func:`fold_tickets`: :mod:`agents.unexplained`, :mod:`agents.dismissed`). The batch run
folds a whole log at once; the service folds each round of flags with what its store already
holds, naming parents by a digest of what they group so that later rounds find them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from agents.dismissed import Namer, fold_dismissed
from agents.params import DEFAULT_PARAMS, PolicyParams
from agents.unexplained import fold_unexplained
from scoring.systemic import Pattern, fold
from scoring.types import Flag
from tools.view import WarehouseView
from warehouse.contract import Ticket


def split_systemic(flags: Sequence[Flag], *, params: PolicyParams = DEFAULT_PARAMS,
                   systemic: Collection[tuple[str, str]] = ()
                   ) -> tuple[list[Flag], list[Pattern]]:
    """The flags left for incidents and the systemic patterns, by the policy's thresholds.

    ``systemic``: (family, subject) pairs already systemic (folded at any count).
    """
    return fold(flags, min_occurrences=params.systemic_min_occurrences,
                min_spread=params.systemic_min_spread, systemic=systemic)


def fold_tickets(tickets: list[Ticket], view: WarehouseView, *,
                 params: PolicyParams = DEFAULT_PARAMS, name: Namer | None = None
                 ) -> list[Ticket]:
    """``tickets`` with lone unexplained write-offs and dismissals folded under parents.

    Args:
        tickets: triaged tickets (top-level ones fold; children stay where they are).
        view: the warehouse, for each write-off's note, reason code and user.
        params: the policy's thresholds (``systemic_min_occurrences``).
        name: names parents from their prefix and group key (numbered when None).
    """
    tickets = fold_unexplained(tickets, view, min_occurrences=params.systemic_min_occurrences,
                               name=name)
    return fold_dismissed(tickets, min_occurrences=params.systemic_min_occurrences, name=name)
