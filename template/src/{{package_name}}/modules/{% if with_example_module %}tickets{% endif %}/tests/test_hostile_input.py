"""Tickets under hostile input: ids and offsets out of range are a 422, never a 500."""

from __future__ import annotations

import httpx
import pytest

TOO_BIG_ID = 2**31  # one past the largest PostgreSQL `integer`


@pytest.mark.parametrize("ticket_id", [TOO_BIG_ID, 2**63, 0, -1])
async def test_ticket_ids_out_of_range_are_422(
    client: httpx.AsyncClient, configurator_headers: dict[str, str], ticket_id: int
) -> None:
    triage = await client.post(f"/api/v1/tickets/{ticket_id}/triage", headers=configurator_headers)
    assert triage.status_code == 422, triage.text
    assert triage.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(("ticket_id", "status"), [(TOO_BIG_ID, 422), (2**63, 422), (0, 404)])
async def test_reading_an_id_no_row_can_have_is_a_4xx(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], ticket_id: int, status: int
) -> None:
    # `read` keeps a plain `int` (products edit this example): the database's refusal of a
    # value it cannot hold is the 422 here, and an id no row has is a 404.
    response = await client.get(f"/api/v1/tickets/{ticket_id}", headers=viewer_headers)
    assert response.status_code == status, response.text


async def test_the_largest_ticket_id_is_a_plain_404(
    client: httpx.AsyncClient, viewer_headers: dict[str, str]
) -> None:
    response = await client.get(f"/api/v1/tickets/{TOO_BIG_ID - 1}", headers=viewer_headers)
    assert response.status_code == 404


@pytest.mark.parametrize("offset", [str(2**63), str(10**9 + 1), "-1"])
async def test_offsets_out_of_range_are_422(
    client: httpx.AsyncClient, viewer_headers: dict[str, str], offset: str
) -> None:
    response = await client.get(
        "/api/v1/tickets", params={"offset": offset}, headers=viewer_headers
    )
    assert response.status_code == 422, response.text
