"""Engine tuning that is not part of the public API (a module of its own, so that the step context
and the plan both use it without importing each other)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlanSettings:
    """Engine tuning that is not part of the public API.

    :param apt_lock_timeout: how long to wait for other apt/dpkg processes, in seconds.
    :param apt_lists_max_age: skip ``apt-get update`` when the package lists are younger than this
        many seconds and no apt source changed since (0: always update).
    :param lockout_drill: TEST ONLY. Make the firewall step wrongly deny the SSH port, to prove
        that the lock-out guard notices and rolls the firewall back. Never exposed over HTTP.
    :param ssh_revert_after: seconds after which the server itself undoes the SSH hardening (a systemd
        timer armed before the change, stopped once the new login is proven) when the run's connection
        died before it could prove or roll back.
    """

    apt_lock_timeout: float = 600.0
    apt_lists_max_age: float = 1800.0
    lockout_drill: bool = False
    ssh_revert_after: float = 120.0
