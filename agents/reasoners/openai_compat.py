"""The OpenAI-compatible reasoner: a chat model classifies and explains, the offline one catches.

Works against OpenAI, vLLM, Ollama and llama.cpp servers, which differ in ways this module
absorbs:

- structured output: ``response_format`` ``json_schema`` first; a server that refuses it (400
  or 422, or llama-cpp-python's HTTP 500 naming ``response_format``, which is not retried)
  gets ``json_object`` with the schema attached (llama.cpp), then plain prompt-JSON.
  The mode that worked is remembered per endpoint (base URL and model) for the rest of the
  process, so later tickets and later batches do not pay for the step-down again.
- answers wrapped in code fences or surrounded by prose: the JSON object is cut out. A small
  model that echoes the JSON schema back instead of answering is caught (and, when it put
  its answer inside the echoed ``properties``, that answer is used).
- tool calls written as text because ``tool_choice="auto"`` was ignored: the same request is
  sent again with ``tool_choice`` naming that function.
- assistant messages are always sent with ``content=""`` rather than null.

Every answer is validated with pydantic, and a verdict whose cause the offline model (same
evidence) all but rules out is not used (``min_support``): a small model's mistake cannot
pick the ticket's action. Budgets per ticket are hard (``llm_max_calls`` model
calls, ``llm_max_tokens`` tokens, retries included). Any API error, invalid answer or spent
budget hands the ticket to the offline reasoner, and :meth:`OpenAIReasoner.usage` says why.
The retry policy is this module's tenacity loop; the SDK's own retries are off (see
:func:`agents.reasoners.client.make_client`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from openai import APIConnectionError, APIStatusError, OpenAI, OpenAIError
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
)
from pydantic import BaseModel, ValidationError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from agents.case import (
    Alternative,
    CaseFile,
    Classification,
    Explanation,
    Reasoner,
    ReasonerUsage,
)
from agents.reasoners.schemas import schema_text
from prompts import render
from warehouse.contract import Action

T = TypeVar("T", bound=BaseModel)

JSON_MODES = ("json_schema", "json_object", "prompt")
MAX_TOOL_RUNS = 3
"""Read-only tool executions per ticket, on top of the model-call budget."""
_FORMAT_WORDS = re.compile(r"response_format|json_schema|schema|grammar", re.IGNORECASE)


def format_refused(err: APIStatusError) -> bool:
    """Whether an error answering a request with a ``response_format`` means "not this format".

    A 400 or 422 does; so does a 500 whose message names the format (llama-cpp-python's
    server wraps its request validation error, ``response_format.type`` "Input should be
    'text' or 'json_object'", in an HTTP 500). Any other 500 is a server fault, retried.
    """
    if err.status_code in (400, 422):
        return True
    return err.status_code == 500 and bool(_FORMAT_WORDS.search(str(err)))


_ENDPOINT_MODES: dict[str, str] = {}
"""The JSON mode each endpoint (``base_url`` and model) stepped down to, for the process."""


def forget_json_modes() -> None:
    """Forget every endpoint's step-down (a new process, as far as JSON modes go)."""
    _ENDPOINT_MODES.clear()


class BudgetExhausted(Exception):
    """The ticket's call or token budget is spent."""


class InvalidOutput(Exception):
    """The model's answer is not the JSON object the schema asks for."""


class Unsupported(Exception):
    """The model's verdict names a cause the evidence all but rules out."""


class FormatRefused(Exception):
    """The endpoint refused the request's ``response_format`` (a step down is due)."""


@dataclass(frozen=True)
class ToolBox:
    """Read-only tools the model may call for extra context on one store.

    Attributes:
        schemas: OpenAI function-tool definitions (``{"type": "function", "function": ...}``).
        call: runs one tool by name with parsed arguments; returns the JSON envelope text
            (``{"status": "ok|no_data|error", ...}``), never raises for a bad call.
    """

    schemas: list[dict[str, Any]]
    call: Callable[[str, dict[str, Any]], str]

    @property
    def names(self) -> set[str]:
        """The function names the model may call."""
        return {s["function"]["name"] for s in self.schemas}


@dataclass
class _Ticket:
    """What one incident has spent so far."""

    usage: ReasonerUsage = field(default_factory=ReasonerUsage)
    tool_runs: int = 0
    offline: bool = False


def strip_json(text: str | None) -> str:
    """Cut the JSON object out of an answer: code fences and surrounding prose removed."""
    if not text:
        raise InvalidOutput("empty answer")
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, flags=re.DOTALL)
    body = fenced.group(1) if fenced else text
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start:
        raise InvalidOutput(f"no JSON object in answer: {text[:80]!r}")
    return body[start : end + 1]


