"""Users, roles and API keys: who is calling and what they may do.

A key is ``tly_<key_id>_<secret>``. Only the SHA-256 of the whole token is stored, next to
its ``key_id`` so a lookup is one primary-key read; the comparison is constant-time. The
token is shown once, when it is issued. A key belongs to one user and acts with that
user's role (viewer < supervisor < controller < admin).

Sites: a user without site roles holds their role at every site (a single-site deployment
never names one). A user with site roles (``user_site_role``) sees and acts on those sites
only, with the role held there; their ``role`` is then the highest of them.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlmodel import Field, Session, SQLModel, select

from warehouse.canonical import sha256_hex
from warehouse.errors import UserError
from warehouse.sites import SITE_LENGTH, check_site

TOKEN_PREFIX = "tly"
_TOKEN = re.compile(rf"^{TOKEN_PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{20,}})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class Role(StrEnum):
    """What a user may do, in increasing order of power."""

    VIEWER = "viewer"
    SUPERVISOR = "supervisor"
    CONTROLLER = "controller"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Position in the order viewer < supervisor < controller < admin."""
        return list(Role).index(self)

    def at_least(self, minimum: Role) -> bool:
        """Whether this role includes everything ``minimum`` may do."""
        return self.rank >= minimum.rank


class User(SQLModel, table=True):
    """A person (or system) that calls the API."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    role: str = Field(max_length=16)
    created_at: str = Field(max_length=40)
    active: bool = True


class ApiKey(SQLModel, table=True):
    """One API key of a user, stored as a hash."""

    __tablename__ = "api_key"

    key_id: str = Field(primary_key=True, max_length=12)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    key_hash: str = Field(max_length=64)
    created_at: str = Field(max_length=40)
    revoked_at: str | None = Field(default=None, max_length=40)


class UserSiteRole(SQLModel, table=True):
    """The role a user holds at one site (a user with any holds no role elsewhere)."""

    __tablename__ = "user_site_role"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True)
    site: str = Field(primary_key=True, max_length=SITE_LENGTH)
    role: str = Field(max_length=16)


class Principal(BaseModel):
    """The authenticated caller of one request."""

    name: str
    role: Role
    key_id: str
    sites: dict[str, Role] | None = None
    """The role held at each site the caller may see; None: ``role`` at every site."""

    def role_at(self, site: str) -> Role | None:
        """The caller's role at ``site``; None where they hold none (they cannot see it)."""
        return self.role if self.sites is None else self.sites.get(site)

    def at_site(self, site: str) -> Principal | None:
        """The caller acting at ``site``, with the role held there; None where they hold none."""
        role = self.role_at(site)
        return None if role is None else self.model_copy(update={"role": role})

    def visible_sites(self) -> list[str] | None:
        """The sites the caller may see, by name; None: every site."""
        return None if self.sites is None else sorted(self.sites)


class IssuedKey(BaseModel):
    """A freshly issued key: the only time ``token`` is ever available."""

    name: str
    role: Role
    key_id: str
    token: str
    sites: dict[str, Role] | None = None


class UserPublic(BaseModel):
    """A user as listings show it (never a key or its hash)."""

    name: str
    role: Role
    active: bool
    created_at: str
    key_ids: list[str]
    sites: dict[str, Role] | None = None


class AuthError(ValueError):
    """A user-management request that cannot be done (bad name, duplicate, unknown)."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return sha256_hex(token)


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AuthError(
            f"unknown role {role!r}: one of {', '.join(r.value for r in Role)}"
        ) from None


def _site(site: str) -> str:
    try:
        return check_site(site)
    except UserError as exc:
        raise AuthError(str(exc)) from None


def add_user(session: Session, *, name: str, role: Role | str,
             sites: Sequence[str] = ()) -> IssuedKey:
    """Create a user with a first API key, holding ``role`` at ``sites`` (none: every site).

    Raises:
        AuthError: the name is malformed or taken, the role unknown or a site name bad.
    """
    if not _NAME.match(name):
        raise AuthError(
            f"bad user name {name!r}: 1-64 letters, digits, '.', '_', '@' or '-'"
        )
    role = _role(role)
    names = [_site(s) for s in sites]
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise AuthError(f"user {name!r} already exists")
    user = User(name=name, role=role.value, created_at=_now())
    session.add(user)
    session.flush()
    assert user.id is not None
    for site in dict.fromkeys(names):
        session.add(UserSiteRole(user_id=user.id, site=site, role=role.value))
    issued = _issue(session, user)
    session.commit()
    return issued


def grant_site(session: Session, *, name: str, site: str, role: Role | str) -> dict[str, Role]:
    """Give a user ``role`` at ``site`` (replacing the one held there).

    A user who held their role at every site holds roles at the granted sites only from now.

    Returns:
        The user's role at each of their sites.

    Raises:
        AuthError: no active user by that name, an unknown role or a bad site name.
    """
    role, site = _role(role), _site(site)
    user = session.exec(select(User).where(User.name == name, User.active)).first()
    if user is None or user.id is None:
        raise AuthError(f"no active user {name!r}")
    held = session.get(UserSiteRole, (user.id, site))
    if held is None:
        session.add(UserSiteRole(user_id=user.id, site=site, role=role.value))
    else:
        held.role = role.value
        session.add(held)
    session.flush()
    roles = site_roles(session, user.id)
    assert roles is not None
    user.role = max(roles.values(), key=lambda r: r.rank).value
    session.add(user)
    session.commit()
    return roles


def site_roles(session: Session, user_id: int) -> dict[str, Role] | None:
    """A user's role at each of their sites; None when they hold their role everywhere."""
    rows = session.exec(select(UserSiteRole).where(UserSiteRole.user_id == user_id)).all()
    return {r.site: Role(r.role) for r in rows} or None


