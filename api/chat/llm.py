"""The LLM chat: a configured OpenAI-compatible model converses about one ticket.

It sees the ticket through ``prompts/chat/system`` (free text fenced as data) and may call
five read-only tools over the same facts the offline chat uses; it has no way to write.
Write requests are refused before the model is called. Budgets are hard (model calls per
message). A tool call the model writes as text (small local models do, unless
``tool_choice`` names the function) is asked again with that function named. An answer is
checked before anyone reads it: every number must be one the model was shown (the ticket
or a tool's reply) and every cited evidence id must exist, and an answer that is JSON or a
tool call is no answer. Any API error, spent budget or failed check hands the message to
the offline chat, and the answer's ``model`` says why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from openai import OpenAI, OpenAIError
from openai.types.chat import ChatCompletionMessageFunctionToolCall

from agents.grounding import unsupported_numbers
from agents.reasoners.openai_compat import tool_named_in
from api.chat.context import ChatContext, cited_ids, is_write_request
from api.chat.history import ChatEntry
from api.chat.offline import ChatAnswer, answer_offline
from prompts import render

HISTORY_TURNS = 10
"""Earlier messages of the conversation sent along with a new question."""
SMALL_COUNTS = (0.0, 1.0, 2.0)
"""Numbers an answer may print without a source: how many approvers (one or two), none."""
_CITE = re.compile(r"\[(E\d+)\]")
_NOT_PROSE = re.compile(r"^\s*(\{|\[\s*[{\"])|<tool_call>|```json", re.IGNORECASE)
"""A JSON object or list, a tool call written out, or a fenced JSON block: not an answer."""

_TOOLS: dict[str, tuple[str, Callable[[ChatContext], Any]]] = {
    "ticket_evidence": ("All evidence items of the ticket, with ids and sources.",
                        lambda ctx: [e.model_dump(mode="json") for e in ctx.ticket.evidence]),
    "similar_tickets": ("Earlier tickets with the same root cause on the same SKU or location.",
                        lambda ctx: [s.model_dump(mode="json") for s in ctx.similar]),
    "alternative_causes": (
        "The runner-up root causes the offline reasoner weighed, with their probabilities.",
        lambda ctx: {"chosen": ctx.ticket.root_cause.value, "confidence": ctx.ticket.confidence,
                     "alternatives": [a.model_dump(mode="json") for a in ctx.alternatives]}),
    "ticket_history": (
        "Earlier tickets of any cause on the same SKU, location or user, and the user named.",
        lambda ctx: {"user_id": ctx.user_id,
                     "tickets": [s.model_dump(mode="json") for s in ctx.history]}),
    "approval_requirements": (
        "The exact action approval would write, its digest, value, and who must approve it.",
        lambda ctx: {"action": ctx.ticket.action.model_dump(mode="json"),
                     "action_digest": ctx.ticket.action_digest,
                     "status": ctx.ticket.status, **ctx.needs.model_dump(mode="json")}),
}
TOOL_SCHEMAS = [
    {"type": "function", "function": {"name": name, "description": text,
                                      "parameters": {"type": "object", "properties": {}}}}
    for name, (text, _) in _TOOLS.items()
]


def run_tool(name: str, ctx: ChatContext) -> str:
    """One read-only tool's answer as the ``{status, data}`` envelope the model reads."""
    if name not in _TOOLS:
        return json.dumps({"status": "error", "data": f"no tool {name!r}; tools: {list(_TOOLS)}"})
    data = _TOOLS[name][1](ctx)
    return json.dumps({"status": "ok" if data else "no_data", "data": data})


class Unusable(Exception):
    """The model's answer may not be shown: it is not prose, or not grounded."""


