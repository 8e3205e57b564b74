"""Individual-level uplift models that rank customers (scikit-learn gradient boosting).

Two estimators, both "two-part": an *event* model (conversion, or a visit) whose uplift is
multiplied by the expected *value* of one event (revenue per conversion, spend per visit):

* ``TLearnerUplift`` (two-model / T-learner): one event model per arm; the uplift of arm
  ``a`` is P(event | x, a) - P(event | x, control). Flexible, but each arm's model sees
  only its own customers, so with rare events its differences are mostly noise.
* ``ProportionalUplift``: one event model on every arm pooled, and a lift per arm
  (P(event | a) / P(event | control), measured). The uplift is
  ``P(event | x, control) x (lift_a - 1)``: customers who respond anyway respond more to a
  message. It cannot find customers whom a message puts off, but it uses all the data for
  the one thing it estimates and is far steadier when events are rare (it wins on the
  Hillstrom e-mail test, where 1% of customers buy; see ``agent eval campaign``).

Fitting runs with one OpenMP thread: on a busy two-core machine scikit-learn's thread pool
spins and a 0.1 s fit takes several seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from tools.shop.schemas import CHANNELS, LANGUAGES, SEGMENTS

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
#: Fewest events per arm of a channel before an individual model is fitted.
MIN_EVENTS_PER_ARM = 20
PRICE_BANDS = ("budget", "mid", "premium")
LearnerKind = Literal["t_learner", "proportional"]


class UpliftLearner(Protocol):
    """What the planner needs from an individual uplift model."""

    def event_uplift(self, x: pd.DataFrame) -> dict[str, FloatArray]:
        """Uplift in event probability per treatment arm."""

    def value_per_event(self, x: pd.DataFrame) -> FloatArray:
        """Expected value of one event."""


def profile_features(table: pd.DataFrame) -> pd.DataFrame:
    """Model features from the profile table (never gender, age or city: not targeting keys)."""
    feats = pd.DataFrame(index=table.index)
    for col in ("recency_days", "frequency", "monetary", "churn_risk", "expected_value_90d"):
        feats[col] = pd.to_numeric(table[col], errors="coerce").astype(np.float64)
    cats: dict[str, tuple[str, ...]] = {
        "segment": tuple(SEGMENTS),
        "price_band": PRICE_BANDS,
        "language": tuple(LANGUAGES),
    }
    for col, levels in cats.items():
        feats[col] = pd.Categorical(table[col].astype(object), categories=list(levels))
    return feats


def _classifier(min_leaf: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(
        max_iter=100,
        learning_rate=0.05,
        max_depth=3,
        min_samples_leaf=min_leaf,
        l2_regularization=1.0,
        categorical_features="from_dtype",
        random_state=0,
    )


def _regressor(min_leaf: int) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(
        max_iter=100,
        learning_rate=0.05,
        max_depth=3,
        min_samples_leaf=min_leaf,
        l2_regularization=1.0,
        categorical_features="from_dtype",
        random_state=0,
    )


def _min_leaf(n: int) -> int:
    """Leaves of at least 1% of the rows (20..200): smooth models on noisy outcomes."""
    return int(min(200, max(20, n // 100)))


@dataclass
class _ValueModel:
    """Expected value of one event (a regressor on every event, all arms pooled)."""

    model: Any = None
    mean: float = 0.0

    def fit(self, x: pd.DataFrame, event: npt.NDArray[np.int64], value: FloatArray) -> None:
        hit = event == 1
        self.mean = float(value[hit].mean()) if hit.any() else 0.0
        if hit.sum() >= 2 * MIN_EVENTS_PER_ARM:
            self.model = _regressor(_min_leaf(int(hit.sum()))).fit(x[hit], value[hit])

    def predict(self, x: pd.DataFrame) -> FloatArray:
        if self.model is None:
            return np.full(len(x), self.mean)
        with threadpool_limits(limits=1):
            pred: FloatArray = np.clip(self.model.predict(x), 0.0, None)
        return pred


@dataclass
class TLearnerUplift:
    """Two-model uplift: an event model per arm, times a pooled value-per-event model."""

    control: str = "control"
    event_models: dict[str, Any] = field(default_factory=dict)
    value: _ValueModel = field(default_factory=_ValueModel)

    def fit(
        self,
        x: pd.DataFrame,
        arm: npt.NDArray[Any],
        event: npt.NDArray[Any],
        value: npt.NDArray[Any] | None = None,
    ) -> TLearnerUplift:
        """Fit one event model per arm (and the value model when values are given)."""
        ev = np.asarray(event).astype(np.int64)
        with threadpool_limits(limits=1):
            for a in np.unique(arm):
                mask = arm == a
                self.event_models[str(a)] = _classifier(_min_leaf(int(mask.sum()))).fit(
                    x[mask], ev[mask]
                )
            if value is not None:
                self.value.fit(x, ev, np.asarray(value, dtype=np.float64))
        if self.control not in self.event_models:
            raise ValueError(f"no {self.control!r} rows to fit the control model")
        return self

    def event_uplift(self, x: pd.DataFrame) -> dict[str, FloatArray]:
        """Uplift in event probability per treatment arm."""
        with threadpool_limits(limits=1):
            base = self.event_models[self.control].predict_proba(x)[:, 1]
            return {
                a: m.predict_proba(x)[:, 1] - base
                for a, m in self.event_models.items()
                if a != self.control
            }

    def value_per_event(self, x: pd.DataFrame) -> FloatArray:
        """Expected value of one event (the pooled mean when there was too little data)."""
        return self.value.predict(x)


@dataclass
class ProportionalUplift:
    """Pooled event model times a measured lift per arm (see the module docstring)."""

    control: str = "control"
    event_model: Any = None
    lift: dict[str, float] = field(default_factory=dict)
    control_share: float = 1.0
    value: _ValueModel = field(default_factory=_ValueModel)

    def fit(
        self,
        x: pd.DataFrame,
        arm: npt.NDArray[Any],
        event: npt.NDArray[Any],
        value: npt.NDArray[Any] | None = None,
    ) -> ProportionalUplift:
        """Fit the pooled event model, the lifts and (given values) the value model."""
        ev = np.asarray(event).astype(np.int64)
        arm = np.asarray(arm).astype(str)
        ctrl = arm == self.control
        if not ctrl.any() or ev[ctrl].sum() == 0:
            raise ValueError(f"no {self.control!r} events to measure lifts against")
        base = float(ev[ctrl].mean())
        self.lift = {
            str(a): float(ev[arm == a].mean()) / base for a in np.unique(arm) if a != self.control
        }
        with threadpool_limits(limits=1):
            self.event_model = _classifier(_min_leaf(len(ev))).fit(x, ev)
            if value is not None:
                self.value.fit(x, ev, np.asarray(value, dtype=np.float64))
        # The pooled model predicts the arms' mix; rescale it to the control level.
        self.control_share = base / float(ev.mean())
        return self

    def event_uplift(self, x: pd.DataFrame) -> dict[str, FloatArray]:
        """Uplift in event probability per treatment arm."""
        with threadpool_limits(limits=1):
            p0 = self.event_model.predict_proba(x)[:, 1] * self.control_share
        return {a: p0 * (lift - 1.0) for a, lift in self.lift.items()}

    def value_per_event(self, x: pd.DataFrame) -> FloatArray:
        """Expected value of one event."""
        return self.value.predict(x)

    def responsiveness(self, x: pd.DataFrame, with_value: bool) -> FloatArray:
        """P(event | x, control), times the value of an event when ``with_value``."""
        with threadpool_limits(limits=1):
            p0: FloatArray = self.event_model.predict_proba(x)[:, 1] * self.control_share
        return p0 * self.value_per_event(x) if with_value else p0


def build_learner(kind: LearnerKind) -> TLearnerUplift | ProportionalUplift:
    """A fresh learner of the given kind."""
    return TLearnerUplift() if kind == "t_learner" else ProportionalUplift()


def fit_channel_models(
    rows: pd.DataFrame, features: pd.DataFrame, kind: LearnerKind = "t_learner"
) -> tuple[dict[str, UpliftLearner], list[str]]:
    """One uplift model per channel from exposure rows (with ``channel`` and ``group``).

    Returns:
        The models and a note per channel that had too little data for one.
    """
    models: dict[str, UpliftLearner] = {}
    notes: list[str] = []
    for ch in CHANNELS:
        r = rows[rows["channel"] == ch]
        conv = r.groupby("group", observed=True)["converted"].sum()
        if min(float(conv.get("treatment", 0)), float(conv.get("control", 0))) < (
            MIN_EVENTS_PER_ARM
        ):
            if len(r):
                notes.append(
                    f"{ch}: too few conversions in treatment or control to rank customers "
                    "individually; inside a cell customers are taken by expected 90-day value"
                )
            continue
        x = features.loc[r["customer_id"].to_numpy()]
        models[ch] = build_learner(kind).fit(
            x,
            r["group"].to_numpy(dtype=object),
            r["converted"].to_numpy(),
            r["revenue"].to_numpy(np.float64),
        )
    return models, notes
