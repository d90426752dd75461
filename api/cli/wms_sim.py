"""``tally wms-sim``: run the reference WMS on a port."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from warehouse.errors import UserError


def wms_sim_command(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8900,
    db: Annotated[
        Path | None,
        typer.Option(help="its SQLite database file (default: wms-sim.db in TALLY_DATA_DIR)"),
    ] = None,
    fail_rate: Annotated[
        float, typer.Option(help="fraction of write calls that fail, 0..1")
    ] = 0.0,
    fail_modes: Annotated[
        str,
        typer.Option(
            help="how they fail: error (nothing applied), lost (applied, answer lost), "
            "stall (applied, answer late)"
        ),
    ] = "error,lost,stall",
    stall_s: Annotated[float, typer.Option(help="how long a stalled answer waits, s")] = 30.0,
    seed: Annotated[int, typer.Option(help="seed of the fault draws")] = 0,
    api_key: Annotated[
        str | None, typer.Option(envvar="TALLY_WMS_API_KEY", help="required bearer token")
    ] = None,
    from_store: Annotated[
        bool, typer.Option("--from-store", help="start with the items and balances of "
                           "Tally's store (TALLY_DATABASE_URL), as a demo WMS would hold them, "
                           "plus the effects of the actions it applied before (a restart "
                           "keeps them)")
    ] = False,
) -> None:
    """Run the reference WMS that Tally writes approved actions back to."""
    import uvicorn
    from pydantic import ValidationError

    from sim.wms.app import create_sim_app
    from sim.wms.faults import FaultPlan
    from warehouse.settings import get_settings

    try:
        plan = FaultPlan(
            fail_rate=fail_rate,
            modes=[m.strip() for m in fail_modes.split(",") if m.strip()],
            stall_s=stall_s,
            seed=seed,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(f"bad fault option {first['loc'][0]}: {first['msg']}") from exc
    path = db or get_settings().data_dir / "wms-sim.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    app = create_sim_app(f"sqlite:///{path.resolve()}", faults=plan, api_key=api_key)
    if from_store:
        from sim.wms.seed import seed_from_store
        from warehouse.store import Store

        n_items, n_balances = seed_from_store(app.state.engine, Store.open(None))
        typer.echo(f"seeded from the store: {n_items} items, {n_balances} balances")
    uvicorn.run(app, host=host, port=port, log_level="info")
