"""Chat messages kept per ticket, in order, so a conversation survives restarts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Text
from sqlmodel import Column, Session, SQLModel, col, select
from sqlmodel import Field as SqlField

from api.tickets import now_iso


class ChatMessage(SQLModel, table=True):
    """One turn of a ticket's conversation."""

    __tablename__ = "chat_message"

    id: int | None = SqlField(default=None, primary_key=True)
    ticket_id: str = SqlField(foreign_key="ticket.ticket_id", max_length=128, index=True)
    role: str = SqlField(max_length=16, description="user or assistant")
    author: str = SqlField(max_length=64, description="the user's name, or the answering model")
    content: str = SqlField(sa_column=Column(Text, nullable=False))
    kind: str = SqlField(default="", max_length=32, description="assistant: which answer")
    cited: list[str] = SqlField(default_factory=list, sa_column=Column(JSON, nullable=False))
    ts: str = SqlField(max_length=40)


class ChatEntry(BaseModel):
    """A message as the API shows it."""

    id: int
    role: str
    author: str
    content: str
    kind: str
    cited: list[str]
    ts: str


def add_message(
    session: Session,
    *,
    ticket_id: str,
    role: str,
    author: str,
    content: str,
    kind: str = "",
    cited: list[str] | None = None,
) -> ChatEntry:
    """Append one message to a ticket's conversation (committed)."""
    row = ChatMessage(ticket_id=ticket_id, role=role, author=author, content=content, kind=kind,
                      cited=cited or [], ts=now_iso())
    session.add(row)
    session.commit()
    session.refresh(row)
    return _entry(row)


def messages_of(session: Session, *, ticket_id: str, last: int | None = None) -> list[ChatEntry]:
    """A ticket's conversation, oldest first (only the ``last`` messages when given)."""
    query = select(ChatMessage).where(ChatMessage.ticket_id == ticket_id)
    if last is not None:
        rows = list(session.exec(query.order_by(col(ChatMessage.id).desc()).limit(last)))[::-1]
    else:
        rows = list(session.exec(query.order_by(col(ChatMessage.id))))
    return [_entry(r) for r in rows]


def _entry(row: ChatMessage) -> ChatEntry:
    data: dict[str, Any] = row.model_dump()
    data.pop("ticket_id")
    return ChatEntry.model_validate(data)
