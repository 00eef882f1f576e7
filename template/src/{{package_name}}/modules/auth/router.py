"""POST /auth/login and GET /auth/me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from ...core.db import SessionDep
from ...core.openapi import SIGN_IN_ERRORS
from ...core.state import SettingsDep
from ..users.models import Role
from .dependencies import AnyRoleUser
from .schemas import Me, Token
from .service import PERMISSIONS, authenticate, issue_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=Token,
    summary="Sign in with username and password",
    responses=SIGN_IN_ERRORS,
)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    """OAuth2 password flow: form fields `username` (or e-mail) and `password`.

    Repeated failures are throttled per account and client address (429 with Retry-After).
    """
    client = request.client.host if request.client else "unknown"
    user = await authenticate(session, form.username, form.password, settings, client=client)
    return issue_token(user, settings)


@router.get("/me", response_model=Me, summary="The signed-in user")
async def me(user: AnyRoleUser) -> Me:
    """Who is signed in, the role and what it permits."""
    return Me.model_validate({**user.model_dump(), "permissions": PERMISSIONS[Role(user.role)]})
