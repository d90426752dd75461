"""``POST /v1/tickets/{id}/chat`` (the answer as server-sent events) and the history.

The answer is not streamed as the model writes it: a model's answer is checked whole
(prose, cited ids that exist, no number the ticket or a tool did not give) before any of it
is shown, and replaced by the offline answer when it fails, so a token stream would show
text that may never pass. The events carry the checked answer in pieces of a few words,
for clients that render progressively; the first arrives only once the whole answer is
ready.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.chat.context import build_context
from api.chat.history import ChatEntry, add_message, messages_of
from api.chat.llm import HISTORY_TURNS
from api.chat.offline import ChatAnswer, answer_offline
from api.deps import CurrentUser, PolicyDep, SessionDep
from api.routes.tickets import TicketId, load_ticket

router = APIRouter(prefix="/v1/tickets", tags=["chat"])
WORDS_PER_EVENT = 8


class ChatIn(BaseModel):
    """A supervisor's message about the ticket (read-only: it can never change anything)."""

    message: str = Field(min_length=1, max_length=2000)


def sse(event: str, data: dict[str, object]) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def stream(answer: ChatAnswer, entry: ChatEntry) -> Iterator[str]:
    """The checked answer as ``delta`` events of a few words each, then one ``done`` event."""
    words = answer.text.split(" ")
    for start in range(0, len(words), WORDS_PER_EVENT):
        piece = " ".join(words[start:start + WORDS_PER_EVENT])
        yield sse("delta", {"text": piece if start == 0 else " " + piece})
    yield sse("done", {"message_id": entry.id, "kind": answer.kind, "cited": answer.cited,
                       "model": answer.model})


@router.post(
    "/{ticket_id}/chat",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "delta events with text, then a done event with cited "
                                    "ids. Not a token stream: the whole answer is checked for "
                                    "grounding before the first event is sent, and the delta "
                                    "events split that checked answer"},
               404: {"description": "no such ticket"}},
)
def chat_route(ticket_id: TicketId, body: ChatIn, user: CurrentUser, session: SessionDep,
               policy: PolicyDep, request: Request) -> StreamingResponse:
    """Ask about the ticket; the answer cites evidence ids and the conversation is kept.

    The answer is complete and checked before the response starts (see the module
    docstring): expect the first event after the whole answer's time, not the first token's.
    """
    record = load_ticket(session, ticket_id, user)
    ctx = build_context(session, record=record, policy=policy)
    history = messages_of(session, ticket_id=ticket_id, last=HISTORY_TURNS)
    llm = request.app.state.chat
    answer = llm.answer(body.message, ctx, history) if llm else answer_offline(body.message, ctx)
    add_message(session, ticket_id=ticket_id, role="user", author=user.name, content=body.message)
    entry = add_message(session, ticket_id=ticket_id, role="assistant", author=answer.model,
                        content=answer.text, kind=answer.kind, cited=answer.cited)
    return StreamingResponse(stream(answer, entry), media_type="text/event-stream")


@router.get("/{ticket_id}/chat", response_model=list[ChatEntry])
def chat_history_route(ticket_id: TicketId, user: CurrentUser, session: SessionDep
                       ) -> list[ChatEntry]:
    """The ticket's conversation so far, oldest first."""
    load_ticket(session, ticket_id, user)
    return messages_of(session, ticket_id=ticket_id)
