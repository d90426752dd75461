"""Read-only WMS-query tools over a :class:`tools.view.WarehouseView`.

One tool per module: a pure typed function returning pydantic data (with ``facts()`` that
render it as evidence sentences) plus a :class:`tools.result.ToolSpec` that the registry
(:mod:`tools.registry`) turns into an OpenAI function schema and an envelope-returning call.
No tool writes anything; write-back lives behind :class:`actions.wms.WmsAdapter` and only
the graph's post-approval node holds one.
"""
