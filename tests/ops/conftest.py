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
