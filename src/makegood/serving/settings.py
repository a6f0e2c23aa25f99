"""Server settings: defaults, overridden by ``MAKEGOOD_*`` environment variables.

``makegood serve`` turns its options into these variables so that every uvicorn
worker process (started by import string) reads the same settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from makegood.errors import ConfigError

ENV_PREFIX = "MAKEGOOD_"


class Settings(BaseModel):
    """Everything the service can be told; see ``makegood serve --help``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = "sqlite:///data/makegood.db"
    database_schema: str | None = None
    models_dir: Path = Path("models")
    model_version: str | None = None
    api_keys: str | None = Field(None, description="key:role[,key:role...]")
    api_keys_file: Path | None = None
    exploration: float = Field(2.0, ge=0, description="near-tie window, in currency (0: off)")
    exploration_temperature: float = Field(1.0, gt=0)
    shadow_price: float = Field(0.1, ge=0, description="base price of a unit of budget")
    pacing_gain: float = Field(3.0, ge=0)
    reservation_ttl_seconds: float = Field(
        300.0, gt=0, description="how long a recommendation holds its compensation"
    )
    offer_ttl_seconds: float = Field(
        1800.0, gt=0, description="how long an offered compensation stays held"
    )
    case_window_days: float = Field(
        14.0, ge=0, description="a contact joins the open case about its issue this recent"
    )
    lock_timeout_seconds: float = Field(
        2.0, gt=0, description="longest a write waits for the database lock (then 503)"
    )
    write_queue_size: int = Field(64, ge=1, description="writes waiting at most (then 503)")
    scoring_concurrency: int = Field(
        2, ge=1, description="recommendations scored at once per worker (the rest queue)"
    )
    max_body_bytes: int = Field(64 * 1024, gt=0)
    num_threads: int = Field(1, ge=0)
    explain_folds: int = Field(1, ge=1)
    history_items: int = Field(5, ge=0, le=50)
    reload_poll_seconds: float = Field(2.0, ge=0, description="0: workers never poll")
    log_level: str = "info"
    # the agents' queue (makegood.policy.queue)
    queue_ageing_per_minute: float = Field(
        10.0, ge=0, description="value at risk a contact gains per minute waited"
    )
    queue_backup_after_seconds: float = Field(
        120.0, ge=0, description="wait after which agents with the skill as backup serve it"
    )
    queue_callback_after_seconds: float = Field(
        600.0, ge=0, description="expected wait above which a callback is offered"
    )
    queue_handle_seconds: float = Field(
        360.0, gt=0, description="handling time per case until one is measured"
    )
    queue_claim_seconds: float = Field(
        1800.0, gt=0, description="a claimed case nobody closed returns to the queue after this"
    )
    queue_callback_slot_minutes: int = Field(30, ge=5, le=240)
    queue_skills: str | None = Field(
        None, description="issue_type:skill[,...] (default: the skill is the issue type)"
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``MAKEGOOD_<FIELD>`` variables, then ``overrides``.

        Raises:
            ConfigError: naming the variable whose value is invalid.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            raise ConfigError(
                f"{ENV_PREFIX}{field.upper()} (or --{field.replace('_', '-')}): {err['msg']}"
            ) from None

    def to_env(self) -> dict[str, str]:
        """The ``MAKEGOOD_*`` variables that reproduce these settings in a worker."""
        out = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is not None:
                out[ENV_PREFIX + name.upper()] = str(value)
        return out
