"""``ToolDeps``: the stores every tool reads, built lazily once and shared.

Each store is built on first use (profiles and the product index are cached on disk under
``settings.cache_dir``, keyed by the data version), so a CLI call that needs only the
catalog never builds customer profiles.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from tools.store import ShopData, load_shop

if TYPE_CHECKING:
    from agent.settings import Settings
    from tools.campaigns import UpliftModel
    from tools.embeddings import MiniLMEmbedder
    from tools.products import ProductIndex
    from tools.profiles import ProfileStore
    from tools.recommend import Recommender
    from tools.rewrite import Rewriter


class ToolDeps:
    """Lazily built, thread-safe access to the shop and its derived stores."""

    def __init__(self, settings: Settings, shop: ShopData | None = None) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        #: Optional model rewriter for draft copy (kept only when the guard passes).
        self.copy_rewriter: Rewriter | None = None
        if shop is not None:
            self.__dict__["shop"] = shop

    @cached_property
    def shop(self) -> ShopData:
        """The validated shop data."""
        with self._lock:
            return load_shop(self.settings.data_dir)

    @cached_property
    def profiles(self) -> ProfileStore:
        """Customer profiles (RFM, segments, churn), cached per data version."""
        from tools.profiles import load_profile_store

        with self._lock:
            return load_profile_store(self.shop, self.settings.cache_dir)

    @cached_property
    def embedder(self) -> MiniLMEmbedder:
        """The offline MiniLM embedding function."""
        from tools.embeddings import load_embedder

        with self._lock:
            return load_embedder()

    @cached_property
    def products(self) -> ProductIndex:
        """The hybrid (vector + lexical) product index."""
        from tools.products import load_product_index

        with self._lock:
            return load_product_index(self.shop, self.settings, self.embedder)

    @cached_property
    def recommender(self) -> Recommender:
        """The hybrid recommender."""
        from tools.recommend import load_recommender

        with self._lock:
            return load_recommender(self.shop, self.profiles)

    @cached_property
    def uplift(self) -> UpliftModel:
        """Uplift estimates from past randomised campaigns."""
        from tools.campaigns import load_uplift_model

        with self._lock:
            return load_uplift_model(self.shop, self.profiles)
