"""Browser fixtures: the real app served by werkzeug in a background thread (SQLite file of the
``app`` fixture, DEMO=True, SCHEDULER=False) and a headless Chromium driven by Playwright.

Chromium is Debian's ``/usr/bin/chromium`` (``apt-get install -y chromium``; ``.ci/run`` installs it;
``INVESTFLOW_CHROMIUM`` overrides the path). Without it the browser tests are skipped with the reason,
or fail when ``INVESTFLOW_REQUIRE_BROWSER`` is set. Screenshots go to ``test-output/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("INVESTFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def _skip_or_fail(reason: str):
    if os.environ.get("INVESTFLOW_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        _skip_or_fail(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium); browser tests skipped")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("playwright for Python is not installed (pip install playwright)")
    return CHROMIUM


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(app):
    """Serve ``app`` (the shared fixture: a SQLite file, DEMO=True, SCHEDULER=False) on a free port."""
    from werkzeug.serving import make_server

    app.config["TESTING"] = False  # behave like production (errors go through the handlers)
    server = make_server("127.0.0.1", _free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        instance = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:  # noqa: BLE001 - a broken local browser is a skip reason, not an error
        pw.stop()
        _skip_or_fail(f"Chromium at {chromium_path} could not start: {exc}")
    yield instance
    instance.close()
    pw.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    pg.console_problems = []


    def on_console(msg):
        # HTTP statuses we provoke on purpose (401 sign-in, 422 form) are logged as resource errors
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            pg.console_problems.append(msg.text)

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: pg.console_problems.append(str(exc)))
    yield pg
    context.close()


@pytest.fixture
def screenshot(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
