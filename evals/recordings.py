"""LLM traffic for the ``recorded`` and ``live`` modes: a metering proxy, replay and capture.

:class:`Metered` wraps any reasoner: it times each incident, keeps each incident's usage and
marks which incident (and step) is being reasoned about, so the HTTP layer can file each
chat completion under that incident. :class:`Replay` answers ``/chat/completions`` through
respx from recorded responses (the real OpenAI client code runs; only the socket is mocked);
:class:`Capture` collects responses per incident, from a live endpoint (an httpx response
hook) or from the offline stand-in (:func:`standin_answer`) that bootstraps recordings where
no model server is reachable. Recordings: ``evals/recordings/<suite>/<dataset>.json``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import respx

from agents.case import CaseFile, Classification, Explanation, Reasoner, ReasonerUsage
from agents.reasoners.offline import OfflineReasoner
from warehouse.contract import Action

RECORDINGS_DIR = Path(__file__).with_name("recordings")
REPLAY_BASE_URL = "http://recorded.llm.invalid/v1"
REPLAY_MODEL = "recorded"


@dataclass(frozen=True)
class Step:
    """What the reasoner is doing right now, for the HTTP layer to file its traffic under."""

    key: str
    case: CaseFile
    classification: Classification | None = None
    action: Action | None = None


CURRENT: ContextVar[Step | None] = ContextVar("eval_llm_step", default=None)


def incident_key(case: CaseFile) -> str:
    """A stable key of an incident: a hash of its sorted txn_ids (ids are run-specific)."""
    ids = "\n".join(sorted(case.incident.txn_ids))
    return hashlib.sha1(ids.encode()).hexdigest()[:16]


class Metered:
    """A reasoner proxy that times incidents and keeps their usage; behaviour unchanged.

    Args:
        inner: the reasoner doing the work.
    """

    def __init__(self, inner: Reasoner) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds: dict[str, float] = defaultdict(float)
        self.usages: dict[str, ReasonerUsage] = {}

    def classify(self, case: CaseFile) -> Classification:
        """Delegate, timed, under this incident's key."""
        with self._step(Step(incident_key(case), case)):
            return self.inner.classify(case)

    def explain(self, case: CaseFile, classification: Classification, action: Action
                ) -> Explanation:
        """Delegate, timed, under this incident's key; then keep the incident's usage."""
        with self._step(Step(incident_key(case), case, classification, action)):
            out = self.inner.explain(case, classification, action)
        self.usages[case.incident.incident_id] = self.inner.usage(case)
        return out

    def usage(self, case: CaseFile) -> ReasonerUsage:
        """The wrapped reasoner's usage for this case."""
        return self.inner.usage(case)

    @contextmanager
    def _step(self, step: Step) -> Iterator[None]:
        token = CURRENT.set(step)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step.case.incident.incident_id] += time.perf_counter() - start
            CURRENT.reset(token)


def recording_path(suite: str, dataset: str, root: Path = RECORDINGS_DIR) -> Path:
    """Where the recording of one dataset of one suite lives."""
    return root / suite / f"{dataset}.json"


@dataclass
class Capture:
    """Chat completions collected per incident key, in the order they were answered."""

    source: str
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, body: dict[str, Any]) -> None:
        """File one response body under the incident being reasoned about."""
        step = CURRENT.get()
        if step is not None:
            self.responses[step.key].append(body)

    def hook(self, response: httpx.Response) -> None:
        """The response hook of live capture (chat completions only)."""
        if response.request.url.path.endswith("/chat/completions") and response.is_success:
            response.read()
            self.add(response.json())

    def save(self, path: Path) -> None:
        """Write the recording (sorted keys, so re-recording diffs stay readable)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"source": self.source, "responses": dict(sorted(self.responses.items()))}
        path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


@dataclass
class Replay:
    """Serves recorded chat completions per incident; counts what it could not serve."""

    responses: dict[str, list[dict[str, Any]]]
    served: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    misses: int = 0
    answered: int = 0

    @staticmethod
    def load(path: Path) -> Replay:
        """Read one recording; a missing file replays nothing (every call is a miss)."""
        if not path.is_file():
            return Replay({})
        return Replay(json.loads(path.read_text(encoding="utf-8"))["responses"])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """The respx side effect: the next recorded answer of the current incident."""
        step = CURRENT.get()
        queue = self.responses.get(step.key, []) if step else []
        n = self.served[step.key] if step else 0
        if n >= len(queue):
            self.misses += 1  # an empty answer: the reasoner falls back to offline, visibly
            return httpx.Response(200, json=_completion("", 0, 0, model=REPLAY_MODEL))
        self.served[step.key] += 1  # type: ignore[union-attr]
        self.answered += 1
        return httpx.Response(200, json=queue[n])


@contextmanager
def mocked_llm(answer: Any) -> Iterator[respx.MockRouter]:
    """Route the replay endpoint's chat completions to ``answer``; anything else fails."""
    with respx.mock(base_url=REPLAY_BASE_URL, assert_all_mocked=True,
                    assert_all_called=False) as router:
        router.post("/chat/completions", name="chat").mock(side_effect=answer)
        yield router


@dataclass
class StandIn:
    """Answers chat completions with the offline reasoner's verdict, recording each answer.

    Used only to bootstrap recordings where no model server is reachable; the recording says
    ``source: offline-standin`` so nobody mistakes it for a model's answers.
    """

    capture: Capture = field(default_factory=lambda: Capture("offline-standin"))
    offline: OfflineReasoner = field(default_factory=OfflineReasoner)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """The respx side effect: classify or explain the current step offline."""
        body = standin_answer(self.offline, CURRENT.get(), len(request.content))
        self.capture.add(body)
        return httpx.Response(200, json=body)


def standin_answer(offline: OfflineReasoner, step: Step | None, request_bytes: int
                   ) -> dict[str, Any]:
    """A chat completion whose content is the offline reasoner's answer to ``step``."""
    if step is None:
        return _completion("", 0, 0, model="offline-standin")
    if step.classification is None or step.action is None:
        content = offline.classify(step.case).model_dump_json()
    else:
        content = offline.explain(step.case, step.classification, step.action).model_dump_json()
    return _completion(content, request_bytes // 4, len(content) // 4, model="offline-standin")


def _completion(content: str, prompt_tokens: int, completion_tokens: int, *, model: str
                ) -> dict[str, Any]:
    return {
        "id": "chatcmpl-eval", "object": "chat.completion", "created": 1750000000,
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
