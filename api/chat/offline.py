"""The offline chat: answers the questions supervisors ask from the ticket's own facts.

No model and no network. The question is matched to the answer it asks for, in this order:
a request to change something (refused); what else it could be (the runner-up causes with
their probabilities and the check that tells them apart); a question that starts with
"why"; a look-alike; the money at stake;
what approving would do; what happened before on this SKU, location or user; the balance;
the evidence; why this cause. Each answer is rendered from ``prompts/chat/`` and cites the
evidence ids (or ticket ids) it relies on. Anything else gets a plain "I can't answer that"
with the questions it can answer.
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from agents.narrative import story
from api.chat.context import ChatContext, cited_ids, is_write_request
from prompts import render
from warehouse.contract import EvidenceItem

_ALTERNATIVES = re.compile(
    r"what else|other (possible )?cause|could it (also |just )?be|alternativ|instead|runner"
    r"|rule (it |that )?out|how sure|how confident|certain|might it be|or is it|not an?\b",
    re.IGNORECASE)
_WHY_FIRST = re.compile(r"^\W*(so,?\s+|but\s+)?why\b|what makes you (think|say)", re.IGNORECASE)
_LOOKALIKE = re.compile(r"look.?alike|similar (sku|item|product)|confus|mix.?up|mixed up"
                        r"|wrong (item|sku|product)", re.IGNORECASE)
_MONEY = re.compile(r"money|cost|worth|value|\$|at stake|how much|dollar|price|expensive"
                    r"|financial|loss\b", re.IGNORECASE)
_APPROVAL = re.compile(r"approv|what (would|will) happen|what happens|effect|consequence"
                       r"|write.?back|do to the wms|if i accept|who (can|may|must)",
                       re.IGNORECASE)
_HISTORY = re.compile(r"before\b|previous|earlier|in the past|history of|again|recurr"
                      r"|happened to|track record|similar ticket|other ticket|seen (this|it)",
                      re.IGNORECASE)
_BALANCE = re.compile(r"balance|on.?hand|stock level|in stock|how many|ledger|count history"
                      r"|quantit", re.IGNORECASE)
_BALANCE_FACT = re.compile(r"balance|on.?hand|ledger|count|stock|replay|divergen",
                           re.IGNORECASE)
_EVIDENCE = re.compile(r"evidence|proof|facts?\b|data\b|numbers|source|show me",
                       re.IGNORECASE)
_WHY = re.compile(r"why|flag|reason|cause|explain|what happened|wrong|summary|root"
                  r"|think|mis.?scan|shrink|slotting|master data|receiving|sync",
                  re.IGNORECASE)
_LOOKALIKE_FACT = re.compile(r"look-alike|MIRRORED_VARIANCE|WEIGHT_MISMATCH", re.IGNORECASE)
_FITS = re.compile(r"fits look-alike|MIRRORED_VARIANCE|scanned as .* but its weight fits",
                   re.IGNORECASE)
_MONEY_FACT = re.compile(r"unit cost|value=|costs \d|worth", re.IGNORECASE)


class ChatAnswer(BaseModel):
    """One assistant reply: its text, the evidence (or ticket) ids it cites, which answer."""

    text: str
    cited: list[str]
    kind: str
    model: str = "offline"


def answer_offline(question: str, ctx: ChatContext) -> ChatAnswer:
    """Answer ``question`` about the ticket in ``ctx`` from its facts."""
    if is_write_request(question):
        return ChatAnswer(text=render("chat/refuse").strip(), cited=[], kind="refused")
    for pattern, answer in _ANSWERS:
        if pattern.search(question):
            return answer(ctx)
    return ChatAnswer(text=render("chat/unknown").strip(), cited=[], kind="unknown")


def _ids(items: list[EvidenceItem]) -> list[str]:
    return list(dict.fromkeys(e.id for e in items if e.id))


def _explained(ctx: ChatContext) -> list[EvidenceItem]:
    """The evidence the explanation cites (all of it when it cites none)."""
    t = ctx.ticket
    cited = set(cited_ids(t.explanation, t))
    return [e for e in t.evidence if e.id in cited] or t.evidence


def _why(ctx: ChatContext) -> ChatAnswer:
    items = _explained(ctx)
    text = render("chat/why", t=ctx.ticket, items=items,
                  story=story(ctx.ticket.root_cause, ctx.ticket.evidence)).strip()
    return ChatAnswer(text=text, cited=cited_ids(text, ctx.ticket) or _ids(items), kind="why")


def _alternatives(ctx: ChatContext) -> ChatAnswer:
    items = _explained(ctx)
    text = render("chat/alternatives", t=ctx.ticket, alternatives=ctx.alternatives,
                  items=items, story=story(ctx.ticket.root_cause, ctx.ticket.evidence)).strip()
    return ChatAnswer(text=text, cited=cited_ids(text, ctx.ticket), kind="alternatives")


def _lookalike(ctx: ChatContext) -> ChatAnswer:
    t = ctx.ticket
    items = [e for e in t.evidence if _LOOKALIKE_FACT.search(e.fact)]
    fits = [e for e in items if _FITS.search(e.fact)]
    text = render("chat/lookalike", t=t, items=items, fits=fits).strip()
    return ChatAnswer(text=text, cited=_ids(items), kind="lookalike")


def _money(ctx: ChatContext) -> ChatAnswer:
    t = ctx.ticket
    items = sorted((e for e in t.evidence if _MONEY_FACT.search(e.fact)),
                   key=lambda e: e.source != "item_master")[:3]
    text = render("chat/money", t=t, needs=ctx.needs, unit_cost=ctx.unit_cost,
                  items=items).strip()
    return ChatAnswer(text=text, cited=_ids(items), kind="money")


def _approval(ctx: ChatContext) -> ChatAnswer:
    t = ctx.ticket
    cited = cited_ids(t.explanation, t) or [e.id for e in t.evidence if e.id]
    text = render("chat/approval", t=t, action=t.action, params=t.action.params,
                  needs=ctx.needs, cited=cited).strip()
    return ChatAnswer(text=text, cited=cited, kind="approval")


def _history(ctx: ChatContext) -> ChatAnswer:
    t = ctx.ticket
    activity = [e for e in t.evidence if e.source == "user_activity"]
    text = render("chat/similar", t=t, similar=ctx.similar,
                  others=[s for s in ctx.history if s not in ctx.similar],
                  user=ctx.user_id, activity=activity).strip()
    tickets = [s.ticket_id for s in [*ctx.similar, *ctx.history]]
    return ChatAnswer(text=text, cited=list(dict.fromkeys([*tickets, *_ids(activity)])),
                      kind="similar")


def _balance(ctx: ChatContext) -> ChatAnswer:
    items = [e for e in ctx.ticket.evidence if _BALANCE_FACT.search(f"{e.fact} {e.source}")]
    return _evidence_answer("balance", ctx, items)


def _evidence(ctx: ChatContext) -> ChatAnswer:
    return _evidence_answer("evidence", ctx, ctx.ticket.evidence)


def _evidence_answer(kind: str, ctx: ChatContext, items: list[EvidenceItem]) -> ChatAnswer:
    text = render(f"chat/{kind}", t=ctx.ticket, items=items).strip()
    return ChatAnswer(text=text, cited=_ids(items), kind=kind)


_ANSWERS = [(_ALTERNATIVES, _alternatives), (_WHY_FIRST, _why), (_LOOKALIKE, _lookalike),
            (_MONEY, _money),
            (_APPROVAL, _approval), (_HISTORY, _history), (_BALANCE, _balance),
            (_EVIDENCE, _evidence), (_WHY, _why)]
"""Which answer a question asks for, tried in order."""
