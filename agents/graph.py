"""The triage graph, one incident per thread, from evidence to an approved write-back.

gather_context -> classify -> verify_grounding -> draft_action -> explain -> verify_grounding
-> await_approval -> write_back -> record. A RECOUNT that was written back goes on from
write_back to await_count (the blind count) -> recount_result (re-classified with the count,
follow-up drafted) -> explain -> verify_grounding -> await_approval again.

Built by :func:`build_graph`; nothing is created at import time. Every node routes with a
typed ``Command``. Only ``write_back`` holds the
WMS adapter, and only ``await_approval`` with an approve or edit decision leads there;
NO_ACTION tickets end without approval. Run one ticket per thread (``thread_id`` = ticket
id); resume with ``Command(resume=Decision(...).model_dump(mode="json"))``.
"""

from __future__ import annotations

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from actions.wms import WmsAdapter
from agents.case import Reasoner
from agents.consistency import ApproverRole
from agents.features import FeatureContext
from agents.nodes.await_approval import await_approval
from agents.nodes.await_count import await_count
from agents.nodes.classify import Classify
from agents.nodes.draft_action import DraftAction
from agents.nodes.explain import Explain
from agents.nodes.gather_context import GatherContext
from agents.nodes.record import record
from agents.nodes.recount_result import RecountResult
from agents.nodes.verify_grounding import VerifyGrounding
from agents.nodes.write_back import WriteBack
from agents.reasoners.offline import OfflineReasoner
from agents.state import TicketState
from tools.view import WarehouseView


def build_graph(*, reasoner: Reasoner, view: WarehouseView, wms: WmsAdapter,
                checkpointer: BaseCheckpointSaver | None,
                features: FeatureContext | None = None,
                approver_role: ApproverRole | None = None) -> CompiledStateGraph:
    """Compile the triage graph over one warehouse view.

    Args:
        reasoner: classifies and explains (never writes).
        view: the warehouse the incidents were scored on.
        wms: the write-back adapter, held by the write_back node alone.
        checkpointer: where paused tickets wait (SQLite by default, see
            :mod:`agents.checkpoints`; in memory in tests and batch runs).
        features: feature indexes over the same data (built from ``view`` when None).
        approver_role: the role the approval rules require for an action, so that an
            explanation naming another approver is sent back to the templates.

    Returns:
        The compiled graph.
    """
    view.warm()
    features = features or FeatureContext.of(view)
    g = StateGraph(TicketState)
    g.add_node("gather_context", GatherContext(view, features), destinations=("classify",))
    g.add_node("classify", Classify(reasoner), destinations=("verify_grounding",))
    g.add_node("verify_grounding", VerifyGrounding(OfflineReasoner(), approver_role), destinations=(
        "verify_grounding", "draft_action", "await_approval", "record"))
    g.add_node("draft_action", DraftAction(view), destinations=("explain",))
    g.add_node("explain", Explain(reasoner), destinations=("verify_grounding",))
    g.add_node("await_approval", await_approval)
    g.add_node("write_back", WriteBack(wms), destinations=("record", "await_count"))
    g.add_node("await_count", await_count)
    g.add_node("recount_result", RecountResult(reasoner, view), destinations=("explain",))
    g.add_node("record", record)
    g.add_edge(START, "gather_context")
    return g.compile(checkpointer=checkpointer)

