"""``/api/tokens``: one's own personal access tokens (create, list, revoke)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from setupwizard.auth import tokens
from setupwizard.auth.deps import CurrentUser
from setupwizard.auth.schemas import ApiTokenCreate, ApiTokenCreated, ApiTokenOut
from setupwizard.auth.scopes import Scope
from setupwizard.core.api_docs import error_responses
from setupwizard.core.params import RowIdPath
from setupwizard.db.deps import SessionDep

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


@router.get("")
async def list_tokens(user: CurrentUser, session: SessionDep) -> list[ApiTokenOut]:
    """The caller's tokens, newest first, with when and from where each was last used."""
    return [ApiTokenOut.model_validate(row) for row in await tokens.list_of(session, user)]


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(403))
async def create_token(
    body: ApiTokenCreate, user: CurrentUser, session: SessionDep, request: Request, response: Response
) -> ApiTokenCreated:
    """A new token; the answer is the only time it is shown (only its hash is kept)."""
    row, value = await tokens.create(
        session, request, user, body.name, Scope(body.scope), body.expires_in_days
    )
    response.headers["Cache-Control"] = "no-store"
    return ApiTokenCreated(**ApiTokenOut.model_validate(row).model_dump(), token=value)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
async def revoke_token(token_id: RowIdPath, user: CurrentUser, session: SessionDep, request: Request) -> None:
    """Revoke one of the caller's tokens: it is refused at once, on every worker."""
    await tokens.revoke(session, request, user, token_id)
