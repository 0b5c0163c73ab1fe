"""``/api/servers``: the caller's servers, saved sudo credentials (without passwords) and known host keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from setupwizard.audit import trail as audit
from setupwizard.audit.trail import AuditAction
from setupwizard.auth.deps import CurrentUser
from setupwizard.config import Settings
from setupwizard.core.api_docs import ErrorBody, error_responses
from setupwizard.core.errors import ConflictError, ForbiddenError, NotFoundError
from setupwizard.core.params import RowIdPath, RowIdQuery
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.deps import SessionDep
from setupwizard.provisioning import validate_options
from setupwizard.servers.key_trust import trust_new_key
from setupwizard.servers.preset_repository import MAX_PRESETS_PER_USER, PresetRepository
from setupwizard.servers.repository import (
    KnownHostRepository,
    SavedServerRepository,
    SudoRepository,
    normalise_host,
)
from setupwizard.servers.schemas import (
    ForgottenServer,
    KnownHostOut,
    KnownHostTrust,
    PresetIn,
    PresetOut,
    ServerOut,
    SudoOut,
    SudoPrefill,
    TrustedHostKey,
)

router = APIRouter(prefix="/api/servers", tags=["servers"])

Host = Annotated[str, Query(min_length=1, max_length=255)]
Port = Annotated[int, Query(ge=1, le=65535)]


def _sudo_repo(request: Request, session: SessionDep) -> SudoRepository:
    box: SecretBox = request.app.state.secretbox
    return SudoRepository(session, box)


@router.get("")
async def list_servers(user: CurrentUser, session: SessionDep) -> list[ServerOut]:
    """The caller's servers (a saved sudo user or a trusted host key), each with its last setup.

    Only the caller's own: an administrator sees their own servers here too.
    """
    rows = await SavedServerRepository(session).list(user.id)
    return [ServerOut.model_validate(row, from_attributes=True) for row in rows]


@router.delete("", responses=error_responses(404))
async def forget_server(
    request: Request, user: CurrentUser, session: SessionDep, host: Host, port: Port = 22
) -> ForgottenServer:
    """Forget one of the caller's servers: its saved sudo row, the caller's trusted host key and any
    generated admin key still waiting for its download go. The setup history stays. 404 when nothing of
    the caller's is saved for host:port. (After a changed host key, ``POST /known-hosts/trust`` replaces
    the key alone.)"""
    sudo_rows, known_hosts, admin_keys = await SavedServerRepository(session).forget(user.id, host, port)
    if not sudo_rows and not known_hosts and not admin_keys:
        raise NotFoundError("No such saved server")
    target = f"{normalise_host(host)}:{port}"
    if sudo_rows:
        await audit.record_in(session, request, AuditAction.SUDO_DELETE, user=user, target=target)
    if known_hosts:
        detail = {"user_id": user.id, "removed": known_hosts}
        await audit.record_in(
            session, request, AuditAction.KNOWN_HOST_DELETE, user=user, target=target, detail=detail
        )
    return ForgottenServer(
        host=normalise_host(host),
        port=port,
        sudo_rows=sudo_rows,
        known_hosts=known_hosts,
        admin_keys=admin_keys,
    )


@router.get("/presets")
async def list_presets(user: CurrentUser, session: SessionDep) -> list[PresetOut]:
    """The caller's own presets of setup steps, by name."""
    rows = await PresetRepository(session).list(user.id)
    return [PresetOut.model_validate(row, from_attributes=True) for row in rows]


@router.post("/presets", responses=error_responses(409))
async def save_preset(body: PresetIn, user: CurrentUser, session: SessionDep) -> PresetOut:
    """Save a preset of the caller (the same name replaces it). The choice is checked as the plan preview
    checks it (422 naming the field); an admin user's sudo password is never stored."""
    validate_options(body.steps.to_options())
    steps = body.steps.model_dump(mode="json", exclude_none=True, exclude={"admin": {"sudo_password"}})
    row = await PresetRepository(session).save(user.id, body.name.strip() or body.name, steps)
    if row is None:
        raise ConflictError(f"At most {MAX_PRESETS_PER_USER} presets per user", code="too_many_presets")
    return PresetOut.model_validate(row, from_attributes=True)


