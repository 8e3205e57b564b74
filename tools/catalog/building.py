"""Keeping a product vector store in step with its catalog, in the foreground or background.

``VectorSync.sync`` brings the store up to date (``VectorStore.sync``: only new or changed
products are embedded), with a tqdm progress bar when asked. ``start`` runs the same on a
background thread, so an import or an app start does not block on embedding a large
catalog; ``wait`` blocks until it is done, showing the bar to the caller that waits, and
re-raises whatever the background run raised.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from tools.catalog.vectors import SyncReport, VectorStore

#: What a sync needs of the catalog: product ids, embedded texts, metadata (same order).
SyncInputs = tuple[list[str], list[str], list[dict[str, Any]]]


class VectorSync:
    """Syncs one ``VectorStore`` from a catalog, once at a time."""

    def __init__(self, store: VectorStore, inputs: Callable[[], SyncInputs]) -> None:
        """Remember the store and how to read the catalog.

        Args:
            store: The vector store to keep up to date.
            inputs: Returns the catalog's ids, embedded texts and metadata.
        """
        self.store = store
        self._inputs = inputs
        self.last: SyncReport | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._progress = (0, 0)

    def _on_progress(self, done: int, total: int) -> None:
        self._progress = (done, total)

    def sync(self, progress: bool | None = False) -> SyncReport:
        """Bring the store up to date now.

        Args:
            progress: Show a tqdm bar while embedding (None: when stderr is a terminal).
        """
        if progress is None:
            progress = sys.stderr.isatty()
        bar: Any = None
        callback = self._on_progress
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=0, unit="product", desc="embedding products")

            def callback(done: int, total: int) -> None:
                self._on_progress(done, total)
                bar.total = total
                bar.update(done - bar.n)

        try:
            ids, documents, metadatas = self._inputs()
            self.last = self.store.sync(ids, documents, metadatas, callback)
        finally:
            if bar is not None:
                bar.close()
        return self.last

    @property
    def running(self) -> bool:
        """Whether a background sync is still running."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def progress(self) -> tuple[int, int]:
        """(products embedded, products to embed) of the current or last sync."""
        return self._progress

    def start(self) -> None:
        """Run ``sync`` on a background thread (nothing new if one is running)."""
        if self._thread is not None and self._thread.is_alive():
            return

        def run() -> None:
            try:
                self.sync(progress=False)
            except BaseException as exc:  # handed to the caller that waits
                self._error = exc

        self._error = None
        self._thread = threading.Thread(target=run, name="product-index-sync", daemon=True)
        self._thread.start()

    def wait(self, progress: bool | None = None) -> SyncReport | None:
        """Wait for a background sync, with a tqdm bar (None: when stderr is a terminal).

        Raises:
            Exception: whatever the background sync raised.
        """
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            if progress is None:
                progress = sys.stderr.isatty()
            if progress and thread.is_alive():
                from tqdm import tqdm

                with tqdm(total=0, unit="product", desc="embedding products") as bar:
                    while thread.is_alive():
                        thread.join(0.2)
                        done, total = self._progress
                        bar.total = total
                        bar.update(done - bar.n)
            thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self.last
