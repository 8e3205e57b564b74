"""``python -m agent data warm``: build the slow stores into the state directory ahead of use.

``make warm`` runs it (and ``make run`` can then start with everything cached): the customer
profiles, the recommender, the uplift model and the product index (MiniLM embeddings of the
catalog in Chroma, with a progress bar). What is already built and up to date is only opened,
so running it again costs a few seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from agent.cli.common import print_json, run_guarded


def register(groups: dict[str, Any]) -> None:
    """Add ``data warm`` to the ``data`` group."""
    parser = groups["data"].add_parser(
        "warm",
        help="build the profiles and the product index into the state directory ahead of use",
        description=(
            "Build what the first requests of the app would otherwise wait for: customer "
            "profiles, recommender, uplift model and the product index of AGENT_DATA_DIR, "
            "cached under AGENT_STATE_DIR. Only what is missing or out of date is built."
        ),
    )
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object (seconds per store) instead")
    parser.set_defaults(func=run_guarded(_run))


def _run(args: argparse.Namespace) -> int:
    from agent.loop.runner import AgentRunner
    from agent.settings import load_settings

    settings = load_settings()
    deps = AgentRunner(settings).deps
    seconds: dict[str, float] = {}
    for name in ("shop", "profiles", "recommender", "uplift"):
        started = time.perf_counter()
        getattr(deps, name)
        seconds[name] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    index = deps.products  # opens the index and embeds what is missing, with a bar on a tty
    seconds["products"] = round(time.perf_counter() - started, 2)
    if args.json:
        print_json({"state_dir": str(settings.state_dir), "products": len(index),
                    "seconds": seconds})
        return 0
    sys.stdout.write(
        f"ready: {len(index):,} products indexed under {settings.state_dir} "
        f"({sum(seconds.values()):.1f} s: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()) + ")\n"
    )
    return 0
