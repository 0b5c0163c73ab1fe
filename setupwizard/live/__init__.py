"""Live delivery: how a session's lines travel from the engine to every browser watching it.

``bus`` (the protocol) with ``memory`` (one process) and ``redis`` (several workers) keeps an ordered,
replayable stream per session; ``feed`` merges the database and the bus into one exactly-once stream for a
reader; ``relay`` moves it to one client at the client's pace, several lines a frame when it falls
behind; ``socket`` is the WebSocket endpoint around them.
"""

from setupwizard.live.bus import DEFAULT_RETENTION_SECONDS, OutOfOrderEventError, ProgressBus

__all__ = ["DEFAULT_RETENTION_SECONDS", "OutOfOrderEventError", "ProgressBus"]