def parse_answer(text: str | None, model: type[T]) -> T:
    """Validate an answer against ``model``; :class:`InvalidOutput` names what was wrong.

    An answer shaped like a JSON schema (``type``/``properties``) is a schema echo: it is
    used only when its ``properties`` hold a valid answer, and is otherwise invalid.
    """
    raw = strip_json(text)
    try:
        return model.model_validate_json(raw)
    except ValidationError as err:
        echoed = _schema_echo(raw)
        if echoed is not None:
            try:
                return model.model_validate(echoed)
            except ValidationError:
                raise InvalidOutput("the model echoed the JSON schema instead of answering"
                                    ) from err
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "answer"
        raise InvalidOutput(f"{where}: {first['msg']}") from err


def _schema_echo(raw: str) -> dict[str, Any] | None:
    """The ``properties`` of an answer that is a JSON schema rather than an answer, else None."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("properties"), dict):
        return None
    if data.get("type") == "object" or "required" in data or "$defs" in data:
        return data["properties"]
    return None


def tool_named_in(text: str | None, names: set[str]) -> str | None:
    """A tool call the model wrote as text (``{"name": ..., "arguments": ...}``), if any.

    Qwen-style ``<tool_call>{...}</tool_call>`` text counts: the JSON object is cut out.
    """
    try:
        data = json.loads(strip_json(text))
    except (InvalidOutput, ValueError):
        return None
    name = data.get("name") if isinstance(data, dict) else None
    return name if name in names else None


def _is_transient(err: BaseException) -> bool:
    if isinstance(err, APIConnectionError):  # includes APITimeoutError
        return True
    return isinstance(err, APIStatusError) and (err.status_code == 429 or err.status_code >= 500)


def _assistant_message(msg: ChatCompletionMessage) -> dict[str, Any]:
    """The assistant turn to send back: content never null, tool calls kept."""
    turn: dict[str, Any] = {"role": "assistant", "content": msg.content or ""}
    if msg.tool_calls:
        turn["tool_calls"] = [
            {"id": tc.id, "type": "function",
             "function": {"name": tc.function.name, "arguments": tc.function.arguments or "{}"}}
            for tc in msg.tool_calls if isinstance(tc, ChatCompletionMessageFunctionToolCall)
        ]
    return turn


class OpenAIReasoner:
    """Classifies and explains with a chat model; falls back to ``fallback`` visibly.

    Args:
        client: from :func:`agents.reasoners.client.make_client` (SDK retries off).
        model: model name at the endpoint.
        fallback: the reasoner that takes over on any failure (the offline one).
        tools: read-only tools for extra context; None offers none.
        max_calls: model calls per ticket, retries included.
        max_tokens: prompt plus completion tokens per ticket.
        json_mode: ``auto`` (json_schema, stepping down when the endpoint refuses a format,
            remembered per endpoint) or one fixed mode.
        retries: further attempts after a 429, 5xx, timeout or connection error.
        retry_wait_s: base of the exponential back-off between attempts.
        completion_tokens: the largest completion asked for in one call (further capped by
            the ticket's token budget).
        min_support: the least probability the offline model (same evidence) must give the
            model's cause for its verdict to stand; 0 lets any verdict stand.
    """

    name = "openai"

    def __init__(
        self,
        client: OpenAI,
        model: str,
        fallback: Reasoner,
        *,
        tools: ToolBox | None = None,
        max_calls: int = 4,
        max_tokens: int = 8000,
        json_mode: str = "auto",
        retries: int = 2,
        retry_wait_s: float = 0.5,
        completion_tokens: int = 700,
        min_support: float = 0.05,
    ) -> None:
        if json_mode not in ("auto", *JSON_MODES):
            raise ValueError(f"json_mode must be auto or one of {JSON_MODES}, not {json_mode!r}")
        self.client = client
        self.model = model
        self.fallback = fallback
        self.tools = tools
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self.json_mode = json_mode
        self.retries = retries
        self.retry_wait_s = retry_wait_s
        self.min_support = min_support
        self.completion_tokens = completion_tokens
        self._endpoint = f"{client.base_url}|{model}"
        self._tickets: dict[str, _Ticket] = {}

    @property
    def mode(self) -> str:
        """The JSON mode the next structured call uses (auto: what this endpoint accepted)."""
        if self.json_mode != "auto":
            return self.json_mode
        return _ENDPOINT_MODES.get(self._endpoint, JSON_MODES[0])

    # -- the Reasoner interface -------------------------------------------------------------

    def classify(self, case: CaseFile) -> Classification:
        """Classify with the model (tools first if offered); the offline verdict on failure."""
        ticket = self._tickets.setdefault(case.incident.incident_id, _Ticket())
        offline = self.fallback.classify(case)
        try:
            verdict = self._supported(self._classify(case, ticket), offline)
        except (OpenAIError, BudgetExhausted, InvalidOutput, Unsupported) as err:
            self._fall_back(ticket, "classify", err)
            ticket.usage.verdict_by = self.fallback.name
            return offline
        ticket.usage.verdict_by = self.name
        return verdict

    def explain(
        self, case: CaseFile, classification: Classification, action: Action
    ) -> Explanation:
        """Explain with the model unless this ticket already fell back; offline on failure."""
        ticket = self._tickets.setdefault(case.incident.incident_id, _Ticket())
        if not ticket.offline:
            messages = [
                {"role": "system", "content": render("system")},
                {"role": "user", "content": render(
                    "explain", case=case, classification=classification, action=action,
                    schema=schema_text(Explanation))},
            ]
            try:
                return self._structured(ticket, messages, Explanation)
            except (OpenAIError, BudgetExhausted, InvalidOutput) as err:
                self._fall_back(ticket, "explain", err)
        return self.fallback.explain(case, classification, action)

    def usage(self, case: CaseFile) -> ReasonerUsage:
        """Calls, tokens and any fallback reason spent on this case so far."""
        ticket = self._tickets.get(case.incident.incident_id)
        return ticket.usage.model_copy() if ticket else ReasonerUsage()

    # -- steps --------------------------------------------------------------------------------

    def _supported(self, verdict: Classification, offline: Classification) -> Classification:
        """The model's verdict, if the evidence gives its cause a chance; runner-ups filled.

        The offline model weighs the same evidence: a cause it gives less than
        ``min_support`` (neither its verdict nor a runner-up that likely) is a small model's
        mistake, not a judgment call, and is not allowed to pick the ticket's action.
        """
        weights = {offline.root_cause: offline.confidence,
                   **{a.root_cause: a.probability for a in offline.alternatives}}
        support = weights.get(verdict.root_cause, 0.0)
        if support < self.min_support:
            raise Unsupported(
                f"model said {verdict.root_cause.value}, which the evidence model gives "
                f"{support:.2f} (offline: {offline.root_cause.value} {offline.confidence:.2f})")
        if verdict.alternatives:
            return verdict
        ranked = [Alternative(root_cause=c, probability=round(p, 3))
                  for c, p in sorted(weights.items(), key=lambda cp: -cp[1])
                  if c is not verdict.root_cause]
        return verdict.model_copy(update={"alternatives": ranked[:len(offline.alternatives)]})

    def _classify(self, case: CaseFile, ticket: _Ticket) -> Classification:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": render("system")},
            {"role": "user", "content": render(
                "classify", case=case, tools_available=self.tools is not None,
                schema=schema_text(Classification))},
        ]
        choice: Any = "auto"
        # Leave two calls: one for the structured answer, one for the explanation.
        while self.tools is not None and self._calls_left(ticket) > 2:
            msg = self._chat(ticket, messages, tools=self.tools.schemas, tool_choice=choice)
            if msg.tool_calls:
                messages.append(_assistant_message(msg))
                messages.extend(self._run_tools(ticket, msg))
                choice = "auto"
                continue
            named = tool_named_in(msg.content, self.tools.names)
            if named and choice == "auto":
                choice = {"type": "function", "function": {"name": named}}
                continue
            try:
                return parse_answer(msg.content, Classification)
            except InvalidOutput:
                break  # no usable answer yet: ask for it in structured mode
        return self._structured(ticket, messages, Classification)

    def _run_tools(self, ticket: _Ticket, msg: ChatCompletionMessage) -> list[dict[str, Any]]:
        """Run the requested tools; every tool_call_id gets an answer, even past the budget."""
        assert self.tools is not None
        replies = []
        for tc in msg.tool_calls or []:
            if not isinstance(tc, ChatCompletionMessageFunctionToolCall):
                continue  # only function tools are offered (and only they are sent back)
            if ticket.tool_runs >= MAX_TOOL_RUNS:
                content = _tool_error("tool budget for this ticket spent")
            else:
                ticket.tool_runs += 1
                try:
                    args = json.loads(tc.function.arguments or "{}")
                except ValueError:
                    args = None
                if isinstance(args, dict):
                    content = self.tools.call(tc.function.name, args)
                else:
                    content = _tool_error("arguments are not a JSON object")
            replies.append({"role": "tool", "tool_call_id": tc.id, "content": content})
        return replies

    def _structured(self, ticket: _Ticket, messages: list[dict[str, Any]], model: type[T]) -> T:
        """One answer validated as ``model``, stepping the JSON mode down when refused."""
        while True:
            mode = self.mode
            can_step = self.json_mode == "auto" and mode != JSON_MODES[-1]
            try:
                msg = self._chat(ticket, messages, response_format=self._response_format(
                    model, mode), refusal_steps_down=can_step)
            except FormatRefused:
                _ENDPOINT_MODES[self._endpoint] = JSON_MODES[JSON_MODES.index(mode) + 1]
                continue
            return parse_answer(msg.content, model)

    @staticmethod
    def _response_format(model: type[BaseModel], mode: str) -> dict[str, Any] | None:
        schema = model.model_json_schema()
        if mode == "json_schema":
            return {"type": "json_schema",
                    "json_schema": {"name": model.__name__.lower(), "schema": schema,
                                    "strict": False}}
        if mode == "json_object":
            return {"type": "json_object", "schema": schema}
        return None  # prompt mode: the schema is in the prompt already

    def _chat(self, ticket: _Ticket, messages: list[dict[str, Any]], *,
              refusal_steps_down: bool = False, **kwargs: Any) -> ChatCompletionMessage:
        """One chat completion under the ticket's budget and the retry policy.

        With ``refusal_steps_down``, an answer that refuses the request's ``response_format``
        (:func:`format_refused`) raises :class:`FormatRefused` at once, without a retry.
        """
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        retrying = Retrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential(multiplier=self.retry_wait_s, max=8.0),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                try:
                    response = self._send(ticket, messages, kwargs)
                except APIStatusError as err:
                    if (refusal_steps_down and "response_format" in kwargs
                            and format_refused(err)):
                        raise FormatRefused(str(err)) from err
                    raise
        if not response.choices:
            raise InvalidOutput("answer has no choices")
        return response.choices[0].message

    def _send(self, ticket: _Ticket, messages: list[dict[str, Any]], kwargs: dict[str, Any]
              ) -> ChatCompletion:
        usage = ticket.usage
        if usage.calls >= self.max_calls:
            raise BudgetExhausted(f"call budget of {self.max_calls} spent")
        spent = usage.prompt_tokens + usage.completion_tokens
        if spent >= self.max_tokens:
            raise BudgetExhausted(f"token budget of {self.max_tokens} spent ({spent})")
        usage.calls += 1
        response = self.client.chat.completions.create(
            model=self.model, messages=messages,  # type: ignore[arg-type]
            max_tokens=min(self.completion_tokens, self.max_tokens - spent), temperature=0,
            **kwargs)
        if response.usage is not None:
            usage.prompt_tokens += response.usage.prompt_tokens
            usage.completion_tokens += response.usage.completion_tokens
        else:  # some local servers send no usage block: estimate ~4 characters per token
            usage.prompt_tokens += len(json.dumps(messages)) // 4
            usage.completion_tokens += sum(
                len(c.message.content or "") for c in response.choices) // 4
        if usage.prompt_tokens + usage.completion_tokens > self.max_tokens:
            raise BudgetExhausted(f"token budget of {self.max_tokens} exceeded")
        return response

    def _calls_left(self, ticket: _Ticket) -> int:
        return self.max_calls - ticket.usage.calls

    @staticmethod
    def _fall_back(ticket: _Ticket, step: str, err: Exception) -> None:
        ticket.offline = True
        kind = type(err).__name__
        detail = str(err).splitlines()[0][:160] if str(err) else ""
        ticket.usage.fallback_reason = f"{step}: {kind}: {detail}".rstrip(": ")


def _tool_error(message: str) -> str:
    return json.dumps({"status": "error", "data": message})
