"""The offline chat: answers the questions supervisors ask from the ticket's evidence alone.

No model and no network: the question is matched to one of the answers it can give (why
flagged, the evidence, the balance, what approval would do, similar tickets), rendered from
``prompts/chat/`` with the evidence ids it relies on. Anything else gets a plain "I can't
answer that"; a request to change something is refused before anything else is tried.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from api.chat.context import ChatContext, cited_ids, is_write_request
from prompts import render
from warehouse.contract import EvidenceItem

_BALANCE = re.compile(r"balance|on.?hand|stock level|in stock|how many|ledger|count history"
                      r"|quantit", re.IGNORECASE)
_BALANCE_FACT = re.compile(r"balance|on.?hand|ledger|count|stock|replay|divergen",
                           re.IGNORECASE)
_SIMILAR = re.compile(r"similar|past ticket|before\b|previous|earlier|other ticket|again"
                      r"|recurr|happened to", re.IGNORECASE)
_APPROVAL = re.compile(r"approv|what (would|will) happen|what happens|effect|consequence"
                       r"|write.?back|do to the wms|if i accept", re.IGNORECASE)
_EVIDENCE = re.compile(r"evidence|proof|facts?\b|data\b|numbers|source|show me",
                       re.IGNORECASE)
_WHY = re.compile(r"why|flag|reason|cause|explain|what happened|wrong|summary|root",
                  re.IGNORECASE)


class ChatAnswer(BaseModel):
    """One assistant reply: its text, the evidence (or ticket) ids it cites, which answer."""

    text: str
    cited: list[str]
    kind: str
    model: str = "offline"


def answer_offline(question: str, ctx: ChatContext) -> ChatAnswer:
    """Answer ``question`` about the ticket in ``ctx`` from its evidence."""
    t = ctx.ticket
    if is_write_request(question):
        return ChatAnswer(text=render("chat/refuse").strip(), cited=[], kind="refused")
    if _BALANCE.search(question):
        items = [e for e in t.evidence if _BALANCE_FACT.search(f"{e.fact} {e.source}")]
        return _evidence_answer("balance", ctx, items)
    if _SIMILAR.search(question):
        text = render("chat/similar", t=t, similar=ctx.similar).strip()
        return ChatAnswer(text=text, cited=[s.ticket_id for s in ctx.similar], kind="similar")
    if _APPROVAL.search(question):
        cited = cited_ids(t.explanation, t) or [e.id for e in t.evidence if e.id]
        text = render("chat/approval", t=t, action=t.action, params=t.action.params,
                      needs=ctx.needs, cited=cited).strip()
        return ChatAnswer(text=text, cited=cited, kind="approval")
    if _EVIDENCE.search(question):
        return _evidence_answer("evidence", ctx, t.evidence)
    if _WHY.search(question):
        return _evidence_answer("why", ctx, t.evidence)
    return ChatAnswer(text=render("chat/unknown").strip(), cited=[], kind="unknown")


def _evidence_answer(kind: str, ctx: ChatContext, items: list[EvidenceItem]) -> ChatAnswer:
    text = render(f"chat/{kind}", t=ctx.ticket, items=items).strip()
    return ChatAnswer(text=text, cited=[e.id for e in items if e.id], kind=kind)
