"""Configuration read from the environment (12-factor). ``TestConfig`` is built by tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
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
    hot_instances: int = 256  # workflows kept in memory between changes (services.caches.HotInstances); 0: off
    # check every reuse of a kept workflow against the stored row (the test suite turns it on)
    hot_verify: bool = field(default_factory=lambda: _bool("INVESTFLOW_HOT_VERIFY"))

    @classmethod
    def from_config(cls, config: Config) -> RuntimeSettings:
        return cls(service_retries=config.SERVICE_RETRIES, service_backoff_seconds=config.SERVICE_BACKOFF_SECONDS,
                   script_timeout_seconds=config.SCRIPT_TIMEOUT_SECONDS, job_lease_seconds=config.JOB_LEASE_SECONDS,
                   compact_after=config.COMPACT_AFTER, hot_instances=config.HOT_INSTANCES,
                   hot_verify=config.HOT_VERIFY)


class Config:
    def __init__(self, **overrides):
        self.DATABASE_URL = default_database_url()
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or None  # see secret_key(): demo default or instance/
        self.DEMO = _bool("INVESTFLOW_DEMO")
        self.TLS = _bool("INVESTFLOW_TLS")  # served over HTTPS: Secure cookies and HSTS
        self.INSTANCE_DIR = os.environ.get("INVESTFLOW_INSTANCE_DIR") or str(ROOT / "instance")
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
        self.HOT_INSTANCES = int(os.environ.get("INVESTFLOW_HOT_INSTANCES", "256"))
        self.HOT_VERIFY = _bool("INVESTFLOW_HOT_VERIFY")
        self.TESTING = False
        for key, value in overrides.items():
            setattr(self, key, value)

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}


DEMO_SECRET_KEY = "dev-only-change-me"
MIN_SECRET_KEY = 32


def secret_key(config: Config) -> str:
    """The session-signing key. Demo mode may use the built-in one; otherwise ``SECRET_KEY`` (at least
    32 characters, not the demo key) or, when it is unset, a strong key generated once into
    ``<instance>/secret_key`` (mode 0600) and read from there by every later start and process."""
    key = config.SECRET_KEY
    if key:
        if not config.DEMO and (key == DEMO_SECRET_KEY or len(key) < MIN_SECRET_KEY):
            raise RuntimeError(f"SECRET_KEY 太弱:生产环境需至少 {MIN_SECRET_KEY} 个字符且不能是演示密钥 / SECRET_KEY "
                               f"must be at least {MIN_SECRET_KEY} characters and not the demo key")
        return key
    if config.DEMO:
        return DEMO_SECRET_KEY
    import secrets

    path = Path(config.INSTANCE_DIR) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():  # write a private temp file, then link it into place: atomic, first one wins
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    key = path.read_text(encoding="ascii").strip()
    if len(key) < MIN_SECRET_KEY:
        raise RuntimeError(f"{path} 中的密钥无效,请删除后重启 / the key in {path} is invalid")
    return key
