"""``/api/notifications/targets``: one's own notification targets (save, list, rules, test, delete)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from setupwizard.auth.deps import CurrentUser
from setupwizard.config import Settings
from setupwizard.core.api_docs import ErrorBody, error_responses
from setupwizard.core.networks import TargetPolicy
from setupwizard.core.params import RowIdPath
from setupwizard.db.deps import SessionDep
from setupwizard.notify import service
from setupwizard.notify.schemas import NotifyRules, NotifyTargetCreate, NotifyTargetOut
from setupwizard.vault.routes import SecretBoxDep

router = APIRouter(prefix="/api/notifications/targets", tags=["notifications"])


def get_notify_policy(request: Request) -> TargetPolicy:
    """The networks no notification URL may reach (``app.state.notify_policy``, built at start)."""
    policy: TargetPolicy = request.app.state.notify_policy
    return policy


NotifyPolicyDep = Annotated[TargetPolicy, Depends(get_notify_policy)]


@router.get("")
async def list_targets(user: CurrentUser, session: SessionDep) -> list[NotifyTargetOut]:
    """The caller's targets, with a hint of each URL and how the last try went."""
    return [NotifyTargetOut.model_validate(row) for row in await service.list_of(session, user)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(422))
async def save_target(
    body: NotifyTargetCreate,
    user: CurrentUser,
    session: SessionDep,
    box: SecretBoxDep,
    policy: NotifyPolicyDep,
    request: Request,
) -> NotifyTargetOut:
    """Save a target; its URL is stored encrypted and never shown again (422 naming ``url`` or ``name``;
    ``notify_url_denied`` when the URL reaches a network in ``SETUPWIZARD_NOTIFY_DENY``)."""
    url = body.url.get_secret_value()
    row = await service.save(
        session, request, box, policy, user, body.name, url, body.on_failed, body.on_succeeded
    )
    return NotifyTargetOut.model_validate(row)


@router.put("/{target_id}/rules", responses=error_responses(404))
async def set_rules(
    target_id: RowIdPath, body: NotifyRules, user: CurrentUser, session: SessionDep
) -> NotifyTargetOut:
    """Change when the target is told."""
    row = await service.set_rules(session, user, target_id, body.on_failed, body.on_succeeded)
    return NotifyTargetOut.model_validate(row)


@router.post(
    "/{target_id}/test",
    responses={**error_responses(404, 422), 502: {"model": ErrorBody, "description": "notify_failed"}},
)
async def send_test(
    target_id: RowIdPath,
    user: CurrentUser,
    session: SessionDep,
    box: SecretBoxDep,
    policy: NotifyPolicyDep,
    request: Request,
) -> NotifyTargetOut:
    """Send a test notification to the target now (one try); 502 ``notify_failed`` when it did not arrive,
    422 ``notify_url_denied`` when its host is now in a denied network (nothing was sent)."""
    settings: Settings = request.app.state.settings
    row = await service.send_test(session, box, policy, user, target_id, settings.public_url)
    return NotifyTargetOut.model_validate(row)


@router.delete("/{target_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
async def delete_target(
    target_id: RowIdPath, user: CurrentUser, session: SessionDep, request: Request
) -> None:
    """Delete one of the caller's targets (audited)."""
    await service.delete(session, request, user, target_id)
