from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families


def sample(text: str, name: str, **labels) -> float:
    """The value of one sample of the exposition (summed over samples matching ``labels``), 0 when absent."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


class Scraper:
    def __init__(self, client, token):
        self.client, self.token = client, token

    def __call__(self) -> str:
        response = self.client.get("/metrics", headers={"Authorization": f"Bearer {self.token}"})
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert response.content_type.startswith("text/plain")
        return response.get_data(as_text=True)


@pytest.fixture
def scrape(client, factory):
    factory.user("prom", "metrics")
    return Scraper(client, factory.token("prom"))


def cli(url: str, *args, demo: bool = True, extra_env: dict | None = None, timeout: int = 300):
    """Run the real ``investflow`` command against ``url``."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DATABASE_URL": url, "INVESTFLOW_DEMO": "1" if demo else "0",
           "INVESTFLOW_HANDLER_MODULES": "tests.support", "PYTHONPATH": str(root), **(extra_env or {})}
    return subprocess.run([str(Path(sys.executable).parent / "investflow"), *args], capture_output=True, text=True,
                          env=env, cwd=root, timeout=timeout)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc=None) -> None:
    """Poll ``url`` until it answers (a server starting up), failing early when ``proc`` died."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def http(method: str, url: str, token: str | None = None, body: dict | None = None, timeout: float = 30.0):
    """(status, parsed JSON or text) of one real HTTP request."""
    import json
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")
