"""Liveness and readiness, including a database that cannot be reached."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from ...app import create_app
from ..settings import Settings


async def test_live(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True


async def test_not_ready_names_the_database_in_plain_words(test_settings: Settings) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    broken = test_settings.model_copy(
        update={"database_url": "postgresql+asyncpg://u:p@127.0.0.1:1/app"}
    )
    app: FastAPI = create_app(broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            response = await http.get("/health/ready")
            live = await http.get("/health/live")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert "refused the connection" in body["checks"]["database"]["detail"]
    assert "127.0.0.1:1" in body["message"]
    assert live.status_code == 200
