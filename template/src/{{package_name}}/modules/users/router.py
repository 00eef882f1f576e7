"""/users: admins list, create, update and deactivate accounts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from ...core.db import SessionDep
from ...core.params import RowId
from ..auth.dependencies import AdminUser, require_admin
from .schemas import UserCreate, UserPage, UserRead, UserUpdate
from .service import create_user, get_user, list_users, update_user

router = APIRouter(prefix="/users", tags=["users"], dependencies=[Depends(require_admin)])


@router.get("", response_model=UserPage, summary="List users")
async def list_all(session: SessionDep) -> UserPage:
    """Every account, active or not."""
    users = await list_users(session)
    return UserPage(items=[UserRead.model_validate(u) for u in users], total=len(users))


@router.post("", response_model=UserRead, status_code=status.HTTP_201_CREATED, summary="Create")
async def create(data: UserCreate, session: SessionDep) -> UserRead:
    """Create an account with a role (admin, configurator or viewer)."""
    return UserRead.model_validate(await create_user(session, data))


@router.get("/{user_id}", response_model=UserRead, summary="Read a user")
async def read(user_id: RowId, session: SessionDep) -> UserRead:
    """One account."""
    return UserRead.model_validate(await get_user(session, user_id))


@router.patch("/{user_id}", response_model=UserRead, summary="Change role, status or password")
async def update(
    user_id: RowId, data: UserUpdate, session: SessionDep, admin: AdminUser
) -> UserRead:
    """Change role, active flag, e-mail or password; the last admin is protected."""
    user = await get_user(session, user_id)
    return UserRead.model_validate(await update_user(session, user, data, acting_user_id=admin.id))


@router.delete("/{user_id}", response_model=UserRead, summary="Deactivate a user")
async def deactivate(user_id: RowId, session: SessionDep, admin: AdminUser) -> UserRead:
    """Deactivate (accounts are never deleted, so history keeps its authors)."""
    user = await get_user(session, user_id)
    return UserRead.model_validate(
        await update_user(session, user, UserUpdate(active=False), acting_user_id=admin.id)
    )
