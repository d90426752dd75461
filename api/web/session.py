"""Who is using the web UI: the API key pasted at login, kept in an HttpOnly cookie.

The cookie holds the key itself (the server stores only its hash), is HttpOnly so page
scripts never see it, and SameSite=Strict so no other site's page can send it. Every page
resolves it with the same :func:`api.auth.authenticate` the API uses, so a revoked key
logs the browser out on its next request. Form posts additionally must come from this
origin (the Origin header, when the browser sends one, has to match the host).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request, Response

from api.auth import Principal, authenticate
from api.deps import SessionDep
from api.errors import Forbidden

COOKIE = "tally_key"
COOKIE_MAX_AGE_S = 12 * 3600


def set_login_cookie(response: Response, request: Request, token: str) -> None:
    """Keep ``token`` in the browser: HttpOnly, SameSite=Strict, Secure over HTTPS."""
    response.set_cookie(COOKIE, token, max_age=COOKIE_MAX_AGE_S, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/ui")


def clear_login_cookie(response: Response) -> None:
    """Forget the browser's key."""
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")


def cookie_user(request: Request, session: SessionDep) -> Principal | None:
    """The user whose live key the cookie holds, or None."""
    token = request.cookies.get(COOKIE)
    return authenticate(session, token) if token else None


def require_ui_user(
    request: Request, user: Annotated[Principal | None, Depends(cookie_user)]
) -> Principal:
    """The logged-in user; anyone else is sent to the login page (303)."""
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(status_code=303, detail="login required",
                            headers={"Location": f"/ui/login?next={quote(target, safe='')}"})
    return user


def same_origin(request: Request) -> None:
    """Refuse a form post whose Origin is another site (defence in depth beside SameSite)."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if origin == "null" or urlsplit(origin).netloc != request.headers.get("host", ""):
        raise Forbidden(f"cross-origin post from {origin} refused")


def safe_next(target: str | None) -> str:
    """Where to go after login: a path inside the UI, never another site."""
    if target and target.startswith("/ui") and not target.startswith("//"):
        return target
    return "/ui/"


UiUser = Annotated[Principal, Depends(require_ui_user)]
SameOrigin = Depends(same_origin)
