"""``ToolDeps``: the stores every tool reads, built lazily once and shared.

Each store is built on first use (profiles and the product index are cached on disk under
``config.cache_dir``, keyed by the data version), so a CLI call that needs only the
catalog never builds customer profiles. The agent side builds it from its settings
(``ToolDeps(settings.tool_config())``); tools read what they need through a protocol of their
own room (``CustomerDeps``, ``CampaignDeps``...), so no room imports this module.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from tools.config import ToolConfig
from tools.shop.store import ShopData, load_shop

if TYPE_CHECKING:
    from tools.campaigns.uplift import UpliftModel
    from tools.catalog.embeddings import MiniLMEmbedder
    from tools.catalog.search import ProductIndex
    from tools.copy.rewrite import Rewriter
    from tools.customers.profiles import ProfileStore
    from tools.recommend.recommender import Recommender


class ToolDeps:
    """Lazily built, thread-safe access to the shop and its derived stores."""

    def __init__(self, config: ToolConfig, shop: ShopData | None = None) -> None:
        self.config = config
        self._lock = threading.RLock()
        #: Optional model rewriter for draft copy (kept only when the guard passes).
        self.copy_rewriter: Rewriter | None = None
        if shop is not None:
            self.__dict__["shop"] = shop

    @cached_property
    def shop(self) -> ShopData:
        """The validated shop data."""
        with self._lock:
            return load_shop(self.config.data_dir)

    @cached_property
    def profiles(self) -> ProfileStore:
        """Customer profiles (RFM, segments, churn), cached per data version."""
        from tools.customers.profiles import load_profile_store

        with self._lock:
            return load_profile_store(self.shop, self.config.cache_dir)

    @cached_property
    def embedder(self) -> MiniLMEmbedder:
        """The offline MiniLM embedding function."""
        from tools.catalog.embeddings import load_embedder

        with self._lock:
            return load_embedder()

    @cached_property
    def products(self) -> ProductIndex:
        """The hybrid (vector + lexical) product index."""
        from tools.catalog.search import load_product_index

        with self._lock:
            return load_product_index(self.shop, self.config, self.embedder)

    @cached_property
    def recommender(self) -> Recommender:
        """The hybrid recommender."""
        from tools.recommend.recommender import load_recommender

        with self._lock:
            return load_recommender(self.shop, self.profiles)

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

        with self._lock:
            return load_uplift_model(self.shop, self.profiles)
