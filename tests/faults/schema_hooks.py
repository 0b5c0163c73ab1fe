"""schemathesis hooks for the CLI run of tests/faults/test_schema.py: every setup request goes to a closed
local port (the fuzzer never logs into a real server).

Integers are strict (docs/api.md: ``"port": "22"`` and ``true`` are refused), and so is ``366.0``, which
JSON Schema counts as an integer: a whole float the generator writes is sent as that integer, so that
``positive_data_acceptance`` (schema-valid data is accepted) tests the rest.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis

from tests.faults.test_schema import harmless


def _whole_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_floats_as_ints(item) for item in value]
    return value


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    body = harmless(case.body, int(os.environ["SETUPWIZARD_TEST_CLOSED_PORT"]))
    case.body = _whole_floats_as_ints(body)
    if isinstance(case.query, dict):
        case.query = _whole_floats_as_ints(case.query)