def check_answer(text: str, ctx: ChatContext, shown: list[str]) -> str:
    """``text`` if a supervisor may read it; :class:`Unusable` names what is wrong.

    Args:
        text: the model's final answer.
        ctx: the ticket's facts (its evidence ids are the ones that exist).
        shown: every text the model was given (system prompt, question, tool replies).
    """
    if _NOT_PROSE.search(text):
        raise Unusable(f"answer is JSON or a tool call, not prose: {text[:60]!r}")
    ids = {e.id for e in ctx.ticket.evidence if e.id}
    missing = [c for c in dict.fromkeys(_CITE.findall(text)) if c not in ids]
    if missing:
        raise Unusable(f"cites {missing[0]}, which does not exist")
    invented = unsupported_numbers(text, shown, allowed=SMALL_COUNTS)
    if invented:
        raise Unusable(f"number {invented[0]} is not in the ticket or a tool's reply")
    return text


class LlmChat:
    """Answers with a chat model, falling back to :func:`answer_offline` on any failure.

    Args:
        client: from :func:`agents.reasoners.client.make_client` (one retry policy: none here,
            the fallback is the answer to a failed call).
        model: model name at the endpoint.
        max_calls: model calls per message, hard.
        max_tokens: the largest completion asked for in one call.
    """

    def __init__(self, client: OpenAI, model: str, *, max_calls: int = 4,
                 max_tokens: int = 600) -> None:
        self.client = client
        self.model = model
        self.max_calls = max_calls
        self.max_tokens = max_tokens

    def answer(self, question: str, ctx: ChatContext, history: list[ChatEntry]) -> ChatAnswer:
        """Answer ``question`` given the conversation so far."""
        if is_write_request(question):
            return answer_offline(question, ctx)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": render("chat/system", t=ctx.ticket, needs=ctx.needs,
                                                 items=ctx.ticket.evidence)},
            *({"role": m.role, "content": m.content} for m in history[-HISTORY_TURNS:]),
            {"role": "user", "content": question},
        ]
        try:
            text = self._converse(messages, ctx)
            if text is None:
                return self._fallback(
                    question, ctx, f"model unavailable: no answer within {self.max_calls} calls")
            text = check_answer(text, ctx, [str(m.get("content") or "") for m in messages])
        except OpenAIError as err:
            return self._fallback(question, ctx,
                                  f"model unavailable: {type(err).__name__}: {err}"[:200])
        except Unusable as err:
            return self._fallback(question, ctx, f"model answer not used: {err}"[:200])
        return ChatAnswer(text=text, cited=cited_ids(text, ctx.ticket), kind="conversation",
                          model=self.model)

    def _converse(self, messages: list[dict[str, Any]], ctx: ChatContext) -> str | None:
        choice: Any = "auto"
        for _ in range(self.max_calls):
            reply = self.client.chat.completions.create(
                model=self.model, messages=messages,  # type: ignore[arg-type]
                tools=TOOL_SCHEMAS, tool_choice=choice,  # type: ignore[arg-type]
                max_tokens=self.max_tokens,
            ).choices[0].message
            calls = [c for c in reply.tool_calls or []
                     if isinstance(c, ChatCompletionMessageFunctionToolCall)]
            if not calls:
                named = tool_named_in(reply.content, set(_TOOLS))
                if named and choice == "auto":  # written as text: ask again, naming it
                    choice = {"type": "function", "function": {"name": named}}
                    continue
                return (reply.content or "").strip() or None
            choice = "auto"
            messages.append({"role": "assistant", "content": reply.content or "", "tool_calls": [
                {"id": c.id, "type": "function",
                 "function": {"name": c.function.name, "arguments": c.function.arguments or "{}"}}
                for c in calls]})
            messages.extend({"role": "tool", "tool_call_id": c.id,
                             "content": run_tool(c.function.name, ctx)}
                            for c in calls)
        return None

    def _fallback(self, question: str, ctx: ChatContext, reason: str) -> ChatAnswer:
        offline = answer_offline(question, ctx)
        return offline.model_copy(update={"model": f"offline ({reason})"})
