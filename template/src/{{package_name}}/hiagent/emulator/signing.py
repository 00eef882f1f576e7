"""Verification of Volcengine SignerV4 signatures, recomputed the way the SDK computes them.

No clock-skew check: tests and local runs must not fail on a slow machine or a frozen clock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

_AUTHORIZATION = re.compile(
    r"HMAC-SHA256 Credential=(?P<ak>[^/]*)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)"
    r"/request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


class SignatureMismatch(Exception):
    """The Authorization header is missing, malformed, or does not match the request."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _canonical_query(query: Iterable[tuple[str, str]]) -> str:
    pairs = sorted(query, key=lambda pair: pair[0])
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def _canonical_header_value(name: str, value: str) -> str:
    # The SDK signs the host without a default port, so "h:443" is signed as "h".
    if name == "host" and value.rpartition(":")[2] in {"80", "443"}:
        return value.rpartition(":")[0]
    return value


def signature_region(authorization: str) -> str | None:
    """The region named in a SignerV4 Authorization header, if it parses."""
    match = _AUTHORIZATION.fullmatch(authorization.strip())
    return match["region"] if match else None


def verify_signature(
    *,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
) -> None:
    """Raise `SignatureMismatch` unless the request was signed with this AK/SK.

    `headers` must be case-insensitive (e.g. Starlette's `Headers`); `body` the raw bytes.
    """
    match = _AUTHORIZATION.fullmatch(headers.get("authorization", "").strip())
    if match is None:
        raise SignatureMismatch("InvalidAuthorization", "malformed Authorization header")
    if match["ak"] != access_key:
        raise SignatureMismatch("InvalidAccessKey", "unknown access key")
    x_date = headers.get("x-date", "")
    if x_date[:8] != match["date"]:
        raise SignatureMismatch("SignatureDoesNotMatch", "X-Date does not match the scope")
    signed_names = match["signed"].split(";")
    missing = [name for name in signed_names if name not in headers]
    if missing:
        raise SignatureMismatch("SignatureDoesNotMatch", f"signed headers missing: {missing}")
    canonical_headers = "".join(
        f"{name}:{_canonical_header_value(name, headers[name])}\n" for name in signed_names
    )
    canonical_request = "\n".join(
        [
            method.upper(),
            quote(path, safe="/"),
            _canonical_query(query),
            canonical_headers,
            match["signed"],
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{match['date']}/{match['region']}/{match['service']}/request"
    string_to_sign = "\n".join(
        ["HMAC-SHA256", x_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = secret_key.encode()
    for part in (match["date"], match["region"], match["service"], "request"):
        key = _hmac(key, part)
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match["signature"]):
        raise SignatureMismatch("SignatureDoesNotMatch", "signature does not match")
