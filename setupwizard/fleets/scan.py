"""``POST /api/fleets/test-connections``: every target's OS, sudo mode and host key, without trusting it.

The scan never records a key: a new one is reported ``new`` with its fingerprint for the person to
confirm (they send it back as the target's ``host_key_fingerprint``); a key other than the one recorded is
``changed`` and blocks that host only.
"""

from __future__ import annotations

import asyncio
import logging

from setupwizard.core.errors import AppError, translate_provisioning_error
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.fleets.schemas import FleetRequest, HostKeyScan, ScannedHost
from setupwizard.provisioning import test_connection, validate_target
from setupwizard.provisioning.errors import HostKeyChangedError, InvalidInputError, ProvisioningError
from setupwizard.provisioning.known_hosts import KnownHostStore
from setupwizard.servers.known_hosts import DatabaseKnownHosts
from setupwizard.vault.service import fill_saved_key

log = logging.getLogger(__name__)

SCAN_PARALLEL = 20
"""Targets tested at once."""
NO_SESSION = "00000000-0000-0000-0000-000000000000"


class LookOnly:
    """The user's known hosts, read but never written: a key seen in a test is not trusted by it."""

    def __init__(self, store: KnownHostStore) -> None:
        self.store = store

    async def get(self, host: str, port: int) -> str | None:
        return await self.store.get(host, port)

    async def put(self, host: str, port: int, fingerprint: str) -> None:
        return None


async def scan(
    body: HostKeyScan, *, owner_id: int, db: Database, secretbox: SecretBox, connect_timeout: float
) -> list[ScannedHost]:
    """Test every target, at most :data:`SCAN_PARALLEL` at once, in the request's order."""
    known = DatabaseKnownHosts(db, owner_id)
    slots = asyncio.Semaphore(SCAN_PARALLEL)
    fleet = FleetRequest.model_construct(
        name="scan",
        plan=FleetRequest.model_fields["plan"].get_default(call_default_factory=True),
        targets=body.targets,
        defaults=body.defaults,
    )

    requests = []
    for index in range(len(body.targets)):  # every target checked first, as auto-setup checks it (422)
        prefix = f"targets.{index}"
        try:
            request = await fill_saved_key(db, secretbox, owner_id, fleet.setup_request(index, NO_SESSION))
            validate_target(request.to_target())
        except InvalidInputError as exc:
            raise AppError(422, exc.code, exc.reason, f"{prefix}.{exc.field}", said=exc.said) from None
        except AppError as exc:
            raise AppError(exc.status_code, exc.code, exc.message, f"{prefix}.{exc.field}") from None
        if not request.username:
            raise AppError(422, "invalid_input", "A login user is needed", f"{prefix}.username")
        requests.append(request)

    async def one(index: int) -> ScannedHost:
        request = requests[index]
        async with slots:
            recorded = await known.get(request.host, request.port)
            try:
                report = await test_connection(
                    request.to_target(), LookOnly(known), connect_timeout=connect_timeout
                )
            except HostKeyChangedError as exc:
                seen = exc.msg.params.get("seen") if exc.msg is not None else None
                return _failed(request.host, request.port, "changed", seen, "host_key_changed", str(exc))
            except ProvisioningError as exc:
                error = translate_provisioning_error(exc)
                return _failed(request.host, request.port, None, None, error.code, error.message)
            except Exception as exc:  # a bug: this host's answer says so, the others are kept
                log.exception("Testing the connection to %s:%d failed", request.host, request.port)
                return _failed(request.host, request.port, None, None, "internal_error", type(exc).__name__)
        fingerprint = report.host_key_fingerprint
        state = "new" if recorded is None else ("known" if recorded == fingerprint else "changed")
        return ScannedHost(
            host=request.host,
            port=request.port,
            ok=state != "changed",
            host_key=state,
            host_key_fingerprint=fingerprint,
            os=report.os_name,
            sudo_mode=report.sudo_mode.value if report.sudo_mode else None,
        )

    return list(await asyncio.gather(*(one(i) for i in range(len(body.targets)))))


def _failed(host: str, port: int, state: str | None, seen: object, code: str, detail: str) -> ScannedHost:
    return ScannedHost(
        host=host,
        port=port,
        ok=False,
        host_key=state,
        host_key_fingerprint=seen if isinstance(seen, str) else None,
        code=code,
        detail=detail,
    )
