"""/agent-configs: browse (all roles), create, change, delete and restore (admin, configurator)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from ...core.db import SessionDep
from ...core.params import MAX_ROW_ID, WRITTEN_AS_INTEGER, PageOffset, RowId
from ..auth.dependencies import AnyRoleUser, ConfiguratorUser
from ..users.models import Role, User
from .models import AgentConfig, ConfigType
from .schemas import (
    AgentConfigCreate,
    AgentConfigPage,
    AgentConfigRead,
    AgentConfigsFile,
    AgentConfigUpdate,
    ConfigSort,
    ImportReport,
    VersionPage,
    VersionRead,
)
from .service import (
    create_config,
    delete_config,
    diff,
    get_config,
    list_configs,
    list_versions,
    restore_version,
    update_config,
)
from .transfer import IMPORTED, all_configs, apply, export_file, render_file

router = APIRouter(prefix="/agent-configs", tags=["agent-configs"])

VersionNumber = Annotated[
    int,
    Path(ge=1, le=MAX_ROW_ID, description="The version to make current again."),
    WRITTEN_AS_INTEGER,
]


def mask_app_key(app_key: str) -> str:
    """What a viewer sees of an app key: its last four characters at most."""
    return "…" + app_key[-4:] if len(app_key) > 8 else "…"


def present(config: AgentConfig | AgentConfigRead, user: User) -> AgentConfigRead:
    """A configuration for this user: viewers see only the end of the app key."""
    read = config if isinstance(config, AgentConfigRead) else AgentConfigRead.model_validate(config)
    if user.role == Role.VIEWER:
        read.app_key = mask_app_key(read.app_key)
    return read


def _masked(value: Any) -> Any:
    # A snapshot's app key is a string; None stands for "not there" in a diff.
    return mask_app_key(value) if isinstance(value, str) else value


def present_version(read: VersionRead, user: User) -> VersionRead:
    """A history entry for this user: viewers see only the end of the app key, as in
    `present`, in the snapshot and in the changes alike."""
    if user.role != Role.VIEWER:
        return read
    if "app_key" in read.snapshot:
        read.snapshot = {**read.snapshot, "app_key": _masked(read.snapshot["app_key"])}
    change = read.diff.get("app_key")
    if change is not None:
        masked = {side: _masked(value) for side, value in change.items()}
        read.diff = {**read.diff, "app_key": masked}
    return read


@router.get("", response_model=AgentConfigPage, summary="List agent configurations")
async def list_all(
    session: SessionDep,
    user: AnyRoleUser,
    search: Annotated[str | None, Query(max_length=100)] = None,
    config_type: ConfigType | None = None,
    enabled: bool | None = None,
    sort: ConfigSort = ConfigSort.NAME,
    limit: Annotated[int, Query(ge=1, le=200), WRITTEN_AS_INTEGER] = 50,
    offset: PageOffset = 0,
) -> AgentConfigPage:
    """Search by name or description (`%` and `_` match only themselves), filter by type
    and status, sort by `name`, `created_at`, `updated_at`, `config_type` or `enabled`
    (prefix `-` for descending)."""
    items, total = await list_configs(
        session,
        search=search,
        config_type=config_type,
        enabled=enabled,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return AgentConfigPage(
        items=[present(c, user) for c in items], total=total, limit=limit, offset=offset
    )


@router.post(
    "", response_model=AgentConfigRead, status_code=status.HTTP_201_CREATED, summary="Create"
)
async def create(
    data: AgentConfigCreate, session: SessionDep, user: ConfiguratorUser
) -> AgentConfigRead:
    """Add a configuration; a taken name answers 409 with `suggested_name`."""
    return present(await create_config(session, data, user.id), user)


@router.get(
    "/export",
    response_model=AgentConfigsFile,
    summary="Export every configuration as a file",
    responses={200: {"content": {"application/json": {}}}},
)
async def export(
    session: SessionDep,
    _: ConfiguratorUser,
    with_secrets: Annotated[
        bool, Query(description="Include the app keys in clear (keep such a file secret)")
    ] = False,
) -> Response:
    """Every configuration, sorted by name, as a file to review and import elsewhere (the
    same as `configs export`). App keys are left out unless `with_secrets`."""
    document = export_file(await all_configs(session), with_secrets=with_secrets)
    return Response(
        render_file(document),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="agent-configs.json"'},
    )


@router.post("/import", response_model=ImportReport, summary="Import configurations from a file")
async def import_file(
    document: AgentConfigsFile,
    session: SessionDep,
    user: ConfiguratorUser,
    dry_run: Annotated[bool, Query(description="Say what would change; write nothing")] = False,
) -> ImportReport:
    """Create or update the configurations of a file made by export, all or nothing: a file
    with any problem answers 422 listing each one (`problems`) and changes nothing. Without an
    app key, an existing configuration keeps its own; others are left alone."""
    changes = await apply(
        session, document.configs, change=IMPORTED, user_id=user.id, dry_run=dry_run
    )
    return ImportReport(dry_run=dry_run, changes=changes)


@router.get("/{config_id}", response_model=AgentConfigRead, summary="Read a configuration")
async def read(config_id: RowId, session: SessionDep, user: AnyRoleUser) -> AgentConfigRead:
    """One configuration."""
    return present(await get_config(session, config_id), user)


@router.patch("/{config_id}", response_model=AgentConfigRead, summary="Change a configuration")
async def update(
    config_id: RowId, data: AgentConfigUpdate, session: SessionDep, user: ConfiguratorUser
) -> AgentConfigRead:
    """Change fields; the result is validated for its type and stored as a new version."""
    config = await get_config(session, config_id)
    return present(await update_config(session, config, data, user.id), user)


@router.delete(
    "/{config_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a configuration"
)
async def delete(config_id: RowId, session: SessionDep, _: ConfiguratorUser) -> Response:
    """Remove a configuration, its history and its test runs."""
    await delete_config(session, await get_config(session, config_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{config_id}/versions", response_model=VersionPage, summary="Version history")
async def versions(config_id: RowId, session: SessionDep, user: AnyRoleUser) -> VersionPage:
    """Every saved state, newest first, each with its changes from the one before.
    Viewers see only the end of the app key, as in the configuration itself."""
    entries = await list_versions(session, await get_config(session, config_id))
    items = []
    for index, entry in enumerate(entries):
        previous = entries[index + 1].snapshot if index + 1 < len(entries) else {}
        read = VersionRead.model_validate(entry)
        read.diff = diff(previous, entry.snapshot)
        items.append(present_version(read, user))
    return VersionPage(items=items, total=len(items))


@router.post(
    "/{config_id}/versions/{version}/restore",
    response_model=AgentConfigRead,
    summary="Restore a version",
)
async def restore(
    config_id: RowId, version: VersionNumber, session: SessionDep, user: ConfiguratorUser
) -> AgentConfigRead:
    """Make an earlier version current; recorded as a new version."""
    config = await get_config(session, config_id)
    return present(await restore_version(session, config, version, user.id), user)
