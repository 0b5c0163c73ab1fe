"""schemathesis hooks for the CLI run of tests/faults/test_schema.py: every setup request goes to a closed
local port (the fuzzer never logs into a real server)."""

from __future__ import annotations

import os
from typing import Any

import schemathesis

from tests.faults.test_schema import harmless


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    case.body = harmless(case.body, int(os.environ["SETUPWIZARD_TEST_CLOSED_PORT"]))