def issue_key(session: Session, *, name: str) -> IssuedKey:
    """Give an existing, active user another key."""
    user = session.exec(select(User).where(User.name == name, User.active)).first()
    if user is None:
        raise AuthError(f"no active user {name!r}")
    issued = _issue(session, user)
    session.commit()
    return issued


def _issue(session: Session, user: User) -> IssuedKey:
    key_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    assert user.id is not None
    session.add(ApiKey(key_id=key_id, user_id=user.id, key_hash=hash_token(token),
                       created_at=_now()))
    return IssuedKey(name=user.name, role=Role(user.role), key_id=key_id, token=token,
                     sites=site_roles(session, user.id))


def list_users(session: Session) -> list[UserPublic]:
    """Every user with the ids of their live keys, by name."""
    users = session.exec(select(User).order_by(User.name)).all()
    live: dict[int, list[str]] = {}
    for key in session.exec(select(ApiKey).where(ApiKey.revoked_at.is_(None))):  # type: ignore[union-attr]
        live.setdefault(key.user_id, []).append(key.key_id)
    return [
        UserPublic(name=u.name, role=Role(u.role), active=u.active, created_at=u.created_at,
                   key_ids=sorted(live.get(u.id or -1, [])),
                   sites=site_roles(session, u.id) if u.id is not None else None)
        for u in users
    ]


def revoke(session: Session, target: str) -> Sequence[str]:
    """Revoke one key (by key id) or a user and all their keys (by name).

    Returns:
        The key ids revoked.

    Raises:
        AuthError: no key or user matches.
    """
    now = _now()
    key = session.get(ApiKey, target)
    if key is not None:
        keys = [key] if key.revoked_at is None else []
    else:
        user = session.exec(select(User).where(User.name == target)).first()
        if user is None:
            raise AuthError(f"no user or key id {target!r}")
        user.active = False
        session.add(user)
        keys = list(session.exec(select(ApiKey).where(ApiKey.user_id == user.id,
                                                      ApiKey.revoked_at.is_(None))))  # type: ignore[union-attr]
    for k in keys:
        k.revoked_at = now
        session.add(k)
    session.commit()
    return [k.key_id for k in keys]


def authenticate(session: Session, token: str) -> Principal | None:
    """The caller a token belongs to, or None for a malformed, unknown or revoked one."""
    match = _TOKEN.match(token.strip())
    if match is None:
        return None
    key = session.get(ApiKey, match.group(1))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.key_hash, hash_token(token.strip())):
        return None
    user = session.get(User, key.user_id)
    if user is None or not user.active:
        return None
    assert user.id is not None
    return Principal(name=user.name, role=Role(user.role), key_id=key.key_id,
                     sites=site_roles(session, user.id))


class KeyCache:
    """Callers already authenticated, trusted for ``ttl_s`` without a database look-up.

    Keyed by the token's hash (the raw key is never kept). A revoked key or a deactivated
    user keeps working for at most ``ttl_s`` in a process that saw it recently; ``ttl_s`` of
    0 disables the cache.
    """

    def __init__(self, ttl_s: float, *, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}

    def authenticate(self, session: Session, token: str) -> Principal | None:
        """:func:`authenticate`, answered from the cache while the last answer is fresh."""
        if self.ttl_s <= 0:
            return authenticate(session, token)
        digest = hash_token(token.strip())
        now = time.monotonic()
        hit = self._entries.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = authenticate(session, token)
        if principal is None:
            self._entries.pop(digest, None)
            return None
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[digest] = (now + self.ttl_s, principal)
        return principal
