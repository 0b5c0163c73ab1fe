"""Fleets: one plan on many servers at once, each target an ordinary setup session (docs/api.md)."""
