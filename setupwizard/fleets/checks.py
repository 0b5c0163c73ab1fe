"""A fleet's targets checked before anything runs: each exactly as auto-setup checks it (the engine's
validator, the target deny list), no server twice, and every host key known or confirmed.

Every refusal names the target: ``targets.3.host``, ``targets.3.password``; the plan's own fields are
``plan.packages``, ``plan.ssh_hardening.port``… Nothing has started when one is raised.
"""

from __future__ import annotations

from setupwizard.core.errors import AppError, InvalidRequestError
from setupwizard.core.networks import TargetPolicy
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.database import Database
from setupwizard.fleets.schemas import FleetRequest
from setupwizard.provisioning import validate_options
from setupwizard.provisioning.address import canonical_host
from setupwizard.provisioning.errors import InvalidInputError
from setupwizard.provisioning.known_hosts import KnownHostStore
from setupwizard.setup.ports import Validator
from setupwizard.setup.schemas import AutoSetupRequest
from setupwizard.vault.service import fill_saved_key


def _named(exc: InvalidInputError, prefix: str) -> AppError:
    return AppError(422, exc.code, exc.reason, f"{prefix}.{exc.field}", said=exc.said)


def _renamed(exc: AppError, prefix: str) -> AppError:
    field = f"{prefix}.{exc.field}" if exc.field else prefix
    return AppError(exc.status_code, exc.code, exc.message, field, exc.headers, exc.said)


async def checked_requests(
    body: FleetRequest,
    session_ids: list[str],
    *,
    owner_id: int,
    validate: Validator,
    policy: TargetPolicy,
    known_hosts: KnownHostStore,
    db: Database,
    secretbox: SecretBox,
) -> list[AutoSetupRequest]:
    """Each target as auto-setup's body (saved keys filled in), or the first refusal, naming its field.

    :raises AppError: 422 (a field; ``duplicate_target``; ``host_key_unconfirmed``), 403 ``target_denied``.
    """
    try:
        validate_options(body.plan.to_options())
    except InvalidInputError as exc:
        raise _named(exc, "plan") from None
    seen: dict[tuple[str, int], int] = {}
    requests: list[AutoSetupRequest] = []
    for index, session_id in enumerate(session_ids):
        prefix = f"targets.{index}"
        request = body.setup_request(index, session_id)
        try:
            request = await fill_saved_key(db, secretbox, owner_id, request)
        except AppError as exc:
            raise _renamed(exc, prefix) from None
        if not request.username:
            raise InvalidRequestError(f"{prefix}.username", "A login user is needed (here or in defaults)")
        target = request.to_target()
        try:
            validate(target, request.to_options())
        except InvalidInputError as exc:
            raise _named(exc, prefix) from None
        key = (canonical_host(target.host), target.port)
        if key in seen:
            raise InvalidRequestError(
                f"{prefix}.host",
                f"{target.host}:{target.port} is already targets.{seen[key]}: each server once per fleet",
                code="duplicate_target",
            )
        seen[key] = index
        if await policy.denies(target.host, target.port):
            raise AppError(
                403,
                "target_denied",
                "This server address is not allowed: the service refuses its own host's, loopback, "
                "link-local and cloud metadata addresses (SETUPWIZARD_TARGET_DENY, "
                "SETUPWIZARD_TARGET_DENY_OWN_ADDRESSES)",
                field=f"{prefix}.host",
            )
        if (
            not body.accept_new_host_keys
            and target.host_key_fingerprint is None
            and await known_hosts.get(target.host, target.port) is None
        ):
            raise InvalidRequestError(
                f"{prefix}.host_key_fingerprint",
                f"The host key of {target.host}:{target.port} is new: confirm its fingerprint "
                "(POST /api/fleets/test-connections) or set accept_new_host_keys",
                code="host_key_unconfirmed",
            )
        requests.append(request)
    return requests
