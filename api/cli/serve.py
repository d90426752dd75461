"""``tally serve``: the API service and web UI."""

from __future__ import annotations

from typing import Annotated

import typer


def serve_command(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8800,
) -> None:
    """Run the Tally API: events in, scored, triaged into tickets (OpenAPI docs at /docs)."""
    import uvicorn

    from api.service import create_service_app

    uvicorn.run(create_service_app(), host=host, port=port, log_level="info")
