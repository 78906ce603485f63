"""The daemon-thread map preflight fetches with: order kept, failures re-raised."""

from __future__ import annotations

import threading

import pytest

from bakery.preflight.pool import map_daemon


def test_results_come_back_in_the_order_given() -> None:
    names: set[str] = set()

    def square(n: int) -> int:
        names.add(threading.current_thread().name)
        assert threading.current_thread().daemon
        return n * n

    assert map_daemon(square, list(range(20)), workers=4, name="t") == [n * n for n in range(20)]
    assert names <= {f"t-{i}" for i in range(4)}
    assert map_daemon(square, [], workers=4, name="t") == []


def test_an_exception_in_a_worker_is_raised_to_the_caller() -> None:
    def boom(n: int) -> int:
        raise ValueError(f"item {n}")

    with pytest.raises(ValueError, match="item"):
        map_daemon(boom, [1, 2], workers=2, name="t")
