"""Configuration read from the environment (12-factor). ``TestConfig`` is built by tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def default_database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'instance' / 'investflow.db'}"


@dataclass(frozen=True)
class RuntimeSettings:
    """What the runtime services read: passed in through the Database, never module globals."""

    service_retries: int = 3
    service_backoff_seconds: float = 10.0
    script_timeout_seconds: float = 2.0
    job_lease_seconds: float = 30.0
    compact_after: int = 40  # finished engine tasks per (sub)workflow before the tree is compacted

    @classmethod
    def from_config(cls, config: Config) -> RuntimeSettings:
        return cls(service_retries=config.SERVICE_RETRIES, service_backoff_seconds=config.SERVICE_BACKOFF_SECONDS,
                   script_timeout_seconds=config.SCRIPT_TIMEOUT_SECONDS, job_lease_seconds=config.JOB_LEASE_SECONDS,
                   compact_after=config.COMPACT_AFTER)


class Config:
    def __init__(self, **overrides):
        self.DATABASE_URL = default_database_url()
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-change-me"
        self.DEMO = _bool("INVESTFLOW_DEMO")
        self.SCHEDULER = _bool("INVESTFLOW_SCHEDULER", True)
        self.SWEEP_INTERVAL = float(os.environ.get("INVESTFLOW_SWEEP_INTERVAL", "1.0"))
        self.MAX_UPLOAD_BYTES = int(os.environ.get("INVESTFLOW_MAX_UPLOAD_BYTES", str(5 * 1024 * 1024)))
        self.ATTACHMENT_DIR = os.environ.get("INVESTFLOW_ATTACHMENT_DIR") or str(ROOT / "instance" / "attachments")
        self.SMTP_HOST = os.environ.get("SMTP_HOST", "")
        self.SMTP_PORT = int(os.environ.get("SMTP_PORT", "25"))
        self.SMTP_FROM = os.environ.get("SMTP_FROM", "noreply@investflow.local")
        self.SERVICE_RETRIES = int(os.environ.get("INVESTFLOW_SERVICE_RETRIES", "3"))
        self.SERVICE_BACKOFF_SECONDS = float(os.environ.get("INVESTFLOW_SERVICE_BACKOFF", "10"))
        self.JOB_LEASE_SECONDS = float(os.environ.get("INVESTFLOW_JOB_LEASE", "30"))
        self.SCRIPT_TIMEOUT_SECONDS = float(os.environ.get("INVESTFLOW_SCRIPT_TIMEOUT", "2"))
        self.COMPACT_AFTER = int(os.environ.get("INVESTFLOW_COMPACT_AFTER", "40"))
        self.TESTING = False
        for key, value in overrides.items():
            setattr(self, key, value)

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}
