"""Factories shared by the API tests: contract tickets, users with keys, auth headers."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from api.auth import add_user
from scoring.types import Flag, Incident
from warehouse.contract import Action, EvidenceItem, Ticket
from warehouse.dataset import Dataset
from warehouse.store import Store

ROLES = ("viewer", "supervisor", "controller", "admin")


def open_store(folder: object) -> Store:
    """The real warehouse store on a SQLite file in ``folder``, migrated to head."""
    store = Store.open(f"sqlite:///{folder}/tally.db")
    store.upgrade()
    return store


def make_ticket(i: int, **changes: object) -> Ticket:
    """A pending ticket about SKU-<i> at P-<i> with three cited evidence items."""
    fields: dict[str, object] = {
        "ticket_id": f"TK{i}",
        "txn_ids": [f"T{i}a", f"T{i}b"],
        "sku": f"SKU-{i}",
        "location": f"P-{i}",
        "risk_score": 0.5,
        "severity": "REVIEW",
        "root_cause": "SHRINKAGE",
        "confidence": 0.8,
        "summary": f"SKU-{i} short 6 at P-{i}",
        "explanation": f"Three negative adjustments on SKU-{i} [E1], balance fell to 4 [E2].",
        "evidence": [
            EvidenceItem(id="E1", fact=f"3 negative adjustments of SKU-{i} by user u7 in 2 days",
                         source="transactions"),
            EvidenceItem(id="E2", fact=f"balance of SKU-{i} at P-{i} fell from 10 to 4",
                         source="balance_history"),
            EvidenceItem(id="E3", fact="unit cost 40.00", source="item_master"),
        ],
        "action": Action(type="INVESTIGATE", params={"sku": f"SKU-{i}", "location": f"P-{i}"}),
        "status": "PENDING_APPROVAL",
    }
    fields.update(changes)
    return Ticket.model_validate(fields)


def adjust(sku: str, location: str, qty_delta: float) -> Action:
    """An ADJUST_INVENTORY action."""
    return Action(type="ADJUST_INVENTORY", params={"sku": sku, "location": location,
                                                   "qty_delta": qty_delta,
                                                   "reason_code": "COUNT_CORRECTION"})


def make_users(engine: Engine, *names_roles: tuple[str, str]) -> dict[str, str]:
    """Create users and return their tokens by name."""
    with Session(engine) as s:
        return {name: add_user(s, name=name, role=role).token for name, role in names_roles}


def role_users(engine: Engine) -> dict[str, str]:
    """One user per role, named after it (viewer1, supervisor1, ...); tokens by role."""
    tokens = make_users(engine, *((f"{r}1", r) for r in ROLES))
    return {r: tokens[f"{r}1"] for r in ROLES}


def auth(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def labelled_incidents(data: Dataset, n: int) -> list[Incident]:
    """The first ``n`` labelled cases as incidents, one flag per labelled transaction."""
    txns = data.transactions.set_index("txn_id")
    out = []
    for lab in data.labels.head(n).itertuples():
        ids = lab.txn_ids.split()
        flags = [Flag(txn_id=t, detector="label", code="LABELLED", reason="LABELLED", score=0.9,
                      sku=txns.loc[t, "sku"], location=txns.loc[t, "location"]) for t in ids]
        out.append(Incident(incident_id=f"INC-{lab.case_id}", txn_ids=ids, flags=flags,
                            sku=lab.sku or None, location=lab.location or None,
                            risk_score=0.8, severity="REVIEW"))
    return out
