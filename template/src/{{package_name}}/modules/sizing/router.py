"""POST /sizing: resource recommendations for every signed-in role."""

from __future__ import annotations

import importlib.util

from fastapi import APIRouter, Depends
from pydantic import ConfigDict

from ...core.db import SessionDep
from ...core.state import SettingsDep
from ..auth.dependencies import require_signed_in
from .calculator import ExtraSizing, SizingInput, SizingResult, recommend
from .observed import observed_load

# The worker package is there only in products rendered with the background worker.
_PACKAGE = __name__.split(".modules.")[0]
HAS_WORKER = importlib.util.find_spec(_PACKAGE + ".worker") is not None
# Imported by name, as the worker sizes its own part.
WORKER_SIZING: ExtraSizing | None = (
    importlib.import_module(_PACKAGE + ".worker.sizing").worker_recommendations
    if HAS_WORKER
    else None
)

router = APIRouter(prefix="/sizing", tags=["sizing"], dependencies=[Depends(require_signed_in)])


class SizingRequest(SizingInput):
    """Expected load, or `use_observed` to start from the last week's traffic."""

    # Strict: `true` is not a number of days, nor 0 a yes or no.
    model_config = ConfigDict(extra="forbid", strict=True)

    use_observed: bool = False


@router.post("", response_model=SizingResult, summary="Recommend resources")
async def size(
    session: SessionDep, settings: SettingsDep, body: SizingRequest | None = None
) -> SizingResult:
    """Recommendations from the given load; observed traffic fills what is not given."""
    body = body or SizingRequest()
    given = body.model_dump(exclude_unset=True, exclude={"use_observed"})
    values: dict[str, float] = {
        "hot_retention_days": settings.retention_request_log_hot_days,
        "cold_retention_days": settings.retention_request_log_cold_days,
        "db_pool_size": settings.db_pool_size,
        "db_max_overflow": settings.db_max_overflow,
        "server_processes": settings.server_processes,
    }
    if HAS_WORKER:
        values["task_result_hours"] = _task_result_hours()
    source = "the figures you entered"
    if body.use_observed:
        observed = await observed_load(session)
        if observed is not None:
            values.update(observed)
            source = "last week's calls"
        else:
            source = "typical figures (there were no calls in the last 7 days)"
    values.update(given)
    return recommend(SizingInput(**values), source=source, worker=WORKER_SIZING)


def _task_result_hours() -> float:
    # Imported by name: the worker package exists only in products that have the worker.
    settings = importlib.import_module(_PACKAGE + ".worker.settings").get_worker_settings()
    return float(settings.task_result_ttl_hours)
