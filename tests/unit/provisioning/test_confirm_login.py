"""Confirm-or-revert's inputs: the timeout's bounds, and the ssh line the person runs."""

from __future__ import annotations

import pytest

from setupwizard.provisioning import InvalidInputError, validate_options
from setupwizard.provisioning.steps.confirm_login import ssh_line
from setupwizard.provisioning.target import CONFIRM_TIMEOUT_RANGE, SetupOptions, SshHardening, Target


@pytest.mark.parametrize("seconds", [0, 4, 3601, -5, True, "300"])
def test_a_timeout_out_of_bounds_is_refused_naming_the_field(seconds: object) -> None:
    hardening = SshHardening(confirm_login=True, confirm_timeout=seconds)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError) as refused:
        validate_options(SetupOptions(ssh_hardening=hardening))
    assert refused.value.field == "ssh_hardening.confirm_timeout"


@pytest.mark.parametrize("seconds", [*CONFIRM_TIMEOUT_RANGE, 300, 7.5])
def test_a_timeout_within_bounds_is_taken(seconds: float) -> None:
    validate_options(SetupOptions(ssh_hardening=SshHardening(confirm_login=True, confirm_timeout=seconds)))


def test_the_ssh_line_names_port_user_and_host() -> None:
    assert ssh_line(Target("198.18.0.10", "deploy", port=2222)) == "ssh -p 2222 deploy@198.18.0.10"
    assert ssh_line(Target("2001:db8::1", "ops")) == "ssh -p 22 ops@2001:db8::1"
