"""The provisioning engine: log into a server over SSH, set it up, and stream every line as events.

Public API (the web service and the CLI use only these):

- :func:`run_setup` — run the default plan, never raising; one final ``complete`` event.
- :func:`test_connection` — connect, detect OS and sudo mode, change nothing.
- :func:`validate_target`, :func:`validate_options` — raise :class:`InvalidInputError` naming the field.
"""

from __future__ import annotations

from setupwizard.provisioning.errors import (
    AuthenticationFailedError,
    CommandFailedError,
    ConnectError,
    ConnectionRefusedByHostError,
    ConnectTimeoutError,
    HostKeyChangedError,
    HostUnreachableError,
    InvalidInputError,
    LockoutPreventedError,
    ProvisioningError,
    SudoPasswordWrongError,
    SudoRefusedError,
    UnreachableError,
    UnsupportedOSError,
)
from setupwizard.provisioning.events import EventEmitter, EventSink, EventType, Level, SessionEvent
from setupwizard.provisioning.known_hosts import FileKnownHosts, KnownHostStore, MemoryKnownHosts
from setupwizard.provisioning.result import (
    ConnectionReport,
    SetupResult,
    StepResult,
    StepStatus,
    SudoCredential,
    SudoMode,
)
from setupwizard.provisioning.runner import run_setup, test_connection
from setupwizard.provisioning.target import DEFAULT_PACKAGES, SetupOptions, Target
from setupwizard.provisioning.validate import validate_options, validate_target

__all__ = [
    "DEFAULT_PACKAGES",
    "AuthenticationFailedError",
    "CommandFailedError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionRefusedByHostError",
    "ConnectionReport",
    "EventEmitter",
    "EventSink",
    "EventType",
    "FileKnownHosts",
    "HostKeyChangedError",
    "HostUnreachableError",
    "InvalidInputError",
    "KnownHostStore",
    "Level",
    "LockoutPreventedError",
    "MemoryKnownHosts",
    "ProvisioningError",
    "SessionEvent",
    "SetupOptions",
    "SetupResult",
    "StepResult",
    "StepStatus",
    "SudoCredential",
    "SudoMode",
    "SudoPasswordWrongError",
    "SudoRefusedError",
    "Target",
    "UnreachableError",
    "UnsupportedOSError",
    "run_setup",
    "test_connection",
    "validate_options",
    "validate_target",
]
