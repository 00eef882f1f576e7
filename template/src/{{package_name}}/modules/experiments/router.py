"""/experiments: read (all roles); start and stop (admin, configurator). Never deleted."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from ...core.db import SessionDep
from ...core.params import MAX_ROW_ID, WRITTEN_AS_INTEGER, PageOffset
from ..auth.dependencies import AnyRoleUser, ConfiguratorUser
from .schemas import ExperimentCreate, ExperimentPage, ExperimentRead, ExperimentStop
from .service import (
    ExperimentSplitter,
    create_experiment,
    get_experiment,
    list_experiments,
    present,
    stop_experiment,
)

router = APIRouter(prefix="/experiments", tags=["experiments"])

ExperimentId = Annotated[
    int, Path(ge=1, le=MAX_ROW_ID, description="The experiment's id."), WRITTEN_AS_INTEGER
]


async def _reload(request: Request) -> None:
    splitter: ExperimentSplitter | None = getattr(request.app.state, "experiments", None)
    if splitter is not None:
        await splitter.reload()


@router.get("", response_model=ExperimentPage, summary="List experiments")
async def list_all(
    session: SessionDep,
    user: AnyRoleUser,
    offset: PageOffset = 0,
    limit: Annotated[int, Query(ge=1, le=100), WRITTEN_AS_INTEGER] = 50,
) -> ExperimentPage:
    """Running experiments first, then stopped ones (kept, with why they stopped)."""
    rows, total = await list_experiments(session, limit=limit, offset=offset)
    return ExperimentPage(items=[await present(session, row) for row in rows], total=total)


@router.post(
    "",
    response_model=ExperimentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Start an experiment",
)
async def start(
    body: ExperimentCreate, request: Request, session: SessionDep, user: ConfiguratorUser
) -> ExperimentRead:
    """Split the calls to one agent configuration with another, sticky per end user."""
    experiment = await create_experiment(session, body, user)
    await _reload(request)
    return await present(session, experiment)


@router.get("/{experiment_id}", response_model=ExperimentRead, summary="Read an experiment")
async def read(
    experiment_id: ExperimentId, session: SessionDep, user: AnyRoleUser
) -> ExperimentRead:
    """The experiment and its results per side."""
    return await present(session, await get_experiment(session, experiment_id))


@router.post("/{experiment_id}/stop", response_model=ExperimentRead, summary="Stop an experiment")
async def stop(
    experiment_id: ExperimentId,
    request: Request,
    session: SessionDep,
    user: ConfiguratorUser,
    body: ExperimentStop | None = None,
) -> ExperimentRead:
    """Send every call to the current configuration again; the results are kept."""
    experiment = await get_experiment(session, experiment_id)
    said = f": {body.reason.strip()}" if body is not None and body.reason.strip() else "."
    reason = f"Stopped by {user.username}{said}"
    experiment = await stop_experiment(session, experiment, reason, automatically=False)
    await _reload(request)
    return await present(session, experiment)
