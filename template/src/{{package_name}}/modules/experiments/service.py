"""Experiments: who gets which side, the results per side, and the automatic stop.

An experiment splits the calls to one agent configuration (the current version, the name
callers use) between it and a challenger (another configuration: a new version, another app
key). Each end user always gets the same side: a hash of the experiment id and the user id
decides, so no assignment is stored. Results come from the request log; when the experiment
stops they are kept with it, since the log is pruned and the history is not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from loguru import logger
from sqlalchemy import case, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ...core.db import Database
from ...core.errors import ConflictError, InvalidRequestError, NotFoundError
from ...core.models import utcnow
from ..agents.models import AgentConfig, ConfigType
from ..analytics.service import Usage, UsageFilter, minute_range, usage_breakdown
from ..users.models import User
from .models import Experiment, ExperimentStatus
from .schemas import ExperimentCreate, ExperimentRead, ExperimentResults, VariantResults

if TYPE_CHECKING:
    from ..gateway.service import Gateway


def assigned_to_challenger(experiment_id: int, user_id: str, share: int) -> bool:
    """True when `user_id` gets the challenger: the same answer every time, for every process."""
    digest = hashlib.sha256(f"{experiment_id}\n{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100 < share


@dataclass(frozen=True, slots=True)
class Split:
    """A running experiment as the invoke path needs it."""

    experiment_id: int
    challenger_id: int
    share: int


class ExperimentSplitter:
    """Which configurations are split now; the gateway asks it on every agent call.

    The running experiments live in memory (a dict by configuration id), reloaded every
    `EXPERIMENTS_CHECK_S` and at once when this process starts or stops one. With none
    running, a call pays one dictionary lookup and no query.
    """

    def __init__(self, database: Database) -> None:
        self.database = database
        self._splits: dict[int, Split] = {}

    async def reload(self) -> None:
        """Read the running experiments again."""
        async with self.database.session() as session:
            rows = await session.exec(
                select(Experiment).where(col(Experiment.status) == ExperimentStatus.RUNNING)
            )
            self._splits = {
                row.config_id: Split(row.id, row.challenger_id, row.challenger_share)
                for row in rows.all()
                if row.id is not None and row.config_id is not None and row.challenger_id
            }

    async def pick(self, gateway: Gateway, config: AgentConfig, user_id: str) -> AgentConfig:
        """The configuration that answers `user_id` when they call `config`."""
        if not self._splits or config.id is None:
            return config
        split = self._splits.get(config.id)
        if split is None or not assigned_to_challenger(split.experiment_id, user_id, split.share):
            return config
        try:
            challenger = await gateway.find(str(split.challenger_id))
        except NotFoundError:
            return config
        # A challenger turned off or changed to another type: everyone gets the current one.
        if challenger.config_type is not config.config_type or not challenger.enabled:
            return config
        return challenger


async def _agent_config(session: AsyncSession, config_id: int, role: str) -> AgentConfig:
    config = await session.get(AgentConfig, config_id)
    if config is None:
        # A 422 naming the field: the path exists, the body names what does not.
        raise InvalidRequestError(
            f"There is no agent configuration with id {config_id} ({role}).",
            field="challenger_id" if role == "challenger" else "config_id",
        )
    if config.config_type is not ConfigType.AGENT:
        raise InvalidRequestError(
            f"{config.name!r} is a {config.config_type.value} configuration: experiments "
            "split agent calls only.",
            field="challenger_id" if role == "challenger" else "config_id",
        )
    return config


async def create_experiment(
    session: AsyncSession, body: ExperimentCreate, user: User
) -> Experiment:
    """Start an experiment; 409 when the configuration already has one running."""
    if body.config_id == body.challenger_id:
        raise InvalidRequestError(
            "The challenger must be another configuration than the current one.",
            field="challenger_id",
        )
    current = await _agent_config(session, body.config_id, "current")
    challenger = await _agent_config(session, body.challenger_id, "challenger")
    experiment = Experiment(
        name=body.name.strip() or current.name,
        config_id=current.id,
        config_name=current.name,
        challenger_id=challenger.id,
        challenger_name=challenger.name,
        challenger_share=body.challenger_share,
        min_calls=body.min_calls,
        max_error_rate_increase=body.max_error_rate_increase,
        max_p95_increase=body.max_p95_increase,
        created_by=user.id,
    )
    name = current.name  # the rollback below would expire it
    session.add(experiment)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ConflictError(
            f"{name!r} already has a running experiment: stop it first.",
            error_type="experiment_running",
        ) from exc
    await session.refresh(experiment)
    return experiment


async def get_experiment(session: AsyncSession, experiment_id: int) -> Experiment:
    """The experiment; 404 when there is none with that id."""
    experiment = await session.get(Experiment, experiment_id)
    if experiment is None:
        raise NotFoundError(f"There is no experiment with id {experiment_id}.")
    return experiment


async def list_experiments(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[Experiment], int]:
    """Experiments, running first, then newest first."""
    total = (await session.exec(select(func.count()).select_from(Experiment))).one()
    rows = await session.exec(
        select(Experiment)
        .order_by(
            case((col(Experiment.status) == ExperimentStatus.RUNNING, 0), else_=1),
            col(Experiment.started_at).desc(),
            col(Experiment.id).desc(),
        )
        .limit(limit)
        .offset(offset)
    )
    return rows.all(), total


async def _variant(
    session: AsyncSession, config_id: int | None, name: str, start: datetime, end: datetime | None
) -> VariantResults:
    # The roll-ups the Usage page reads: a few rows per hour or minute whatever the traffic,
    # so a long experiment costs the periodic check little. They count whole minutes: the
    # minute the experiment started is counted whole.
    usage = Usage()
    if config_id is not None:
        first, last = minute_range(start, end or utcnow())
        usage = (await usage_breakdown(session, UsageFilter(first, last, config_id))).total
    stats = usage.stats()
    return VariantResults(
        config_name=name,
        calls=stats.requests,
        failures=stats.errors,
        failure_rate=stats.error_rate,
        p95_ms=stats.p95,
        tokens_in=stats.tokens_in,
        tokens_out=stats.tokens_out,
    )


def _percent(rate: float) -> str:
    return f"{rate * 100:.0f}%" if rate == 0 or rate >= 0.01 else f"{rate * 100:.1f}%"


def _calls(count: int) -> str:
    return "1 call" if count == 1 else f"{count} calls"


def _summary(experiment: Experiment, current: VariantResults, challenger: VariantResults) -> str:
    if current.calls == 0 and challenger.calls == 0:
        return "No calls yet."
    parts = [
        f"{experiment.challenger_name} answered {_calls(challenger.calls)} and failed "
        f"{_percent(challenger.failure_rate)} of them; {experiment.config_name} answered "
        f"{_calls(current.calls)} and failed {_percent(current.failure_rate)}."
    ]
    if challenger.p95_ms is not None and current.p95_ms is not None:
        parts.append(
            f"95% of answers took at most {challenger.p95_ms} ms with "
            f"{experiment.challenger_name}, {current.p95_ms} ms with {experiment.config_name}."
        )
    fewest = min(current.calls, challenger.calls)
    if experiment.status is ExperimentStatus.RUNNING and fewest < experiment.min_calls:
        parts.append(
            f"Too early to tell: each side needs {experiment.min_calls} calls before the "
            "automatic stop can act."
        )
    return " ".join(parts)


async def live_results(session: AsyncSession, experiment: Experiment) -> ExperimentResults:
    """Both sides' calls since the experiment started (until it stopped)."""
    current = await _variant(
        session,
        experiment.config_id,
        experiment.config_name,
        experiment.started_at,
        experiment.stopped_at,
    )
    challenger = await _variant(
        session,
        experiment.challenger_id,
        experiment.challenger_name,
        experiment.started_at,
        experiment.stopped_at,
    )
    return ExperimentResults(
        current=current, challenger=challenger, summary=_summary(experiment, current, challenger)
    )


