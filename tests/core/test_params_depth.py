"""The nesting bound of request bodies, counted before the recursive parser sees the text."""

from __future__ import annotations

import json

import pytest

from app.errors import BadRequest
from app.params import MAX_DEPTH, loads


def nested(levels: int) -> str:
    return "[" * (levels - 1) + '{"a": 1}' + "]" * (levels - 1)


def test_a_body_within_the_bound_is_read_and_one_past_it_refused():
    assert loads(nested(MAX_DEPTH - 1)) == json.loads(nested(MAX_DEPTH - 1))  # its leaf is level MAX_DEPTH
    for levels in (MAX_DEPTH, MAX_DEPTH + 1, 5000):
        with pytest.raises(BadRequest, match="嵌套超过"):
            loads(nested(levels))


def test_many_brackets_side_by_side_and_inside_strings_do_not_count_as_depth():
    flat = json.dumps({"rows": [[i] for i in range(200)], "note": "[" * 100 + "{" * 100})
    assert loads(flat)["note"].startswith("[[[")
