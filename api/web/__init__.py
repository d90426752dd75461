"""The supervisor web UI under ``/ui``: server-rendered pages over the service layer."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web.templating import STATIC_DIR


def install_web_ui(app: FastAPI) -> None:
    """Serve the UI's pages and its static files (shipped in the package) on ``app``."""
    from api.web import chat_panel, count_plan_page, kpi_pages, learning_pages, pages
    from api.web.error_pages import install_error_pages

    app.include_router(pages.router)
    app.include_router(chat_panel.router)
    app.include_router(kpi_pages.router)
    app.include_router(count_plan_page.router)
    app.include_router(learning_pages.router)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    install_error_pages(app)
