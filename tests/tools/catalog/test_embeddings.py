"""The offline MiniLM embedder: pinned model file, sensible vectors, chromadb and LangChain."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tools.catalog.embeddings import (
    DIMENSION,
    MiniLMEmbedder,
    default_model_path,
    default_tokenizer_path,
    load_embedder,
)

PINNED_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return load_embedder()


def test_model_file_is_the_pinned_one() -> None:
    digest = hashlib.sha256(default_model_path().read_bytes()).hexdigest()
    assert digest == PINNED_SHA256
    assert default_tokenizer_path().name == "tokenizer.json"


def test_similar_meanings_are_closer(embedder: MiniLMEmbedder) -> None:
    v = embedder.encode(["hiking backpack", "trail daypack for mountains", "kitchen knife"])
    assert v.shape == (3, DIMENSION)
    assert v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_batching_and_padding_do_not_change_vectors(embedder: MiniLMEmbedder) -> None:
    short = "green tea"
    long = "a very long product description about loose leaf tea " * 10
    texts = [long, short, "cast iron skillet", short]
    together = embedder.encode(texts)
    alone = np.stack([embedder.encode([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=2e-5)
    np.testing.assert_allclose(together[1], together[3], atol=1e-6)
    small_batches = MiniLMEmbedder(batch_size=1).encode(texts)
    np.testing.assert_allclose(small_batches, together, atol=2e-5)


def test_long_and_empty_inputs(embedder: MiniLMEmbedder) -> None:
    very_long = "tent " * 2000  # far past 256 tokens: truncated, not an error
    v = embedder.encode([very_long, ""])
    assert v.shape == (2, DIMENSION)
    assert np.isfinite(v).all()
    assert embedder.encode([]).shape == (0, DIMENSION)


def test_chromadb_collection_uses_it(embedder: MiniLMEmbedder, tmp_path: Path) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    col = client.create_collection("docs", embedding_function=embedder)
    col.add(
        ids=["a", "b", "c"],
        documents=["two person camping tent", "espresso coffee beans", "wireless earbuds"],
    )
    found = col.query(query_texts=["somewhere to sleep outdoors"], n_results=1)
    assert found["ids"][0] == ["a"]
    # Reopening the collection without passing the function rebuilds it from its config.
    again = client.get_collection("docs")
    assert again.query(query_texts=["coffee"], n_results=1)["ids"][0] == ["b"]
    client.close()


def test_langchain_interface(embedder: MiniLMEmbedder) -> None:
    from langchain_core.vectorstores import InMemoryVectorStore

    query = embedder.embed_query("running shoes")
    assert isinstance(query, list) and len(query) == DIMENSION
    assert isinstance(query[0], float)
    docs = embedder.embed_documents(["a", "b"])
    assert len(docs) == 2 and len(docs[0]) == DIMENSION
    store = InMemoryVectorStore(embedding=embedder)
    store.add_texts(["trail running shoes", "ceramic teapot", "laptop charger"])
    assert store.similarity_search("sneakers for jogging", k=1)[0].page_content == (
        "trail running shoes"
    )


def test_chromadb_query_shape(embedder: MiniLMEmbedder) -> None:
    # chromadb calls embed_query with a list; LangChain with one string.
    as_list = embedder.embed_query(["tea", "coffee"])
    assert len(as_list) == 2
    np.testing.assert_allclose(as_list[0], embedder.embed_query("tea"), atol=1e-6)
