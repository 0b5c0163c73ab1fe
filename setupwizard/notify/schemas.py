"""Shapes of ``/api/notifications``: a target is saved with its URL and shown with a masked hint."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from setupwizard.notify.urls import MAX_URL_CHARS

STRICT = ConfigDict(strict=True, extra="forbid")


class NotifyRules(BaseModel):
    """When a target is told: a failed (or interrupted) setup, a succeeded one, or both."""

    model_config = STRICT

    on_failed: bool = Field(True, description="Tell when a setup fails or is interrupted.")
    on_succeeded: bool = Field(False, description="Tell when a setup succeeds.")


class NotifyTargetCreate(NotifyRules):
    """``POST /api/notifications/targets``: a name, an apprise URL and the rules."""

    name: str = Field(min_length=1, max_length=64)
    url: SecretStr = Field(
        max_length=MAX_URL_CHARS,
        description="An apprise URL: mailto://, json://, tgram://, slack://, ntfy://, … (stored encrypted).",
    )


class NotifyTargetOut(BaseModel):
    """A target as every answer shows it: never its URL, only a hint of it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    hint: str = Field(description="The URL's scheme and last four characters, to tell targets apart.")
    on_failed: bool
    on_succeeded: bool
    created_at: datetime
    last_sent_at: datetime | None = Field(description="When a notification or test was last tried.")
    last_error: str = Field(description="Why that try failed; empty when it went through.")
