"""``tally serve``: the API service and web UI."""

from __future__ import annotations

from typing import Annotated

import typer


def serve_command(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8800,
) -> None:
    """Run the Tally API: events in, scored, triaged into tickets (OpenAPI docs at /docs).

    With TALLY_BROKER_URL set, the API and UI only: posted events go to the work queue and
    `tally worker` processes score and triage them.
    """
    import uvicorn

    from warehouse.settings import get_settings

    settings = get_settings()
    if settings.broker_url:  # workers score and triage; this process is the API and UI
        from api.stream.relay import create_api_app

        app = create_api_app(settings)
    else:
        from api.service import create_service_app

        app = create_service_app(settings)
    uvicorn.run(app, host=host, port=port, log_level="info")
