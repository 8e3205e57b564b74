"""The Ray backend of the batch runner: the same items drafted by Ray workers.

The driver (``agent.batch.runner``) decides the audience, skips, products and offers, and owns
the checkpoint. This module only spreads the items still to draft over Ray actors, one per
CPU of the cluster: each actor builds its own ``ToolDeps`` once, from the settings and the
shop data shipped through Ray's object store (``ray.put``; workers never read the data
directory, so a cluster needs no shared file system), drafts shards of items with
``agent.batch.runner.draft_items`` (so the offline templates or the OpenAI-compatible rewriter,
exactly as the local backend; ``concurrency`` bounds requests in flight per worker), and
returns the outcomes to the driver, which commits each shard to the same checkpoint as it
arrives. The drafts are therefore the same as the local backend's; only the order of
commits differs.

Ray starts quiet and offline: usage statistics off (``RAY_USAGE_STATS_ENABLED=0``), no
dashboard, worker output not forwarded, Ray's own logging at WARNING. Without an address
a private local instance is started (``address="local"``, ``num_cpus`` CPUs) and shut down
afterwards; with ``--ray-address`` the job joins that cluster (``ray://host:10001`` through
Ray Client ships this project's code as the job's working directory; the cluster's Python
needs this project's dependencies installed).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from agent.batch.drafting import draft_items, prepare_deps
from agent.batch.models import ItemOutcome, ItemSpec
from agent.settings import PROJECT_ROOT, Settings
from tools.shop.store import ShopData

logger = logging.getLogger(__name__)

#: CPUs of the private local Ray instance (one worker each).
LOCAL_CPUS = 2
#: Object store of the private local instance (the shop data is a few megabytes).
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024
#: Shards per worker: small shards commit often and balance the load.
SHARDS_PER_WORKER = 8
MAX_SHARD = 256


class DraftWorker:
    """A Ray actor's state: ToolDeps built once, then shards of items drafted on request."""

    def __init__(self, settings: Settings, shop: ShopData) -> None:
        self.deps = prepare_deps(settings, shop)

    def draft(
        self, specs: list[dict[str, Any]], goal: str, concurrency: int, delay_ms: int
    ) -> list[dict[str, Any]]:
        """Draft a shard; the outcomes as JSON-ready dicts."""
        items = [ItemSpec.model_validate(s) for s in specs]
        outcomes = draft_items(self.deps, items, goal, concurrency=concurrency, delay_ms=delay_ms)
        return [o.model_dump(mode="json") for o in outcomes]


def shards(specs: Sequence[ItemSpec], workers: int) -> list[list[ItemSpec]]:
    """Cut the items into shards of equal size (about 8 per worker, at most 256 items)."""
    if not specs:
        return []
    size = max(1, min(MAX_SHARD, math.ceil(len(specs) / (max(1, workers) * SHARDS_PER_WORKER))))
    return [list(specs[i : i + size]) for i in range(0, len(specs), size)]


def _init(ray: Any, address: str | None, num_cpus: int) -> None:
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
    }
    if address in (None, "", "local"):
        # Ray enables token authentication for a new local instance by default and warns
        # that it did on every start; the token stays on, the notice is dropped.
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(
            logging.ERROR
        )
        ray.init(
            address="local",
            num_cpus=num_cpus,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            **options,
        )
        return
    if str(address).startswith("ray://"):
        options["runtime_env"] = {
            "working_dir": str(PROJECT_ROOT),
            "excludes": [".venv", ".state", ".git", "data", "**/__pycache__"],
        }
    ray.init(address=address, **options)


def run_on_ray(
    settings: Settings,
    shop: ShopData,
    specs: Sequence[ItemSpec],
    goal: str,
    *,
    concurrency: int,
    delay_ms: int,
    address: str | None,
    on_outcomes: Callable[[list[ItemOutcome]], None],
    num_cpus: int = LOCAL_CPUS,
) -> None:
    """Draft ``specs`` on Ray workers, handing each finished shard to ``on_outcomes``."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    from ray.util import ActorPool

    started = False
    if not ray.is_initialized():
        try:
            _init(ray, address, num_cpus)
        except BaseException:
            ray.shutdown()  # stop whatever part of a local instance did start
            raise
        started = True
    actors: list[Any] = []
    try:
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        workers = max(1, int(resources.get("CPU", 1)))
        worker_class = ray.remote(num_cpus=1)(DraftWorker)
        shop_ref = ray.put(shop)
        actors = [worker_class.remote(settings, shop_ref) for _ in range(workers)]
        pool = ActorPool(actors)
        parts = shards(specs, workers)
        logger.info("ray: %d items in %d shards over %d workers", len(specs), len(parts), workers)
        payloads = [[s.model_dump(mode="json") for s in part] for part in parts]
        results = pool.map_unordered(
            lambda actor, payload: actor.draft.remote(payload, goal, concurrency, delay_ms),
            payloads,
        )
        for result in results:
            on_outcomes([ItemOutcome.model_validate(r) for r in result])
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()
