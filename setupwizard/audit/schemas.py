"""Response bodies of ``/api/audit``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditOut(BaseModel):
    """One event of the trail."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    outcome: str
    target: str
    address: str
    detail: dict[str, Any]
