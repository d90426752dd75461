"""LLM traffic of the ``recorded`` and ``live`` modes: replay, capture and a stand-in.

Each chat completion is filed under the incident it is about: a hash of the sorted txn_ids
that the case prompt lists (``- transactions: ...``), so recordings survive changes in
ticket numbering and in the order incidents are triaged. :class:`Replay` answers
``/chat/completions`` through respx from recorded responses, so the real OpenAI client code
runs with only the socket mocked; a request it has no answer for gets an empty answer (the
reasoner then falls back to offline, visibly) and is counted. :func:`capture_live` forwards
requests to a live endpoint and records its answers (each with the seconds it took, as
``x_tally_elapsed_s``, which the SDK ignores on replay). :func:`standin_recording`
bootstraps recordings where no model server is reachable: each incident's answers are the
offline reasoner's own verdict and text, and the file says ``source: offline-standin``.
Recordings: ``evals/recordings/<suite>/<dataset>.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import respx

from warehouse.contract import Ticket

RECORDINGS_DIR = Path(__file__).with_name("recordings")
REPLAY_BASE_URL = "http://recorded.llm.invalid/v1"
REPLAY_MODEL = "recorded"
_FORWARDED = "x-tally-eval-forwarded"
ELAPSED = "x_tally_elapsed_s"
"""Key of a live recording's answer: seconds the endpoint took for it."""
_TXNS_LINE = re.compile(r"^- transactions: (.+)$", re.MULTILINE)


def incident_key(txn_ids: Iterable[str]) -> str:
    """A stable key of an incident: a hash of its sorted txn_ids."""
    return hashlib.sha1("\n".join(sorted(txn_ids)).encode()).hexdigest()[:16]


def request_key(request: httpx.Request) -> str | None:
    """The incident a chat-completions request is about (None when the prompt names none)."""
    try:
        messages = json.loads(request.content)["messages"]
    except (ValueError, KeyError, TypeError):
        return None
    for message in messages:
        found = _TXNS_LINE.search(str(message.get("content") or ""))
        if message.get("role") == "user" and found:
            return incident_key(t.strip() for t in found.group(1).split(","))
    return None


def recording_path(suite: str, dataset: str, root: Path = RECORDINGS_DIR) -> Path:
    """Where the recording of one dataset of one suite lives."""
    return root / suite / f"{dataset}.json"


def save_recording(path: Path, source: str, responses: dict[str, list[dict[str, Any]]]) -> None:
    """Write a recording (sorted keys, so re-recording diffs stay readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"source": source, "responses": dict(sorted(responses.items()))}
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

    def rewind(self) -> None:
        """Serve every incident's answers from the start again (for a second run)."""
        self.served.clear()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """The respx side effect: the next recorded answer of the request's incident."""
        key = request_key(request)
        queue = self.responses.get(key, []) if key else []
        n = self.served[key] if key else 0
        if n >= len(queue):
            self.misses += 1
            return httpx.Response(200, json=completion("", model=REPLAY_MODEL))
        self.served[key] += 1  # type: ignore[index]
        self.answered += 1
        return httpx.Response(200, json=queue[n])


@contextmanager
def replaying(replay: Replay) -> Iterator[respx.MockRouter]:
    """Route the replay endpoint's chat completions to ``replay``; anything else fails."""
    with respx.mock(base_url=REPLAY_BASE_URL, assert_all_mocked=True,
                    assert_all_called=False) as router:
        router.post("/chat/completions", name="chat").mock(side_effect=replay)
        yield router


@contextmanager
def capture_live(base_url: str, timeout_s: float = 60.0
                 ) -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Forward chat completions to the live endpoint and collect its answers per incident.

    respx keeps no response for a pass-through route, so the capturing route sends the
    request itself, marked, and a first route lets marked requests through to the network.
    """
    captured: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def forward(request: httpx.Request) -> httpx.Response:
        marked = httpx.Request(request.method, request.url, content=request.content,
                               headers={**request.headers, _FORWARDED: "1"})
        start = time.perf_counter()
        with httpx.Client(timeout=timeout_s) as client:
            real = client.send(marked)
        key = request_key(request)
        if key and real.is_success:
            captured[key].append({**real.json(),
                                  ELAPSED: round(time.perf_counter() - start, 2)})
        return httpx.Response(real.status_code, content=real.content,
                              headers={"content-type": real.headers.get("content-type", "")})

    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        router.route(headers__contains={_FORWARDED: "1"}).pass_through()
        router.post(url__startswith=base_url.rstrip("/") + "/chat/completions").mock(
            side_effect=forward)
        yield captured


def standin_recording(tickets: Iterable[Ticket]) -> dict[str, list[dict[str, Any]]]:
    """Per incident, a classify and an explain answer holding an offline run's ticket."""
    out: dict[str, list[dict[str, Any]]] = {}
    for t in tickets:
        cited = [e.id for e in t.evidence if e.id][:3]
        verdict = json.dumps({"root_cause": t.root_cause.value, "confidence": t.confidence,
                              "rationale": t.summary, "cited_evidence": cited})
        text = json.dumps({"summary": t.summary, "explanation": t.explanation,
                           "cited_evidence": cited})
        # no usage block, like some local servers: the reasoner estimates tokens from the
        # prompt it really sent, so recorded-mode token figures are not invented here
        out[incident_key(t.txn_ids)] = [completion(verdict, model="offline-standin"),
                                        completion(text, model="offline-standin")]
    return out


def completion(content: str, *, model: str) -> dict[str, Any]:
    """A chat.completion body with one assistant message (and no usage block)."""
    return {
        "id": "chatcmpl-eval", "object": "chat.completion", "created": 1750000000,
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": content}}],
    }
