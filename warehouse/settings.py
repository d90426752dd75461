"""Service settings from environment variables with the ``TALLY_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All of Tally's configuration; read once per process through :func:`get_settings`."""

    model_config = SettingsConfigDict(env_prefix="TALLY_", env_file=None, extra="ignore")

    env: str = Field(default="dev", description="dev, test or prod")
    data_dir: Path = Field(default=Path(".tally"), description="where the embedded store lives")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means a SQLite file in data_dir"
    )
    llm_base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint")
    llm_model: str | None = Field(default=None, description="model name at that endpoint")
    llm_api_key: str | None = Field(default=None, description="key for the endpoint")
    llm_timeout_s: float = Field(default=30.0, gt=0, description="per-request LLM timeout")
    llm_max_calls: int = Field(default=4, ge=1, le=20, description="model calls per ticket, hard")
    llm_max_tokens: int = Field(
        default=8000, ge=256, description="prompt + completion tokens per ticket, hard"
    )
    llm_completion_tokens: int = Field(
        default=700, ge=16, le=8000,
        description="largest completion asked for in one model call (triage and chat); a "
                    "slow local model's worst case is this many tokens",
    )
    llm_json_mode: str = Field(
        default="auto",
        pattern="^(auto|json_schema|json_object|prompt)$",
        description="structured-output mode; auto starts at json_schema and steps down when "
                    "the endpoint refuses it (400, 422, or llama.cpp's 500)",
    )
    llm_tools: bool = Field(
        default=True, description="offer the read-only tools to the model during triage (the "
                                  "case file already holds their results; off saves ~1000 "
                                  "prompt tokens a call on small local models)",
    )
    llm_min_support: float = Field(
        default=0.05, ge=0.0, le=1.0,
        description="least probability the offline model must give the LLM's root cause for "
                    "its verdict to stand (else the offline verdict, with fallback_reason)",
    )
    llm_retries: int = Field(default=2, ge=0, le=10, description="retries on 429, 5xx, timeouts")
    wms_url: str | None = Field(default=None, description="base URL of the WMS write-back API")
    wms_api_key: str | None = Field(default=None, description="bearer token for the WMS API")
    wms_timeout_s: float = Field(default=10.0, gt=0, description="per-request WMS timeout")
    wms_attempts: int = Field(default=5, ge=1, le=20, description="tries per write-back call")
    broker_url: str | None = Field(
        default=None, description="work-queue broker: amqp://... (RabbitMQ) or nats://... (NATS "
        "JetStream); unset means one process: `tally serve` scores and triages itself"
    )
    stream_prefix: str = Field(
        default="tally.events", pattern=r"^[a-z][a-z0-9_.-]*$",
        description="names of the work queue: queues/subjects <prefix>.p0.. and <prefix>.rejects"
    )
    stream_partitions: int = Field(
        default=8, ge=1, le=256, description="partitions of the work queue (by site and SKU); "
        "the same on every publisher and worker"
    )
    supervisor_adjust_value: float = Field(
        default=500.0, ge=0, description="largest adjustment value a supervisor may approve"
    )
    dual_approval_value: float = Field(
        default=5000.0, ge=0, description="adjustments above this value need two approvers"
    )
    work_lease_s: float = Field(
        default=300.0, gt=0, description="a claimed triage item not finished in this time is "
        "claimed again by another worker (its own died)"
    )
    scorer_refit_events: int = Field(
        default=20_000, ge=0, description="refit the online scorer after this many new events "
        "(0: never; `tally serve` and `tally worker`)"
    )
    scorer_params: dict[str, float] = Field(
        default_factory=dict, description="overrides of the scorer's detector thresholds "
        "(JSON object, names and units in scoring.params.ScorerParams; an unknown name fails)"
    )
    triage_settle_s: float = Field(
        default=2.0, ge=0, description="the worker waits this long after a flag before grouping "
        "the flags pending then into incidents"
    )
    recount_escalate_h: float = Field(
        default=24.0, gt=0, description="a recount whose blind count has not arrived after this "
        "many hours is escalated (STOP, audited); the ticket keeps waiting for the count"
    )
    api_key_cache_s: float = Field(
        default=30.0, ge=0, description="how long a checked API key is trusted without a lookup "
        "(a revocation takes effect within this time; 0: look up every request)"
    )

    audit_key: SecretStr | None = Field(
        default=None, description="HMAC key of the audit chain (kept outside the database); "
        "required when TALLY_ENV=prod, a development default with a warning otherwise"
    )
    write_back_lease_s: float = Field(
        default=120.0, gt=0, description="a claimed write-back not finished in this time is "
        "taken over by another worker (the WMS idempotency key keeps it single)"
    )

    @model_validator(mode="after")
    def _prod_needs_audit_key(self) -> Settings:
        if self.env == "prod" and (self.audit_key is None or not self.audit_key.get_secret_value()):
            raise ValueError("TALLY_AUDIT_KEY is required when TALLY_ENV=prod")
        return self

    def resolved_database_url(self) -> str:
        """The database URL in force: the configured one or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tally.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """Build the settings once per process (tests clear the cache after monkeypatching)."""
    return Settings()
