"""A running default product under faults: it answers with the right status, and recovers.

Everything runs against the product on loopback (tests/running_product.py), with a fixed number
of clients for a fixed time; every load stops by itself. The tests run in file order: the login
flood is last, because the per-client sign-in throttling it may set off would refuse the
sign-ins of later tests from the same address.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from .running_product import API, Product, create_user, login, running_product

pytestmark = pytest.mark.slow

LOADER = "loader"
BODY_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Accounts:
    admin_token: str
    loader_password: str


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    with running_product(tmp_path_factory.mktemp("faults"), "faults") as running:
        yield running


@pytest.fixture(scope="module")
def accounts(product: Product) -> Accounts:
    """Signed in once, before any test can set off the sign-in throttling."""
    admin_token = login(product, product.admin_username, product.admin_password)
    return Accounts(admin_token, create_user(product, admin_token, LOADER, "configurator"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def documented_methods(product: Product, path: str) -> set[str]:
    schema = httpx.get(product.url("/openapi.json"), timeout=30).json()
    return {method.upper() for method in schema["paths"][path]}


# --- 7. OPTIONS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "template"),
    [
        (f"{API}/agent-configs", f"{API}/agent-configs"),
        (f"{API}/agent-configs/1", f"{API}/agent-configs/{{config_id}}"),
        (f"{API}/users", f"{API}/users"),
    ],
)
def test_options_lists_the_methods_of_the_path_in_allow(
    product: Product, accounts: Accounts, path: str, template: str
) -> None:
    response = httpx.options(product.url(path), headers=bearer(accounts.admin_token), timeout=30)
    print(f"OPTIONS {path}: {response.status_code}, Allow: {response.headers.get('allow')}")
    assert response.status_code in (200, 204, 405), response.text
    assert "allow" in response.headers, dict(response.headers)
    allowed = {method.strip().upper() for method in response.headers["allow"].split(",")}
    missing = documented_methods(product, template) - allowed
    assert not missing, f"Allow: {response.headers['allow']} misses {sorted(missing)}"


# --- 8. Headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["json", "token"])
def test_api_responses_are_neither_sniffed_nor_cached(
    product: Product, accounts: Accounts, kind: str
) -> None:
    if kind == "json":
        response = httpx.get(
            product.url(f"{API}/agent-configs"), headers=bearer(accounts.admin_token), timeout=30
        )
    else:
        response = httpx.post(
            product.url(f"{API}/auth/login"),
            data={"username": LOADER, "password": accounts.loader_password},
            timeout=30,
        )
    assert response.status_code == 200, response.text
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "x-request-id")}
    print(f"{kind} response headers: {headers}")
    assert response.headers.get("x-content-type-options") == "nosniff", headers
    directives = {d.strip() for d in response.headers.get("cache-control", "").split(",")}
    assert "no-store" in directives, headers


# --- 6. Integers out of range ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/agent-configs/2147483648",
        f"{API}/agent-configs?offset=9223372036854775808",
        f"{API}/users/2147483648",
        f"{API}/tickets?offset=9223372036854775808",
    ],
)
def test_integers_out_of_range_are_422(product: Product, accounts: Accounts, path: str) -> None:
    response = httpx.get(product.url(path), headers=bearer(accounts.admin_token), timeout=30)
    print(f"GET {path}: {response.status_code} {response.text[:300]}")
    assert response.status_code == 422, response.text


# --- 5. NUL bytes ----------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["login-form", "search-query", "ticket-json", "config-json"])
def test_nul_bytes_are_a_client_error(product: Product, accounts: Accounts, where: str) -> None:
    headers = bearer(accounts.admin_token)
    with httpx.Client(base_url=product.base_url, timeout=30) as client:
        if where == "login-form":
            # Sent as username=ad%00min
            response = client.post(
                f"{API}/auth/login", data={"username": "ad\x00min", "password": "not-it-1"}
            )
        elif where == "search-query":
            response = client.get(
                f"{API}/agent-configs", params={"search": "abc\x00def"}, headers=headers
            )
        elif where == "ticket-json":
            response = client.post(
                f"{API}/tickets", json={"subject": "a\x00b", "body": "text"}, headers=headers
            )
        else:
            response = client.post(
                f"{API}/agent-configs",
                json={"name": "nul-check", "app_key": "app-nul", "description": "a\x00b"},
                headers=headers,
            )
    print(f"NUL in {where}: {response.status_code} {response.text[:300]}")
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json(), response.text


# --- 4. A 20 MB body -------------------------------------------------------------------------


@dataclass
class BigBodyOutcome:
    status: int | None
    head: str
    sent: int
    finished_sending: bool
    seconds: float


def post_big_body(
    product: Product, path: str, headers: dict[str, str], chunked: bool
) -> BigBodyOutcome:
    """POST 20 MB in 64 KB pieces, watching for an answer before each piece.

    Stops sending as soon as an answer starts (or the server stops reading for 2 s); returns
    the status, how much was sent by then, and the time from the end of the headers to the
    first byte of the answer.
    """
    port = int(product.base_url.rsplit(":", 1)[1])
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BODY_BYTES}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + f"{framing}\r\nConnection: close\r\n\r\n"
    )
    piece = b"a" * 65536
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    answer = b""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        started = time.monotonic()
        answered_at = None
        sock.settimeout(2)
        try:
            while sent < BODY_BYTES:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(frame)
                sent += len(piece)
            if sent >= BODY_BYTES and chunked:
                sock.sendall(b"0\r\n\r\n")
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: what matters is whether it answered
        sock.settimeout(5)
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if answered_at is None:
                    answered_at = time.monotonic()
                if not data:
                    break
                answer += data
        except (TimeoutError, ConnectionResetError):
            pass
    seconds = (answered_at or time.monotonic()) - started
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = status_line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    head_text = answer.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
    return BigBodyOutcome(status, head_text, sent, sent >= BODY_BYTES, seconds)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("target", ["login-form", "config-json"])
def test_a_20_mb_body_gets_413_before_it_is_read(
    product: Product, accounts: Accounts, target: str, framing: str
) -> None:
    if target == "login-form":
        path, headers = f"{API}/auth/login", {"Content-Type": "application/x-www-form-urlencoded"}
    else:
        path = f"{API}/agent-configs"
        headers = {"Content-Type": "application/json", **bearer(accounts.admin_token)}
    outcome = post_big_body(product, path, headers, chunked=framing == "chunked")
    print(
        f"20 MB to {path} ({framing}): {outcome.status} after {outcome.seconds:.3f} s, "
        f"{outcome.sent / 1e6:.1f} MB sent by then"
    )
    assert outcome.status == 413, f"answer: {outcome.head!r}"
    assert not outcome.finished_sending, "the server read all 20 MB before answering"
    assert outcome.seconds < 1.5, f"413 only after {outcome.seconds:.2f} s"


# --- 1. Database connections killed under load -----------------------------------------------


@dataclass
class LoadResult:
    statuses: Counter[int]
    without_retry_after: Counter[int]
    transport_errors: Counter[str]
    requests: int


async def authenticated_load(
    product: Product, token: str, seconds: float, clients: int = 16
) -> LoadResult:
    """`clients` loops of reads and some writes (1 in 4) for `seconds`."""
    statuses: Counter[int] = Counter()
    without_retry_after: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=product.base_url, headers=bearer(token), timeout=20, limits=limits
    ) as client:

        async def loop(number: int) -> None:
            step = 0
            while time.monotonic() < deadline:
                step += 1
                try:
                    if step % 4 == 0:
                        name = f"load-{number}-{uuid.uuid4().hex[:10]}"
                        response = await client.post(
                            f"{API}/agent-configs", json={"name": name, "app_key": "app-load"}
                        )
                    elif step % 2:
                        response = await client.get(f"{API}/agent-configs")
                    else:
                        response = await client.get(f"{API}/auth/me")
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                statuses[response.status_code] += 1
                if response.status_code in (429, 503) and "retry-after" not in response.headers:
                    without_retry_after[response.status_code] += 1

        await asyncio.gather(*(loop(number) for number in range(clients)))
    total = sum(statuses.values()) + sum(errors.values())
    return LoadResult(statuses, without_retry_after, errors, total)


async def terminate_connections(product: Product, start_after: float, seconds: float) -> int:
    """Kill every connection to the product's database every 0.25 s; returns how many died."""
    await asyncio.sleep(start_after)
    killed = 0
    connection = await asyncpg.connect(product.server_dsn, timeout=10)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rows = await connection.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                product.database,
            )
            killed += sum(1 for row in rows if row[0])
            await asyncio.sleep(0.25)
    finally:
        await connection.close()
    return killed


