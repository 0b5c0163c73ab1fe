"""The progress bus: ordered, replayable event streams per setup session (in-process or Redis Streams)."""

from setupwizard.progress.bus import DEFAULT_RETENTION_SECONDS, OutOfOrderEventError, ProgressBus

__all__ = ["DEFAULT_RETENTION_SECONDS", "OutOfOrderEventError", "ProgressBus"]
