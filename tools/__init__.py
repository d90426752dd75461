"""Read-only WMS-query tools over a :class:`tools.view.WarehouseView`.

One tool per module: a pure typed function returning pydantic data (with ``facts()`` that
render it as evidence sentences) plus a :class:`tools.result.ToolSpec` that the registry
(:mod:`tools.registry`) calls with an envelope (:mod:`agents.reasoners.toolbox` offers them to
the OpenAI reasoner).
No tool writes anything; write-back lives behind :class:`actions.wms.WmsAdapter` and only
the graph's post-approval node holds one.
"""
