"""A test-only service handler whose calls tests can observe and whose failures they can script."""

from handlers.registry import HANDLERS, handler

CALLS: list[dict] = []
FAILURES: dict[str, int] = {}

if "test_record" not in HANDLERS:
    @handler("test_record")
    def test_record(**params):
        """Records its calls; fails while FAILURES['test_record'] > 0 (to test retries)."""
        if FAILURES.get("test_record", 0) > 0:
            FAILURES["test_record"] -= 1
            raise RuntimeError("模拟的外部服务故障 simulated outage")
        CALLS.append(params)
        return {"ok": True, **params}
