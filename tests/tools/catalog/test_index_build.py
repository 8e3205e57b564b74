"""Index builds: in the background with a progress bar, and re-imports that reuse vectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tools.catalog.conftest import make_settings, make_shop, products_frame
from tools.catalog.embeddings import MiniLMEmbedder
from tools.catalog.search import ProductIndex, load_product_index


def test_background_build_is_waited_for_by_search(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    shop = make_shop(products_frame(), tmp_path / "shop")
    index = load_product_index(shop, make_settings(tmp_path), embedder, background=True)
    # The lexical side and lookups work at once; a search waits for the vectors.
    assert index.get("P00003").title == "Ridgeline Two-Person Tent"
    assert [h.product_id for h in index.search("two person tent", k=1).hits] == ["P00003"]
    report = index.wait()
    assert report is not None and report.embedded == 30
    assert index.vector_count() == 30
    index.close()


def test_background_build_failure_reaches_the_caller(
    tmp_path: Path, embedder: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = ProductIndex(
        products_frame(), make_settings(tmp_path), embedder, collection="broken_build"
    )

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(index._store, "sync", broken)
    index.start_sync()
    with pytest.raises(RuntimeError, match="disk full"):
        index.wait()


def test_progress_bar_while_embedding(
    tmp_path: Path, embedder: MiniLMEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = make_shop(products_frame(), tmp_path / "shop")
    index = load_product_index(shop, make_settings(tmp_path), embedder, progress=True)
    err = capsys.readouterr().err
    assert "embedding products" in err and "30/30" in err
    index.close()
    again = load_product_index(shop, make_settings(tmp_path), embedder, background=True)
    again.start_sync()  # already running: no second thread
    assert again.wait(progress=True) is not None
    assert again.last_sync is not None and again.last_sync.embedded == 0
    again.close()


def test_reimport_with_few_changes_embeds_only_those(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    settings = make_settings(tmp_path)
    first = load_product_index(make_shop(products_frame(), tmp_path / "shop"), settings, embedder)
    first.close()
    changed = products_frame()
    changed.loc[changed.product_id == "P00020", "title"] = "Organic Steel-Cut Oats"
    second = load_product_index(make_shop(changed, tmp_path / "shop"), settings, embedder)
    report = second.last_sync
    assert report is not None and (report.embedded, report.unchanged) == (1, 29)
    assert [h.product_id for h in second.search("steel cut oats", k=1).hits] == ["P00020"]
    second.close()
