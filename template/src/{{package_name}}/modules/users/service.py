"""User management rules: unique names, at least one active admin."""

from __future__ import annotations

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.errors import ConflictError, NotFoundError
from ...core.security import hash_password_off_loop
from .models import Role, User
from .schemas import UserCreate, UserUpdate


async def get_user(session: AsyncSession, user_id: int) -> User:
    """The user with this id, or 404."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"There is no user with id {user_id}.")
    return user


async def find_user(session: AsyncSession, login: str) -> User | None:
    """The user whose username or e-mail is `login` (case-insensitive)."""
    lowered = login.strip().lower()
    result = await session.exec(
        select(User).where(
            or_(func.lower(User.username) == lowered, func.lower(User.email) == lowered)
        )
    )
    return result.first()


async def list_users(session: AsyncSession) -> list[User]:
    """Every user, by username."""
    result = await session.exec(select(User).order_by(col(User.username)))
    return list(result.all())


async def create_user(session: AsyncSession, data: UserCreate) -> User:
    """Create a user; 409 when the username or e-mail is taken."""
    await _ensure_free(session, data.username, data.email)
    user = User(
        username=data.username,
        email=data.email.lower(),
        password_hash=await hash_password_off_loop(data.password),
        role=data.role,
    )
    session.add(user)
    await session.commit()
    await session.refresh(user)
    return user


async def update_user(
    session: AsyncSession, user: User, data: UserUpdate, *, acting_user_id: int | None
) -> User:
    """Apply an admin's changes, keeping at least one active admin."""
    losing_admin = (
        user.role == Role.ADMIN
        and user.active
        and ((data.role is not None and data.role != Role.ADMIN) or data.active is False)
    )
    if losing_admin and await _active_admins(session) <= 1:
        raise ConflictError("This is the last active admin: make another admin first.")
    if data.active is False and user.id == acting_user_id:
        raise ConflictError("You cannot deactivate your own account.")
    if data.email is not None and data.email.lower() != user.email:
        await _ensure_free(session, None, data.email)
        user.email = data.email.lower()
    if data.role is not None:
        user.role = data.role
    if data.active is not None:
        if user.active and not data.active:
            user.token_version += 1
        user.active = data.active
    if data.password is not None:
        user.password_hash = await hash_password_off_loop(data.password)
        user.token_version += 1  # tokens issued before the change stop working
    session.add(user)
    await session.commit()
    await session.refresh(user)
    return user


async def _active_admins(session: AsyncSession) -> int:
    result = await session.exec(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN, col(User.active))
    )
    return int(result.one())


async def _ensure_free(session: AsyncSession, username: str | None, email: str) -> None:
    if username is not None:
        taken = await session.exec(
            select(User.id).where(func.lower(User.username) == username.lower())
        )
        if taken.first() is not None:
            raise ConflictError(f"The username {username!r} is already taken.", field="username")
    taken = await session.exec(select(User.id).where(func.lower(User.email) == email.lower()))
    if taken.first() is not None:
        raise ConflictError(f"The e-mail {email!r} is already used.", field="email")


async def ensure_admin(
    session: AsyncSession, *, username: str, email: str, password: str
) -> tuple[User, bool]:
    """The admin named `username`, created if missing; True when it was created now."""
    existing = await find_user(session, username)
    if existing is not None:
        return existing, False
    user = await create_user(
        session,
        UserCreate(username=username, email=email, password=password, role=Role.ADMIN),
    )
    return user, True
