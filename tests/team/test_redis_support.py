"""The team suite's ``redis-server`` starts even when its port was taken after it was
chosen (the suite's loopback connections draw on the same ports)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from team_support import RedisServer


def test_a_first_start_on_a_taken_port_moves_to_a_free_one(
    redis_server: Callable[..., RedisServer], tmp_path: Path
) -> None:
    first = redis_server()  # a real server, holding its port
    second = RedisServer(first.exe, tmp_path / "second")
    second.port = first.port  # as if taken between the choice and the start
    try:
        second.start()
        assert second.port != first.port
        assert second.proc is not None and second.proc.poll() is None
    finally:
        second.stop()
    assert "already in use" in (tmp_path / "second" / "redis.log").read_text()
