"""`python -m projections` serves the dashboard and runs the projector; `rebuild` replays from offset 0."""

import argparse
import asyncio
import logging
import sys

import uvicorn

from projections.bootstrap import build, settings
from projections.runtime import RebuildRefused, rebuild


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m projections")
    parser.add_argument(
        "role",
        nargs="?",
        default="serve",
        choices=("serve", "rebuild"),
        help="serve: HTTP API and projector (default); rebuild: drop the read models and replay every topic",
    )
    role = parser.parse_args().role
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = settings()
    if role == "rebuild":
        try:
            ends = asyncio.run(rebuild(config))
        except RebuildRefused as exc:
            print(f"再構築できません / cannot rebuild: {exc}", file=sys.stderr)
            return 2
        print(f"再構築しました / rebuilt up to {sum(ends.values())} messages across {len(ends)} partitions")
        return 0
    _, app = build(config)
    uvicorn.run(app, host=config.host, port=config.port, log_level="warning")
    return 0


sys.exit(main())
