"""The dashboard menu lists the links modules declare, to the roles they name."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from ....core.plugins import ADMIN_ONLY, DashboardLink, ModuleManifest

MENU = "/api/v1/dashboard/menu"
BILLING = ModuleManifest(
    name="billing",
    dashboard_links=[
        DashboardLink(label="Invoices", path="/invoices"),
        DashboardLink(label="Refunds", path="/refunds", roles=ADMIN_ONLY),
    ],
)


@pytest.fixture
def with_billing(app: FastAPI) -> Iterator[None]:
    """The running app with one more module loaded last, for this test only."""
    loaded = app.state.modules
    app.state.modules = [*loaded, BILLING]
    try:
        yield
    finally:
        app.state.modules = loaded


async def test_admins_see_people_and_viewers_do_not(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    admin = await client.get(MENU, headers=admin_headers)
    assert admin.status_code == 200
    assert {"label": "People", "path": "/users", "module": "users"} in admin.json()
    viewer = await client.get(MENU, headers=viewer_headers)
    assert viewer.status_code == 200
    labels = [link["label"] for link in viewer.json()]
    assert "People" not in labels
    assert "Agents" in labels


@pytest.mark.usefixtures("with_billing")
async def test_a_modules_links_appear_in_module_order_for_the_roles_they_name(
    client: httpx.AsyncClient, admin_headers: dict[str, str], viewer_headers: dict[str, str]
) -> None:
    admin = (await client.get(MENU, headers=admin_headers)).json()
    assert admin[-2:] == [
        {"label": "Invoices", "path": "/invoices", "module": "billing"},
        {"label": "Refunds", "path": "/refunds", "module": "billing"},
    ]
    viewer = (await client.get(MENU, headers=viewer_headers)).json()
    assert viewer[-1] == {"label": "Invoices", "path": "/invoices", "module": "billing"}


async def test_anonymous_callers_are_asked_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get(MENU)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