async def first_success_after(product: Product, token: str, seconds: float) -> float | None:
    """Seconds until an authenticated read answers 200 (None: not within `seconds`)."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=product.base_url, headers=bearer(token)) as client:
        while time.monotonic() - started < seconds:
            try:
                response = await client.get(f"{API}/agent-configs", timeout=5)
                if response.status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    return None


async def steady(product: Product, token: str, count: int = 20) -> Counter[int]:
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(
        base_url=product.base_url, headers=bearer(token), timeout=10
    ) as client:
        for number in range(count):
            if number % 4 == 0:
                name = f"after-{uuid.uuid4().hex[:10]}"
                response = await client.post(
                    f"{API}/agent-configs", json={"name": name, "app_key": "app-after"}
                )
            else:
                response = await client.get(f"{API}/agent-configs")
            statuses[response.status_code] += 1
    return statuses


def test_killing_database_connections_under_load_gives_503_and_recovers(
    product: Product, accounts: Accounts
) -> None:
    async def scenario() -> tuple[LoadResult, int, float | None, Counter[int]]:
        load, killed = await asyncio.gather(
            authenticated_load(product, accounts.admin_token, seconds=12),
            terminate_connections(product, start_after=1, seconds=10),
        )
        recovered = await first_success_after(product, accounts.admin_token, seconds=5)
        after = await steady(product, accounts.admin_token)
        return load, killed, recovered, after

    load, killed, recovered, after = asyncio.run(scenario())
    print(
        f"16 clients for 12 s, connections killed every 0.25 s for 10 s: {load.requests} "
        f"requests, statuses {dict(load.statuses)}, transport errors {dict(load.transport_errors)}"
        f", {killed} connections killed; first 200 after the kills: {recovered} s; then "
        f"{dict(after)}; load average {os.getloadavg()}"
    )
    assert killed > 0, "the harness killed no connection: nothing was tested"
    server_errors = {s: n for s, n in load.statuses.items() if s >= 500 and s != 503}
    assert not server_errors, f"server errors other than 503: {server_errors}"
    assert not load.without_retry_after, f"503s without Retry-After: {load.without_retry_after}"
    unexpected = {s: n for s, n in load.statuses.items() if s not in (200, 201, 503)}
    assert not unexpected, f"statuses that no database failure explains: {unexpected}"
    assert not load.transport_errors, f"requests left unanswered: {load.transport_errors}"
    assert recovered is not None, "no successful read within 5 s of the last kill"
    assert set(after) <= {200, 201}, f"after recovery: {dict(after)}"


# --- 2. Pool exhaustion ----------------------------------------------------------------------


def test_64_concurrent_sign_ins_get_no_500_and_recover(
    product: Product, accounts: Accounts
) -> None:
    async def burst() -> tuple[Counter[int], Counter[int], Counter[str], list[float], int]:
        statuses: Counter[int] = Counter()
        without_retry_after: Counter[int] = Counter()
        errors: Counter[str] = Counter()
        seconds: list[float] = []
        retry_after = 0
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(
            base_url=product.base_url, timeout=60, limits=limits
        ) as client:

            async def sign_in() -> None:
                nonlocal retry_after
                started = time.monotonic()
                try:
                    response = await client.post(
                        f"{API}/auth/login",
                        data={"username": LOADER, "password": accounts.loader_password},
                    )
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    return
                seconds.append(time.monotonic() - started)
                statuses[response.status_code] += 1
                if response.status_code in (429, 503):
                    value = response.headers.get("retry-after")
                    if value is None:
                        without_retry_after[response.status_code] += 1
                    elif value.isdigit():
                        retry_after = max(retry_after, int(value))

            await asyncio.gather(*(sign_in() for _ in range(64)))
        return statuses, without_retry_after, errors, seconds, retry_after

    statuses, without_retry_after, errors, seconds, retry_after = asyncio.run(burst())
    quantiles = statistics.quantiles(seconds, n=10) if len(seconds) > 1 else seconds
    print(
        f"64 concurrent sign-ins: {dict(statuses)}, transport errors {dict(errors)}; "
        f"p50 {statistics.median(seconds) if seconds else 0:.2f} s, p90 {quantiles[-1]:.2f} s, "
        f"max {max(seconds, default=0):.2f} s; largest Retry-After {retry_after} s"
    )
    assert 500 not in statuses, f"500s: {dict(statuses)}"
    assert set(statuses) <= {200, 429, 503}, f"unexpected statuses: {dict(statuses)}"
    assert not without_retry_after, f"429/503 without Retry-After: {dict(without_retry_after)}"
    assert not errors, f"sign-ins left unanswered: {dict(errors)}"
    recovered = asyncio.run(first_success_after(product, accounts.admin_token, seconds=5))
    assert recovered is not None, "no successful read within 5 s of the burst"
    # The throttling may hold sign-ins back for as long as it said; not longer (capped at 60 s).
    wait = min(retry_after, 60)
    time.sleep(wait)
    deadline = time.monotonic() + 5
    answer = None
    while time.monotonic() < deadline:
        answer = httpx.post(
            product.url(f"{API}/auth/login"),
            data={"username": LOADER, "password": accounts.loader_password},
            timeout=30,
        )
        if answer.status_code == 200:
            break
        time.sleep(0.5)
    assert answer is not None
    assert answer.status_code == 200, f"sign-in {wait + 5} s after the burst: {answer.text}"


# --- 3. Login flood --------------------------------------------------------------------------

# Run as a separate process, so its work never delays the measuring client's event loop.
FLOOD = r"""
import asyncio, collections, json, signal, sys, time, uuid
import httpx

