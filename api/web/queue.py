"""The queue page for the person looking at it: theirs to act on first, any column sortable.

Who may act depends on each ticket's action and value (the approval rules), so the page
filters by status, severity, cause, SKU, location and age in SQL, then decides "mine",
sorts, groups and pages in Python (a queue is hundreds of tickets, not millions).

- ``view=mine`` (the default for supervisors and above): tickets this person can approve
  or retry now; ``view=all``: everything that matches.
- ``sort``: any column; the default is severity, then value at risk, then risk.
- ``group=systemic``: occurrences under their systemic ticket; ``group=fix``: tickets that
  propose the same fix (same action on the same SKU and place) together.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlmodel import Session

from api.approvals import ApprovalPolicy
from api.auth import Principal, Role
from api.routes.tickets import visible_sites
from api.tickets import TicketQuery, TicketRecord, list_tickets
from api.web.ticket_view import QueueRow, queue_row
from warehouse.contract import RootCause, Severity, TicketStatus

PAGE_SIZE = 25
LARGEST_FIRST = frozenset({"value", "risk"})
"""Columns whose first click sorts descending."""
FETCH = 500
"""Tickets read per query while building the queue (the listing API's page limit)."""


class QueueView(StrEnum):
    """Whose tickets the queue shows."""

    MINE = "mine"
    ALL = "all"


class QueueSort(StrEnum):
    """Sortable columns (``severity``: severity, then value at risk, then risk)."""

    SEVERITY = "severity"
    VALUE = "value"
    RISK = "risk"
    CAUSE = "cause"
    SKU = "sku"
    LOCATION = "location"
    SUMMARY = "summary"
    ACTION = "action"
    AGE = "age"
    STATUS = "status"
    ASSIGNEE = "assignee"


class QueueGroup(StrEnum):
    """How rows are grouped."""

    NONE = "none"
    SYSTEMIC = "systemic"
    FIX = "fix"


def _severity_key(r: QueueRow) -> tuple[Any, ...]:
    return (r.t.severity.rank, -(r.value_at_risk or 0.0), -r.t.risk_score)


SORT_KEYS: dict[QueueSort, Any] = {
    QueueSort.SEVERITY: _severity_key,
    QueueSort.VALUE: lambda r: (r.value_at_risk if r.value_at_risk is not None else -1.0,),
    QueueSort.RISK: lambda r: (r.t.risk_score,),
    QueueSort.CAUSE: lambda r: (r.t.root_cause.value,),
    QueueSort.SKU: lambda r: (r.t.sku or "~",),
    QueueSort.LOCATION: lambda r: (r.t.location or "~",),
    QueueSort.SUMMARY: lambda r: (r.t.summary.lower(),),
    QueueSort.ACTION: lambda r: (r.t.action_type.value,),
    QueueSort.AGE: lambda r: (r.t.created_at,),
    QueueSort.STATUS: lambda r: (r.state,),
    QueueSort.ASSIGNEE: lambda r: (r.required_role.rank,),
}
"""Ascending keys; ``desc`` reverses. Ties fall back to the default order."""


class QueueFilters(BaseModel):
    """The queue page's filter form (empty boxes mean 'any')."""

    site: str | None = Field(default=None, max_length=64)
    status: TicketStatus | None = None
    severity: Severity | None = None
    root_cause: RootCause | None = None
    sku: str | None = Field(default=None, max_length=128)
    location: str | None = Field(default=None, max_length=128)
    max_age_h: float | None = Field(default=None, ge=0, le=1e6)
    view: QueueView | None = None
    sort: QueueSort = QueueSort.SEVERITY
    desc: bool = False
    group: QueueGroup = QueueGroup.NONE
    page: int = Field(default=1, ge=1, le=100_000)

    @field_validator("site", "status", "severity", "root_cause", "sku", "location", "max_age_h",
                     "view", mode="before")
    @classmethod
    def _blank_is_any(cls, value: Any) -> Any:
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("sort", "group", "page", "desc", mode="before")
    @classmethod
    def _blank_default(cls, value: Any, info: ValidationInfo) -> Any:
        return cls.model_fields[info.field_name or ""].default if value == "" else value

    def view_for(self, user: Principal) -> QueueView:
        """``mine`` by default for anyone who can decide, ``all`` for viewers."""
        if self.view is not None:
            return self.view
        return QueueView.MINE if user.role.at_least(Role.SUPERVISOR) else QueueView.ALL

    def to_query(self, offset: int) -> TicketQuery:
        """The service-layer query for the SQL part of these filters."""
        return TicketQuery(
            status=[self.status] if self.status else None,
            severity=[self.severity] if self.severity else None,
            root_cause=[self.root_cause] if self.root_cause else None,
            site=self.site, sku=self.sku, location=self.location, max_age_h=self.max_age_h,
            limit=FETCH, offset=offset,
        )

    def link(self, **changes: Any) -> str:
        """The queue URL with these filters and ``changes`` applied."""
        values = {**self.model_dump(mode="json", exclude_none=True), **changes}
        defaults = {"sort": "severity", "group": "none", "page": 1, "desc": False}
        return "/ui/?" + urlencode({k: v for k, v in values.items()
                                    if v not in (None, "") and defaults.get(k, object()) != v})

    def sort_link(self, column: str) -> str:
        """Sort by ``column`` (money and risk: largest first); the same column again flips."""
        desc = not self.desc if self.sort.value == column else column in LARGEST_FIRST
        return self.link(sort=column, desc=desc, page=1)


class QueuePage(BaseModel):
    """What the queue template shows."""

    rows: list[QueueRow]
    groups: list[tuple[str, list[QueueRow]]]
    total: int
    all_total: int
    mine_total: int
    pages: int
    page: int
    view: QueueView
    first: int
    last: int


def build_queue(session: Session, user: Principal, policy: ApprovalPolicy,
                filters: QueueFilters, descriptions: dict[str, str | None]) -> QueuePage:
    """Filter, decide "mine", sort, group and page the queue for ``user``."""
    records: list[TicketRecord] = []
    while True:
        total, chunk = list_tickets(session, query=filters.to_query(len(records)),
                                    sites=visible_sites(user, filters.site))
        records += chunk
        if not chunk or len(records) >= total:
            break
    everyone = [queue_row(r, user.at_site(r.site) or user, policy, descriptions)
                for r in records]
    mine = [r for r in everyone if r.mine]
    view = filters.view_for(user)
    rows = mine if view is QueueView.MINE else everyone
    rows.sort(key=_severity_key)
    rows.sort(key=SORT_KEYS[filters.sort], reverse=filters.desc)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(filters.page, pages)
    start = (page - 1) * PAGE_SIZE
    shown = rows[start:start + PAGE_SIZE]
    return QueuePage(rows=shown, groups=group_rows(shown, filters.group), total=len(rows),
                     all_total=len(everyone), mine_total=len(mine), pages=pages, page=page,
                     view=view, first=start + 1 if shown else 0, last=start + len(shown))


def group_rows(rows: list[QueueRow], group: QueueGroup) -> list[tuple[str, list[QueueRow]]]:
    """``rows`` in labelled groups, in order of each group's first row.

    Not grouping gives one unnamed group.
    """
    if group is QueueGroup.NONE:
        return [("", rows)]
    groups: dict[str, list[QueueRow]] = {}
    for r in rows:
        if group is QueueGroup.FIX:
            key = r.fix
        elif r.kind == "systemic":
            key = f"Systemic {r.t.ticket_id}: {r.t.summary}"
        elif r.parent_ticket_id:
            key = f"Systemic {r.parent_ticket_id}"
        else:
            key = "Single incidents"
        groups.setdefault(key, []).append(r)
    merged: dict[str, list[QueueRow]] = {}
    for key, members in groups.items():  # a systemic ticket and its occurrences share a group
        parent = key.split(":")[0]
        target = next((k for k in merged if k.split(":")[0] == parent), key)
        merged.setdefault(target, []).extend(members)
    return [(f"{key} ({len(members)})", members) for key, members in merged.items()]
