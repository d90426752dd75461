"""The REST WMS adapter: applies an approved action over HTTP, exactly once per key.

Every call carries the action's ``Idempotency-Key``. Timeouts, connection failures, 429
and 5xx answers are retried with exponential backoff under the same key: the WMS may have
applied the action before the failure, and the key turns the retry into a no-op there.
Any other 4xx is the WMS refusing the action and is not retried. When the retries run out
the result is FAILED, and calling :meth:`RestWmsAdapter.apply` again later with the same
key is safe: the action lands once or reports ALREADY_APPLIED.
"""

from __future__ import annotations

import httpx
from pydantic import ValidationError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.wait import WaitBaseT

from actions.wms import WriteBackResult, WriteBackStatus
from warehouse.contract import Action
from warehouse.settings import Settings, get_settings

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class TransientWmsError(Exception):
    """A failure worth retrying under the same idempotency key."""


class RestWmsAdapter:
    """A :class:`actions.wms.WmsAdapter` for a WMS that speaks Tally's REST write API.

    ``POST {base_url}/v1/actions`` with the action as JSON and the ``Idempotency-Key``
    header; the answer is ``{status, idempotency_key, wms_reference, detail}``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client: httpx.Client | None = None,
        api_key: str | None = None,
        timeout_s: float | None = None,
        attempts: int | None = None,
        wait: WaitBaseT | None = None,
        settings: Settings | None = None,
    ) -> None:
        """Configure the adapter; unset arguments come from the settings (TALLY_WMS_*).

        Args:
            base_url: the WMS API root, e.g. ``http://127.0.0.1:8900``.
            client: an httpx client to send through (tests inject one); the adapter
                creates and owns one when None.
            api_key: bearer token for the WMS.
            timeout_s: connect/read/write timeout per request.
            attempts: tries per call before giving up with FAILED.
            wait: tenacity wait strategy between tries (exponential with jitter by default).
            settings: where unset values come from.
        """
        settings = settings or get_settings()
        base_url = base_url or settings.wms_url
        if not base_url and client is None:
            raise ValueError("no WMS URL: set TALLY_WMS_URL or pass base_url")
        # a number, not an httpx.Timeout: an injected client may be another httpx's (httpx2's
        # TestClient refuses httpx.Timeout objects since 2.17)
        timeout = float(timeout_s or settings.wms_timeout_s)
        key = api_key if api_key is not None else settings.wms_api_key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._owns_client = client is None
        self._client = client or httpx.Client(base_url=base_url or "", timeout=timeout)
        self._url = f"{base_url.rstrip('/')}/v1/actions" if base_url else "/v1/actions"
        self._timeout = timeout
        self._headers = headers
        self.attempts = attempts or settings.wms_attempts
        self._wait = wait or wait_exponential_jitter(multiplier=0.2, max=5.0)

    def apply(self, action: Action, *, idempotency_key: str) -> WriteBackResult:
        """Send ``action`` until the WMS answers for it or the tries run out.

        Returns:
            APPLIED or ALREADY_APPLIED with the WMS's reference, or FAILED with the reason
            (``rejected: ...`` when the WMS refused it, ``gave up after N tries: ...`` when
            it kept failing; only the second is worth retrying later).
        """
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientWmsError),
            reraise=False,
        )
        try:
            response = retrying(self._post, action, idempotency_key)
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            return WriteBackResult(
                status=WriteBackStatus.FAILED,
                idempotency_key=idempotency_key,
                detail=f"gave up after {self.attempts} tries: {cause}",
            )
        if response.is_success:
            try:
                return WriteBackResult.model_validate(response.json())
            except (ValueError, ValidationError) as exc:
                return WriteBackResult(
                    status=WriteBackStatus.FAILED,
                    idempotency_key=idempotency_key,
                    detail=f"unreadable answer from the WMS: {exc}",
                )
        return WriteBackResult(
            status=WriteBackStatus.FAILED,
            idempotency_key=idempotency_key,
            detail=f"rejected: HTTP {response.status_code} {_detail(response)}",
        )

    def close(self) -> None:
        """Close the HTTP client if the adapter created it."""
        if self._owns_client:
            self._client.close()

    def _post(self, action: Action, key: str) -> httpx.Response:
        try:
            response = self._client.post(
                self._url,
                json=action.model_dump(mode="json"),
                headers={**self._headers, "Idempotency-Key": key},
                timeout=self._timeout,
            )
        except httpx.TransportError as exc:  # timeouts, refused or dropped connections
            raise TransientWmsError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code in RETRYABLE_STATUS:
            raise TransientWmsError(f"HTTP {response.status_code} {_detail(response)}")
        return response


def _detail(response: httpx.Response) -> str:
    """The WMS's error message, short."""
    try:
        body = response.json()
        text = str(body.get("detail", body)) if isinstance(body, dict) else str(body)
    except ValueError:
        text = response.text
    return text[:300]