@router.delete("/presets/{preset_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
async def delete_preset(preset_id: RowIdPath, user: CurrentUser, session: SessionDep) -> None:
    """Delete one of the caller's presets (404 if it is not theirs)."""
    if not await PresetRepository(session).delete(user.id, preset_id):
        raise NotFoundError("No such preset")


@router.get("/sudo")
async def list_sudo(request: Request, user: CurrentUser, session: SessionDep) -> list[SudoOut]:
    """The caller's saved sudo users per server (never a password)."""
    rows = await _sudo_repo(request, session).list_sudo(user.id)
    return [
        SudoOut(
            id=r.id,
            host=r.host,
            ssh_port=r.ssh_port,
            sudo_user=r.sudo_user,
            passwordless=r.sudo_password == "",
            updated_at=r.updated_at,
        )
        for r in rows
    ]


@router.get("/sudo/prefill")
async def prefill_sudo(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    host: Host,
    port: Port = 22,
    username: Annotated[str | None, Query(max_length=64)] = None,
) -> SudoPrefill:
    """Whether the caller saved a sudo user for host:port (and, given ``username``, for that login), and
    whether a password is stored for it. A row saved for another login is not offered: its
    password is that login's."""
    row = await _sudo_repo(request, session).describe(user.id, host, port)
    if row is None or (username is not None and row.sudo_user != username):
        return SudoPrefill(saved=False, sudo_user=None, has_password=False, passwordless=False)
    has_password = row.sudo_password != ""
    return SudoPrefill(
        saved=True, sudo_user=row.sudo_user, has_password=has_password, passwordless=not has_password
    )


# ":int": /sudo/prefill is not an id, so DELETE there is a 405 (GET only), not a 422 for a bad id
@router.delete("/sudo/{sudo_id:int}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
async def delete_sudo(request: Request, sudo_id: RowIdPath, user: CurrentUser, session: SessionDep) -> None:
    """Forget one saved credential of the caller (404 if it is not theirs)."""
    if not await _sudo_repo(request, session).delete_sudo(user.id, sudo_id):
        raise NotFoundError("No such saved sudo credential")
    await audit.record_in(session, request, AuditAction.SUDO_DELETE, user=user, detail={"sudo_id": sudo_id})


@router.get("/known-hosts")
async def list_known_hosts(user: CurrentUser, session: SessionDep) -> list[KnownHostOut]:
    """The host keys the caller trusts (an admin sees every user's, each with its user)."""
    rows = await KnownHostRepository(session).list(None if user.is_admin else user.id)
    return [
        KnownHostOut(
            user_id=r.user_id,
            username=username,
            host=r.host,
            port=r.port,
            fingerprint=r.fingerprint,
            first_seen=r.first_seen,
            last_seen=r.last_seen,
        )
        for r, username in rows
    ]


@router.delete("/known-hosts", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(403, 404))
async def delete_known_host(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    host: Host,
    port: Port = 22,
    user_id: RowIdQuery | None = None,
) -> None:
    """Forget a trusted host key: the caller's own. An admin forgets it for ``user_id``, or for every user
    when ``user_id`` is omitted (after a legitimate key change). The next login accepts the new key."""
    if user.is_admin:
        whose = user_id
    elif user_id is not None and user_id != user.id:
        raise ForbiddenError("Administrators only")
    else:
        whose = user.id
    removed = await KnownHostRepository(session).delete(host, port, whose)
    if not removed:
        raise NotFoundError("No such known host")
    detail = {"user_id": whose, "removed": removed}
    await audit.record_in(
        session, request, AuditAction.KNOWN_HOST_DELETE, user=user, target=f"{host}:{port}", detail=detail
    )


@router.post(
    "/known-hosts/trust",
    responses={
        **error_responses(403, 422, 429),
        409: {"model": ErrorBody, "description": "host_key_mismatch: the server shows yet another key"},
        502: {"model": ErrorBody, "description": "unreachable: no SSH server answered"},
    },
)
async def trust_known_host(
    body: KnownHostTrust, request: Request, user: CurrentUser, session: SessionDep
) -> TrustedHostKey:
    """Trust the new host key the caller checked on the server's console (after a refused changed key).

    The service does a key exchange with the server (no login, no credential): when the key it shows is
    ``fingerprint``, it becomes the caller's trusted key for host:port, and the audit trail records the old
    and the new fingerprint. When it shows another key: 409 ``host_key_mismatch``, nothing trusted. The
    saved sudo data stays (``DELETE /api/servers`` forgets that too). Guarded as test-connection is (the
    target deny list, the connection attempts per minute).
    """
    settings: Settings = request.app.state.settings
    timeout = settings.ssh_connect_timeout
    previous = await trust_new_key(session, user.id, body.host, body.port, body.fingerprint, timeout)
    host = normalise_host(body.host)
    detail = {"user_id": user.id, "old": previous, "new": body.fingerprint}
    await audit.record_in(
        session, request, AuditAction.KNOWN_HOST_TRUST, user=user, target=f"{host}:{body.port}", detail=detail
    )
    return TrustedHostKey(host=host, port=body.port, fingerprint=body.fingerprint, previous=previous)
