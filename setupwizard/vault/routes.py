"""``/api/keys``: one's own saved SSH keys (save, list, delete). No route returns a private key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from setupwizard.auth.deps import CurrentUser
from setupwizard.core.api_docs import error_responses
from setupwizard.core.params import RowIdPath
from setupwizard.core.secretbox import SecretBox
from setupwizard.db.deps import SessionDep
from setupwizard.vault import service
from setupwizard.vault.schemas import SshKeyCreate, SshKeyOut

router = APIRouter(prefix="/api/keys", tags=["keys"])


def get_secretbox(request: Request) -> SecretBox:
    """The service's cipher of saved secrets (``app.state.secretbox``)."""
    box: SecretBox = request.app.state.secretbox
    return box


SecretBoxDep = Annotated[SecretBox, Depends(get_secretbox)]


@router.get("")
async def list_keys(user: CurrentUser, session: SessionDep) -> list[SshKeyOut]:
    """The caller's saved keys: name, type, public half and fingerprint."""
    return [SshKeyOut.model_validate(row) for row in await service.list_of(session, user)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(422))
async def save_key(
    body: SshKeyCreate, user: CurrentUser, session: SessionDep, box: SecretBoxDep, request: Request
) -> SshKeyOut:
    """Save a private key, encrypted; 422 naming ``private_key``, ``passphrase`` or ``name`` when it
    cannot be read or the name is taken."""
    passphrase = body.passphrase.get_secret_value() if body.passphrase is not None else None
    row = await service.save(
        session, request, box, user, body.name, body.private_key.get_secret_value(), passphrase
    )
    return SshKeyOut.model_validate(row)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
async def delete_key(key_id: RowIdPath, user: CurrentUser, session: SessionDep, request: Request) -> None:
    """Delete one of the caller's keys (audited)."""
    await service.delete(session, request, user, key_id)
