"""Signing in over HTTP in page tests (the CSRF token comes from the page's meta tag)."""

from __future__ import annotations

import re


def csrf(client, path: str = "/") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))
    assert match, f"no CSRF meta tag on {path}"
    return match.group(1)


def login(client, username: str, password: str = "Secret-pass-9"):
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": csrf(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response