async def present(session: AsyncSession, experiment: Experiment) -> ExperimentRead:
    """The experiment with its results: kept ones once stopped, live ones while it runs."""
    if experiment.final_results is not None:
        results = ExperimentResults.model_validate(experiment.final_results)
    else:
        results = await live_results(session, experiment)
    return ExperimentRead.model_validate({**experiment.model_dump(), "results": results})


def regression(experiment: Experiment, results: ExperimentResults) -> str | None:
    """Why the automatic stop applies, in plain words, or None."""
    current, challenger = results.current, results.challenger
    if min(current.calls, challenger.calls) < experiment.min_calls:
        return None
    worse_by = challenger.failure_rate - current.failure_rate
    if worse_by > experiment.max_error_rate_increase:
        return (
            f"Stopped automatically: {experiment.challenger_name} failed "
            f"{_percent(challenger.failure_rate)} of its calls against "
            f"{_percent(current.failure_rate)} for {experiment.config_name}, more than the "
            f"{_percent(experiment.max_error_rate_increase)} allowed."
        )
    if (
        challenger.p95_ms is not None
        and current.p95_ms is not None
        and challenger.p95_ms > current.p95_ms * (1 + experiment.max_p95_increase)
    ):
        return (
            f"Stopped automatically: 95% of {experiment.challenger_name}'s answers took up "
            f"to {challenger.p95_ms} ms against {current.p95_ms} ms for "
            f"{experiment.config_name}, more than the "
            f"{_percent(experiment.max_p95_increase)} slower allowed."
        )
    return None


async def stop_experiment(
    session: AsyncSession, experiment: Experiment, reason: str, *, automatically: bool
) -> Experiment:
    """Stop it and keep its results; 409 when it is already stopped."""
    stopped_at = utcnow()
    experiment.stopped_at = stopped_at
    results = await live_results(session, experiment)
    ended = await session.exec(
        update(Experiment)
        .where(
            col(Experiment.id) == experiment.id,
            col(Experiment.status) == ExperimentStatus.RUNNING,
        )
        .values(
            status=ExperimentStatus.STOPPED,
            stopped_at=stopped_at,
            stop_reason=reason,
            stopped_automatically=automatically,
            final_results=results.model_dump(mode="json"),
        )
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if ended.rowcount == 0:
        await session.refresh(experiment)
        raise ConflictError(
            f"The experiment {experiment.name!r} is already stopped.",
            error_type="experiment_stopped",
        )
    await session.refresh(experiment)
    return experiment


async def apply_automatic_stop(database: Database) -> list[int]:
    """Stop every running experiment whose challenger regressed; the ids stopped."""
    stopped: list[int] = []
    async with database.session() as session:
        rows = await session.exec(
            select(Experiment).where(col(Experiment.status) == ExperimentStatus.RUNNING)
        )
        for experiment in rows.all():
            reason = regression(experiment, await live_results(session, experiment))
            if reason is None:
                continue
            try:
                await stop_experiment(session, experiment, reason, automatically=True)
            except ConflictError:
                continue  # another process stopped it first
            logger.warning("experiment {} stopped: {}", experiment.id, reason)
            stopped.append(experiment.id or 0)
    return stopped
