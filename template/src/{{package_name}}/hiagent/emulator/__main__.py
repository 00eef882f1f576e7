"""`python -m <package>.hiagent.emulator`: serve the HiAgent emulator in the foreground."""

from __future__ import annotations

import argparse
import logging
import os

from .app import DEFAULT_APP_PREFIX
from .server import DEFAULT_HOST, DEFAULT_PORT, run_emulator


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run the emulator until interrupted."""
    parser = argparse.ArgumentParser(description="Local HiAgent emulator (App API + signed TOP).")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--scenarios", help="JSON file mapping keys to scenarios")
    parser.add_argument("--app-prefix", default=DEFAULT_APP_PREFIX)
    parser.add_argument(
        "--access-key",
        default=os.environ.get("VOLC_ACCESSKEY"),
        help="verify TOP signatures with this AK (default: $VOLC_ACCESSKEY)",
    )
    parser.add_argument(
        "--secret-key",
        default=os.environ.get("VOLC_SECRETKEY"),
        help="verify TOP signatures with this SK (default: $VOLC_SECRETKEY)",
    )
    args = parser.parse_args(argv)
    if (args.access_key is None) != (args.secret_key is None):
        parser.error("give both --access-key and --secret-key, or neither")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run_emulator(
        host=args.host,
        port=args.port,
        scenarios_file=args.scenarios,
        access_key=args.access_key,
        secret_key=args.secret_key,
        app_prefix=args.app_prefix,
    )


if __name__ == "__main__":
    main()
