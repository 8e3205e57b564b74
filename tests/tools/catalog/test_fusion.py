"""The learned fusion: its features, the shipped weights and fitting."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tools.catalog.fusion import (
    FEATURES,
    WEIGHTS_PATH,
    FusionModel,
    candidate_features,
    fit_fusion,
    load_fusion_model,
)


def test_features_of_candidates() -> None:
    category = np.array(["a", "a", "b", "b", "c"])
    lexical = np.array([0.0, 4.0, 2.0, 0.0, 0.0])
    features = candidate_features(
        [0, 1, 2], {0: 0.9, 2: 0.5}, lexical, [1, 2], category
    )
    assert features.shape == (3, len(FEATURES))
    cosine, bm25, vrank, lrank, vvote, lvote = features.T
    assert cosine.tolist() == [0.9, 0.0, 0.5]
    assert bm25.tolist() == [0.0, 1.0, 0.5]
    assert vrank.tolist() == [1.0, 0.0, 0.5]
    assert lrank.tolist() == [0.0, 1.0, 0.5]
    assert vvote.tolist() == [0.5, 0.5, 0.5]  # the vector side's two best: one a, one b
    assert lvote.tolist() == [0.5, 0.5, 0.5]


def test_shipped_weights_say_where_they_come_from() -> None:
    model = load_fusion_model()
    assert len(model.weights) == len(FEATURES)
    assert "Instacart" in model.provenance["catalog"]
    assert "tuning" in model.provenance["queries"]
    stored = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
    assert FusionModel.from_json(stored) == model
    # Agreement on both sides and with the category vote ranks higher than either alone.
    both = model.score(np.array([[0.7, 1.0, 1.0, 1.0, 0.8, 0.8]]))
    vector_only = model.score(np.array([[0.7, 0.0, 1.0, 0.0, 0.8, 0.0]]))
    assert both[0] > vector_only[0]


def test_fitting_learns_which_feature_predicts_relevance() -> None:
    rng = np.random.default_rng(0)
    features = [rng.random((40, len(FEATURES))) for _ in range(20)]
    labels = [f[:, 4] > 0.6 for f in features]  # the vector-side category vote decides
    model = fit_fusion(features, labels, {"catalog": "synthetic"})
    assert int(np.argmax(model.weights)) == 4
    assert model.provenance == {"catalog": "synthetic"}
    with pytest.raises(ValueError, match="relevant and irrelevant"):
        fit_fusion([features[0]], [np.zeros(40, dtype=bool)], {})


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"features": ["cosine"], "weights": [1.0]}, "features"),
        ({"features": list(FEATURES), "weights": [1.0]}, "weights"),
        ({"features": list(FEATURES), "weights": ["x"] * len(FEATURES)}, "numbers"),
    ],
)
def test_bad_weight_files_are_named(data: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        FusionModel.from_json(data, "my_weights.json")
