"""``ToolDeps``: the stores every tool reads, built lazily once and shared.

Each store is built on first use (profiles and the product index are cached on disk under
``config.cache_dir``, keyed by the data version), so a CLI call that needs only the
catalog never builds customer profiles. Each store has its own lock, so a request for a
profile never waits for the product index being built; ``start_products`` builds the index's
vectors on a background thread (searches wait for them, nothing else does) and ``readiness``
says what is still being built. The agent side builds it from its settings
(``ToolDeps(settings.tool_config())``); tools read what they need through a protocol of their
own room (``CustomerDeps``, ``CampaignDeps``...), so no room imports this module.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Literal, TypeVar

from pydantic import BaseModel

from tools.config import ToolConfig
from tools.shop.store import ShopData, load_shop

if TYPE_CHECKING:
    from tools.campaigns.uplift import UpliftModel
    from tools.catalog.embeddings import MiniLMEmbedder
    from tools.catalog.search import ProductIndex
    from tools.copy.rewrite import Rewriter
    from tools.customers.profiles import ProfileStore
    from tools.recommend.recommender import Recommender

T = TypeVar("T")

#: The stores that take time to build on a fresh state directory, in the order they are warmed.
StoreName = Literal["shop", "profiles", "products", "recommender", "uplift"]


class StoreState(BaseModel):
    """How far one store is: not started, building (with progress when known) or ready."""

    name: StoreName
    state: Literal["waiting", "building", "ready"]
    done: int = 0
    total: int = 0

    @property
    def percent(self) -> int | None:
        """Progress in percent, when the store reports it."""
        return round(100 * self.done / self.total) if self.total else None


class ToolDeps:
    """Lazily built, thread-safe access to the shop and its derived stores."""

    def __init__(self, config: ToolConfig, shop: ShopData | None = None) -> None:
        self.config = config
        self._lock = threading.RLock()  # guards the per-store locks and reloads
        self._locks: defaultdict[str, threading.RLock] = defaultdict(threading.RLock)
        self._building: set[str] = set()
        #: Optional model rewriter for draft copy (kept only when the guard passes).
        self.copy_rewriter: Rewriter | None = None
        if shop is not None:
            self.__dict__["shop"] = shop

    @cached_property
    def shop(self) -> ShopData:
        """The validated shop data."""
        return self._build("shop", lambda: load_shop(self.config.data_dir))

    @cached_property
    def profiles(self) -> ProfileStore:
        """Customer profiles (RFM, segments, churn), cached per data version."""
        from tools.customers.profiles import load_profile_store

        return self._build("profiles",
                           lambda: load_profile_store(self.shop, self.config.cache_dir))

    @cached_property
    def embedder(self) -> MiniLMEmbedder:
        """The offline MiniLM embedding function."""
        from tools.catalog.embeddings import load_embedder

        return self._build("embedder", load_embedder)

    @cached_property
    def products(self) -> ProductIndex:
        """The hybrid (vector + lexical) product index."""
        from tools.catalog.search import load_product_index

        return self._build(
            "products", lambda: load_product_index(self.shop, self.config, self.embedder)
        )

    @cached_property
    def recommender(self) -> Recommender:
        """The hybrid recommender."""
        from tools.recommend.recommender import load_recommender

        return self._build("recommender", lambda: load_recommender(self.shop, self.profiles))

    def _build(self, name: str, make: Callable[[], T]) -> T:
        """Build one store once, under its own lock (another store's build never blocks it)."""
        with self._lock:
            lock = self._locks[name]
        with lock:
            if name in self.__dict__:  # built by another thread while this one waited
                built: T = self.__dict__[name]
                return built
            self._building.add(name)
            try:
                value = make()
                self.__dict__[name] = value  # before the lock is let go: built exactly once
                return value
            finally:
                self._building.discard(name)

    def start_products(self) -> None:
        """Open the product index now and embed its products on a background thread.

        Searches wait for the vectors (with progress in ``readiness``); profiles, segments,
        plans and drafts do not. Does nothing when the index is already open.
        """
        from tools.catalog.search import load_product_index

        def make() -> ProductIndex:
            return load_product_index(self.shop, self.config, self.embedder, background=True)

        self._build("products", make)

    def readiness(self) -> list[StoreState]:
        """Where each slow store is: waiting, building (the index with progress) or ready."""
        out: list[StoreState] = []
        names: tuple[StoreName, ...] = ("shop", "profiles", "products", "recommender", "uplift")
        for name in names:
            state: Literal["waiting", "building", "ready"] = "waiting"
            done = total = 0
            if name in self._building:
                state = "building"
            elif name in self.__dict__:
                state = "ready"
                if name == "products":
                    index = self.__dict__["products"]
                    done, total = index.sync_progress
                    if index.syncing:
                        state = "building"
            out.append(StoreState(name=name, state=state, done=done, total=total))
        return out

    def reload_shop(self) -> None:
        """Reload after the campaigns or exposures were written (a read-out joined the shop).

        The shop, profiles, recommender and uplift model are rebuilt on next use; the product
        index stays (it is built from the products table alone, which did not change).
        """
        with self._lock:
            for name in ("shop", "profiles", "recommender", "uplift"):
                self.__dict__.pop(name, None)

    @cached_property
    def uplift(self) -> UpliftModel:
        """Uplift estimates from past randomised campaigns."""
        from tools.campaigns.uplift import load_uplift_model

        return self._build("uplift", lambda: load_uplift_model(self.shop, self.profiles))
