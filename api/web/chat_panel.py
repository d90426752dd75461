"""The ticket page's chat panel: the ``/v1`` chat endpoint, reached with the login cookie.

The answer is produced and streamed by :func:`api.routes.chat.chat_route` itself, so the
panel gets exactly what an API client gets (``delta`` events, then ``done`` with the cited
evidence ids) and the conversation is kept with the ticket in the same place.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Request
from fastapi.responses import StreamingResponse

from api.deps import PolicyDep, SessionDep
from api.routes.chat import ChatIn, chat_route
from api.web.session import SameOrigin, UiUser

router = APIRouter(prefix="/ui/tickets", include_in_schema=False)


@router.post("/{ticket_id}/chat", dependencies=[SameOrigin])
def chat(request: Request, ticket_id: Annotated[str, Path(min_length=1, max_length=128)],
         body: Annotated[ChatIn, Body()], user: UiUser, session: SessionDep,
         policy: PolicyDep) -> StreamingResponse:
    """Ask about the ticket; the answer streams back as server-sent events."""
    return chat_route(ticket_id, body, user, session, policy, request)
