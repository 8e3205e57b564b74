"""Embedding throughput: the project's MiniLMEmbedder against chromadb's own ONNX MiniLM.

Both run the same int8 model file and tokenizer (copied into the folder layout chromadb's
``ONNXMiniLM_L6_V2`` expects, in a temp dir, so nothing is downloaded) on the same sentences:
real product names from the Instacart catalog and product texts from the demo shop. Prints
sentences per second for each, the ratio (target: at least 10x) and how closely the two
agree (cosine of the vectors for the same sentence).

Run: ``.venv/bin/python bench/bench_embeddings.py [--sentences N]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.catalog.embeddings import MiniLMEmbedder, default_model_path, default_tokenizer_path  # noqa: E402
from tools.catalog.search import product_document  # noqa: E402

INSTACART = ROOT.parent / "shared" / "datasets" / "instacart_catalog" / "products.csv"
DEMO = ROOT / "data" / "demo" / "products.parquet"


def load_sentences(n: int) -> dict[str, list[str]]:
    """Two kinds of text: short product names and longer product texts (about 65 tokens)."""
    names: list[str] = []
    texts: list[str] = []
    if INSTACART.is_file():
        names = pd.read_csv(INSTACART, nrows=n)["product_name"].astype(str).tolist()
    if DEMO.is_file():
        frame = pd.read_parquet(DEMO).head(n)
        texts = [product_document(row) for row in frame.to_dict("records")]
    if not names:  # no shared data here: fall back to generated names
        names = [f"organic product number {i}" for i in range(n)]
    if not texts:
        texts = [
            f"product {i}. " + "a long description of its many features. " * 6 for i in range(n)
        ]
    return {"names": names[:n], "texts": texts[:n]}


def chroma_function(folder: Path) -> object:
    """Chromadb's ONNXMiniLM_L6_V2 pointed at our model file and tokenizer."""
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    onnx_dir = folder / ONNXMiniLM_L6_V2.EXTRACTED_FOLDER_NAME
    onnx_dir.mkdir(parents=True)
    shutil.copy(default_model_path(), onnx_dir / "model.onnx")
    shutil.copy(default_tokenizer_path(), onnx_dir / "tokenizer.json")
    vocab = json.loads((onnx_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    ordered = sorted(vocab, key=vocab.__getitem__)
    (onnx_dir / "vocab.txt").write_text("\n".join(ordered) + "\n", encoding="utf-8")
    # Files chromadb checks for before deciding it need not download anything.
    for name in ("config.json", "special_tokens_map.json", "tokenizer_config.json"):
        (onnx_dir / name).write_text("{}", encoding="utf-8")
    ef = ONNXMiniLM_L6_V2()
    ef.DOWNLOAD_PATH = folder  # type: ignore[misc]
    return ef


def rate(func: object, sentences: list[str]) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    vectors = np.asarray(func(sentences), dtype=np.float32)  # type: ignore[operator]
    return len(sentences) / (time.perf_counter() - started), vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=128, help="sentences of each kind")
    args = parser.parse_args()
    kinds = load_sentences(args.sentences)
    ours = MiniLMEmbedder()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        theirs = chroma_function(Path(tmp))
        # Warm both (session creation and first-call costs are not throughput).
        ours.encode(kinds["names"][:8])
        theirs(kinds["names"][:8])  # type: ignore[operator]
        totals = {"ours": 0.0, "theirs": 0.0}
        count = 0
        for kind, sentences in kinds.items():
            ours_1, ours_vectors = rate(ours.encode, sentences)
            theirs_rate, theirs_vectors = rate(theirs, sentences)
            ours_2, _ = rate(ours.encode, sentences)
            ours_rate = (ours_1 + ours_2) / 2
            tokens = [len(e.ids) for e in ours._tokenizer.encode_batch(sentences)]
            cosine = np.sum(ours_vectors * theirs_vectors, axis=1)
            rows.append(
                (
                    kind,
                    len(sentences),
                    float(np.median(tokens)),
                    ours_rate,
                    theirs_rate,
                    float(cosine.min()),
                )
            )
            totals["ours"] += len(sentences) / ours_rate
            totals["theirs"] += len(sentences) / theirs_rate
            count += len(sentences)
    print(
        f"{'kind':6} {'n':>4} {'tokens':>6} {'ours/s':>8} {'chroma/s':>9} {'ratio':>6} "
        f"{'min cos':>8}"
    )
    for kind, n, tok, ours_rate, theirs_rate, cos in rows:
        print(
            f"{kind:6} {n:4d} {tok:6.0f} {ours_rate:8.1f} {theirs_rate:9.1f} "
            f"{ours_rate / theirs_rate:5.1f}x {cos:8.5f}"
        )
    ours_all, theirs_all = count / totals["ours"], count / totals["theirs"]
    print(
        f"{'all':6} {count:4d} {'':6} {ours_all:8.1f} {theirs_all:9.1f} "
        f"{ours_all / theirs_all:5.1f}x"
    )
    print(
        "ours: MiniLMEmbedder (dynamic padding, length-sorted batches of 64); chroma: "
        "ONNXMiniLM_L6_V2 (pads every text to 256 tokens); same int8 model file. Target >= 10x."
    )


if __name__ == "__main__":
    main()
