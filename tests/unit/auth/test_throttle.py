"""Failed-login throttling with a fake clock."""

from __future__ import annotations

from setupwizard.auth.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_name_is_blocked_from_an_address_after_too_many_failures() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_user=3, per_address=100, window=60, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("admin", "10.0.0.1") is None
        throttle.failure("admin", "10.0.0.1")
        clock.now += 1
    assert throttle.retry_after("admin", "10.0.0.1") == 57  # the first failure leaves the window at 1060
    assert throttle.retry_after("ADMIN", "10.0.0.1") == 57  # names are case-insensitive
    assert throttle.retry_after("admin", "10.0.0.2") is None  # another address is not blocked
    assert throttle.retry_after("alice", "10.0.0.1") is None  # nor another name
    clock.now += 57
    assert throttle.retry_after("admin", "10.0.0.1") is None


def test_address_is_blocked_after_too_many_failures_over_any_names() -> None:
    clock = Clock()
    throttle = LoginThrottle(per_user=100, per_address=5, window=60, clock=clock)
    for i in range(5):
        throttle.failure(f"user{i}", "10.0.0.9")
    wait = throttle.retry_after("someone-else", "10.0.0.9")
    assert wait is not None and wait > 0
    assert throttle.retry_after("someone-else", "10.0.0.8") is None


def test_success_clears_the_names_count() -> None:
    throttle = LoginThrottle(per_user=2, per_address=100, window=60, clock=Clock())
    throttle.failure("bob", "a")
    throttle.success("bob", "a")
    throttle.failure("bob", "a")
    assert throttle.retry_after("bob", "a") is None
    throttle.failure("bob", "a")
    assert throttle.retry_after("bob", "a") is not None