base, loops, pause, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
statuses, missing_retry_after = collections.Counter(), collections.Counter()
errors = collections.Counter()
stop = asyncio.Event()

async def loop(client):
    while not stop.is_set():
        form = {"username": f"nobody-{uuid.uuid4().hex[:12]}", "password": "wrong-password-1"}
        try:
            response = await client.post("/api/v1/auth/login", data=form)
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] += 1
        else:
            statuses[response.status_code] += 1
            if response.status_code in (429, 503) and "retry-after" not in response.headers:
                missing_retry_after[response.status_code] += 1
        await asyncio.sleep(pause)

async def main():
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    asyncio.get_running_loop().call_later(limit, stop.set)
    limits = httpx.Limits(max_connections=loops, max_keepalive_connections=loops)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        print("flooding", flush=True)
        await asyncio.gather(*(loop(client) for _ in range(loops)))
    print(json.dumps({"statuses": statuses, "missing_retry_after": missing_retry_after,
                      "errors": errors}), flush=True)

asyncio.run(main())
"""


@dataclass
class Latency:
    p50: float
    p90: float
    mean: float
    worst: float

    def __str__(self) -> str:
        return (
            f"p50 {self.p50 * 1000:.1f} ms, p90 {self.p90 * 1000:.1f} ms, "
            f"mean {self.mean * 1000:.1f} ms, max {self.worst * 1000:.1f} ms"
        )


async def read_latency(
    product: Product, token: str, count: int = 40, budget_s: float = 45
) -> Latency:
    """`count` sequential GET /agent-configs (after one warm-up), or as many as fit in
    `budget_s`; fails on anything but 200."""
    samples: list[float] = []
    deadline = time.monotonic() + budget_s
    async with httpx.AsyncClient(
        base_url=product.base_url, headers=bearer(token), timeout=30
    ) as client:
        await client.get(f"{API}/agent-configs")
        for _ in range(count):
            if time.monotonic() > deadline:
                print(f"(only {len(samples)} reads within the {budget_s:.0f} s budget)")
                break
            started = time.perf_counter()
            response = await client.get(f"{API}/agent-configs")
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    ordered = sorted(samples)
    return Latency(
        p50=statistics.median(ordered),
        p90=ordered[max(0, int(len(ordered) * 0.9) - 1)],
        mean=statistics.fmean(ordered),
        worst=ordered[-1],
    )


def test_a_login_flood_leaves_reads_fast(product: Product, accounts: Accounts) -> None:
    before = asyncio.run(read_latency(product, accounts.admin_token))
    # 16 loops of sign-ins for unknown users, each pausing 0.2 s after an answer: a
    # hash-per-attempt server is saturated by far fewer; a throttled one hardly notices.
    flood = subprocess.Popen(
        [sys.executable, "-c", FLOOD, product.base_url, "16", "0.2", "90"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert flood.stdout is not None
        assert flood.stdout.readline().strip() == "flooding", flood.stderr
        time.sleep(2)  # the loops are all in flight, and the throttling (if any) has kicked in
        load_during = os.getloadavg()
        during = asyncio.run(read_latency(product, accounts.admin_token))
    finally:
        if flood.poll() is None:
            flood.send_signal(signal.SIGTERM)
        output, problems = flood.communicate(timeout=60)
    report = json.loads(output.strip().splitlines()[-1]) if output.strip() else {}
    print(
        f"GET /agent-configs, 40 sequential: before {before}; during 16 login loops {during}; "
        f"ratio p50 {during.p50 / before.p50:.1f}x, mean {during.mean / before.mean:.1f}x; "
        f"load average {load_during} during, {os.getloadavg()} now; flood answers {report}"
    )
    assert report, f"the flood process printed nothing: {problems[-2000:]}"
    flood_statuses = {int(status): n for status, n in report["statuses"].items()}
    assert set(flood_statuses) <= {401, 429}, f"sign-ins of unknown users got {flood_statuses}"
    assert not report["missing_retry_after"], f"429s without Retry-After: {report}"
    assert during.p50 <= 3 * before.p50, f"p50 {before.p50:.4f} s -> {during.p50:.4f} s"
    # The median alone misses a server that serves reads and sign-ins first come, first served:
    # half the reads slip in between, the other half wait behind the queue of hashes.
    assert during.mean <= 3 * before.mean, f"mean {before.mean:.4f} s -> {during.mean:.4f} s"
