"""Whom to treat next: uplift learnt from a finished randomised round (issue 13 item 7).

A campaign's holdout makes its round a randomised experiment. From it a meta-learner of
``causalml`` (T-, X- or S-learner over gradient-boosted trees) learns how much a work order
changes each customer's outcome from their customer-360 row of the selection month; the
next audience is scored with the same features, and the customers with the largest
expected saving per work order are picked. Qini curves and AUUC are ``scikit-uplift``'s
(``sklift.metrics``), on out-of-fold scores of the finished round, so the comparison of
"treat everyone", "treat by preference level" and "treat by uplift" is measured, not assumed.

Data in and out are Ibis (:func:`uplift_features`, :func:`uplift_outcomes`); the model works
in memory, as any learner does (:class:`UpliftModel`, scikit-learn's API). Nothing here reads
the simulator's truth.
"""

from __future__ import annotations

import fnmatch
import warnings
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import StratifiedKFold

from touchpoint.campaigns._assignment import STRATUM_COLUMN, TREATMENT
from touchpoint.campaigns._tracking import as_one_campaign, campaign_customer_months

#: The outcome each action's uplift is learnt on (a rate that a work order should raise).
OUTCOME = {"divert_store_payment_to_self_service": "away_since_start"}
#: Columns of the 360 that are not features: ids, dates, and what only restates the month.
NOT_FEATURES = ("customer_id", "month", "join_date", "leave_date", "has_left_in_month", "plan_id")
#: Categorical columns of the 360 used as features (one column per value).
CATEGORICAL = ("brand", "value_tier", "region")
STRATEGIES = ("everyone", "preference_level", "uplift")
LEARNERS = ("t", "x", "s")


def uplift_features(
    c360: ir.Table, customers: ir.Table, month: ir.Value, patterns: tuple[str, ...] = ("*",)
) -> ir.Table:
    """The features of ``customers`` (a table with ``customer_id``): their 360 row of
    ``month``, the columns matching one of ``patterns`` (shell style), numbers as they are,
    flags as 0/1, the categorical columns as text."""
    rows = c360.filter(c360.month == month).semi_join(customers, "customer_id")
    keep = {}
    for name, dtype in rows.schema().items():
        if name != "customer_id" and (
            name in NOT_FEATURES or not any(fnmatch.fnmatchcase(name, p) for p in patterns)
        ):
            continue
        if name == "customer_id" or name in CATEGORICAL:
            keep[name] = rows[name]
        elif dtype.is_boolean():
            keep[name] = rows[name].cast("int8")
        elif dtype.is_numeric():
            keep[name] = rows[name].cast("float64")
    return rows.select(**keep)


def uplift_outcomes(
    assignment: ir.Table,
    payments: ir.Table,
    baseline_month: ir.Value,
    *,
    months: int | None = None,
    store_channels: tuple[str, ...] = ("store", "partner_store"),
    destinations: tuple[str, ...] = ("kiosk", "web", "app", "mobile_pay"),
) -> ir.Table:
    """One row per assigned customer: ``treated`` (0/1) and ``outcome``, 1 when the customer
    made no store payment from the month after ``baseline_month`` to the ``months``-th
    (default: the last month of ``payments``), the tracking's ``away_since_start``."""
    cm = campaign_customer_months(
        as_one_campaign(assignment, baseline_month, "uplift"),
        payments=payments,
        store_channels=store_channels,
        destinations=destinations,
    )
    last = cm.idx.max().as_scalar() if months is None else ibis.literal(months, "int64")
    end = cm.filter(cm.idx == last)
    return end.select(
        "customer_id",
        treated=(end.group == TREATMENT).cast("int8"),
        outcome=end.away_since_start.cast("int8"),
    )


def _design(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float (missing stays NaN: the trees route it), categories one-hot."""
    numeric = frame.drop(columns=[c for c in CATEGORICAL if c in frame], errors="ignore")
    numeric = numeric.drop(columns=["customer_id"], errors="ignore").astype("float64")
    dummies = [
        pd.get_dummies(frame[c].astype("string"), prefix=c, dtype="float64")
        for c in CATEGORICAL
        if c in frame
    ]
    return pd.concat([numeric, *dummies], axis=1)


class UpliftModel(BaseEstimator):
    """A causalml meta-learner over histogram gradient-boosted trees, scikit-learn style.

    ``fit(X, treatment, y)`` with ``X`` the frame of :func:`uplift_features`, ``treatment``
    and ``y`` 0/1; ``predict(X)`` the uplift (treated minus control probability of the
    outcome) of each row. Fitted attributes: ``learner_``, ``feature_names_in_``,
    ``treated_share_``, ``ate_`` (the treated-minus-control difference of the data),
    ``n_fitted_`` (rows the learner saw: a round larger than ``max_fit_rows`` is learnt from
    a random sample of that many, as the Qini gains little beyond; scoring takes any size).

    >>> m = UpliftModel(max_iter=20)
    >>> X = pd.DataFrame({"a": [0.0, 1.0] * 50, "brand": ["x", "y"] * 50})
    >>> m.fit(X, np.tile([0, 0, 1, 1], 25), np.tile([0, 0, 0, 1], 25)).predict(X).shape
    (100,)
    """

    def __init__(
        self,
        learner: str = "t",
        max_iter: int = 200,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        random_state: int = 0,
        max_fit_rows: int | None = 200_000,
    ) -> None:
        self.learner = learner
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state
        self.max_fit_rows = max_fit_rows

    def _trees(self, kind: str):
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls = (
            HistGradientBoostingClassifier
            if kind == "classifier"
            else HistGradientBoostingRegressor
        )
        return cls(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            random_state=self.random_state,
        )

    def _meta(self):
        # causalml imports xgboost, shap and numba: seconds, so only when a model is built.
        from causalml.inference.meta import BaseSClassifier, BaseTClassifier, BaseXClassifier

        if self.learner == "t":
            return BaseTClassifier(learner=self._trees("classifier"), control_name=0)
        if self.learner == "x":
            return BaseXClassifier(
                outcome_learner=self._trees("classifier"),
                effect_learner=self._trees("regressor"),
                control_name=0,
            )
        if self.learner == "s":
            return BaseSClassifier(learner=self._trees("classifier"), control_name=0)
        raise ValueError(f"learner must be one of {', '.join(LEARNERS)}, got {self.learner!r}")

    def fit(self, X: pd.DataFrame, treatment, y) -> UpliftModel:
        design = _design(X)
        t, y = np.asarray(treatment, dtype=np.int64), np.asarray(y, dtype=np.int64)
        if set(np.unique(t)) != {0, 1}:
            raise ValueError("uplift needs treated and holdout customers in the data")
        self.feature_names_in_ = np.array(design.columns, dtype=object)
        self.treated_share_ = float(t.mean())
        self.ate_ = float(y[t == 1].mean() - y[t == 0].mean())
        if self.max_fit_rows is not None and len(t) > self.max_fit_rows:
            rows = np.sort(
                np.random.default_rng(self.random_state).choice(
                    len(t), self.max_fit_rows, replace=False
                )
            )
            design, t, y = design.iloc[rows], t[rows], y[rows]
        self.n_fitted_ = len(t)
        self.learner_ = self._meta()
        p = np.full(len(t), self.treated_share_)  # the randomised design's propensity
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            if self.learner == "x":
                self.learner_.fit(design.to_numpy(), t, y, p=p)
            else:
                self.learner_.fit(design.to_numpy(), t, y)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        design = _design(X).reindex(columns=list(self.feature_names_in_), fill_value=0.0)
        kwargs = {"p": np.full(len(design), self.treated_share_)} if self.learner == "x" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            out = self.learner_.predict(design.to_numpy(), verbose=False, **kwargs)
        return np.asarray(out, dtype=np.float64).reshape(len(design), -1)[:, 0]


def out_of_fold(model: UpliftModel, X: pd.DataFrame, treatment, y, folds: int = 5) -> np.ndarray:
    """Each customer's uplift from a model that did not see them (``folds``-fold cross-fitting,
    stratified by group and outcome), so the finished round can judge its own model."""
    t, y = np.asarray(treatment), np.asarray(y)
    scores = np.zeros(len(t))
    split = StratifiedKFold(folds, shuffle=True, random_state=model.random_state)
    for fit_rows, score_rows in split.split(X, 2 * t + y):
        fitted = clone(model).fit(X.iloc[fit_rows], t[fit_rows], y[fit_rows])
        scores[score_rows] = fitted.predict(X.iloc[score_rows])
    return scores


@dataclass(frozen=True)
class Qini:
    """A strategy's Qini curve (sklift's) and areas on a randomised round."""

    strategy: str
    qini_auc: float  # sklift qini_auc_score: area between the curve and random, / the ideal's
    auuc: float  # sklift uplift_auc_score: area under the uplift curve, relative to random
    curve_x: np.ndarray  # customers treated, best first
    curve_y: np.ndarray  # incremental outcomes among them (Qini)


def qini(strategy: str, y, treatment, score) -> Qini:
    """The Qini curve and areas of ranking by ``score`` (higher first) on realised outcomes.

    By hand: the ranking puts a treated responder, a treated non-responder, a control
    responder and a control non-responder in that order; Qini(k) = treated responders -
    control responders × treated / control among the first k: 1, 1, -1, 0, an area of 1
    (random: 0). The best order (treated responder, control non-responder, ...) gives 1, 1,
    1, 0, an area of 3: the score is 1/3.

    >>> q = qini("uplift", [1, 0, 1, 0], [1, 0, 0, 1], [0.9, 0.1, 0.2, 0.3])
    >>> round(q.qini_auc, 3), q.curve_y.tolist()
    (0.333, [0.0, 1.0, 1.0, -1.0, 0.0])
    """
    from sklift.metrics import qini_auc_score, qini_curve, uplift_auc_score

    y, t, s = (np.asarray(v, dtype=np.float64) for v in (y, treatment, score))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.8 deprecated stable_cumsum
        x, q = qini_curve(y, s, t)
        return Qini(
            strategy,
            float(qini_auc_score(y, s, t)),
            float(uplift_auc_score(y, s, t)),
            np.asarray(x),
            np.asarray(q),
        )


def expected_saving(uplift, cost_difference_yuan: float, order_cost_yuan: float) -> np.ndarray:
    """Per work order: the uplift on the outcome (a customer moved) × the action's cost
    difference per moved contact, minus what the work order costs.

    >>> expected_saving(np.array([0.2, 0.0]), 5.7, 0.05).round(2).tolist()
    [1.09, -0.05]
    """
    return np.asarray(uplift, dtype=np.float64) * cost_difference_yuan - order_cost_yuan


def strategy_scores(features: pd.DataFrame, uplift, action: str, seed: int = 0) -> dict:
    """What each strategy ranks by: everyone (a random order: no ranking), the action's
    preference level (higher first, ties at random) and the model's uplift."""
    rng = np.random.default_rng(seed)
    ties = rng.random(len(features)) * 1e-6
    level = features[STRATUM_COLUMN[action]].fillna(0).to_numpy(dtype=np.float64)
    return {"everyone": ties, "preference_level": level + ties, "uplift": np.asarray(uplift)}


def compare_strategies(
    y,
    treatment,
    scores: dict[str, np.ndarray],
    *,
    share: float,
    cost_difference_yuan: float,
    order_cost_yuan: float,
) -> pd.DataFrame:
    """Side by side on a randomised round: each strategy's Qini and AUUC, and treating its
    top ``share`` of the audience: the realised uplift there (treated minus holdout rate, sklift
    ``uplift_at_k``) and the saving per work order and in all, if the audience were this round's.

    "everyone" treats the whole audience (its share is 1)."""
    from sklift.metrics import uplift_at_k

    y, t = np.asarray(y), np.asarray(treatment)
    rows = []
    for name in STRATEGIES:
        q = qini(name, y, t, scores[name])
        k = 1.0 if name == "everyone" else share
        if k >= 1.0:  # the whole audience: sklift's k must stay below 1
            at_k = float(y[t == 1].mean() - y[t == 0].mean())
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                at_k = float(uplift_at_k(y, scores[name], t, strategy="overall", k=k))
        n = round(k * len(y))
        per_order = float(expected_saving(at_k, cost_difference_yuan, order_cost_yuan))
        rows.append(
            {
                "strategy": name,
                "qini_auc": q.qini_auc if name != "everyone" else 0.0,
                "auuc": q.auuc,
                "share_treated": k,
                "n_orders": n,
                "uplift_at_share": at_k,
                "saving_per_order_yuan": per_order,
                "saving_yuan": per_order * n,
            }
        )
    return pd.DataFrame(rows)


def pick(
    uplift, cost_difference_yuan: float, order_cost_yuan: float, max_orders: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(expected saving, rank, selected): customers ranked by expected saving per work order;
    selected while it is positive, at most ``max_orders``.

    >>> s, r, keep = pick([0.1, 0.3, 0.0], 5.7, 0.05)
    >>> r.tolist(), keep.tolist()
    ([2, 1, 3], [True, True, False])
    """
    saving = expected_saving(uplift, cost_difference_yuan, order_cost_yuan)
    order = np.argsort(-saving, kind="stable")
    rank = np.empty(len(saving), dtype=np.int64)
    rank[order] = np.arange(1, len(saving) + 1)
    selected = saving > 0
    if max_orders is not None:
        selected &= rank <= max_orders
    return saving, rank, selected


@dataclass(frozen=True)
class NextRound:
    """What :func:`whom_to_treat_next` learnt and picked."""

    model: UpliftModel
    comparison: pd.DataFrame  # one row per strategy, on the finished round (out of fold)
    curves: pd.DataFrame  # strategy, n_treated, incremental: the Qini curves
    scores: pd.DataFrame  # one row per customer of the next audience
    n_learnt: int  # customers of the finished round
    learnt_ate: float  # treated minus holdout rate of the outcome in the finished round


def whom_to_treat_next(
    learn: pd.DataFrame,
    next_features: pd.DataFrame,
    action: str,
    settings,
    *,
    cost_difference_yuan: float,
    order_cost_yuan: float,
    max_orders: int | None = None,
) -> NextRound:
    """Learn the uplift from a finished randomised round and pick whom to treat next.

    ``learn``: the round's customers, :func:`uplift_features` joined with
    :func:`uplift_outcomes` (``treated``, ``outcome``); ``next_features``: the next
    audience's features. ``settings``: the ``campaigns.uplift`` settings. The comparison of
    strategies and the Qini curves use out-of-fold scores (``settings.folds``); the next
    audience is scored by a model fitted on the whole round.
    """
    if action not in OUTCOME:
        raise ValueError(f"uplift is learnt for {', '.join(OUTCOME)} so far, not {action!r}")
    model = UpliftModel(
        learner=settings.learner,
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf,
        l2_regularization=settings.l2_regularization,
        random_state=settings.seed,
        max_fit_rows=settings.max_fit_rows,
    )
    features = [c for c in learn.columns if c not in ("customer_id", "treated", "outcome")]
    X, t, y = learn[features], learn.treated.to_numpy(), learn.outcome.to_numpy()
    oof = out_of_fold(model, X, t, y, settings.folds)
    ranked = strategy_scores(learn, oof, action, settings.seed)
    comparison = compare_strategies(
        y,
        t,
        ranked,
        share=settings.compare_share,
        cost_difference_yuan=cost_difference_yuan,
        order_cost_yuan=order_cost_yuan,
    )
    curves = []
    for name in STRATEGIES:
        q = qini(name, y, t, ranked[name])
        step = max(1, len(q.curve_x) // 100)  # about a hundred points per curve, and the end
        at = np.unique(np.r_[np.arange(0, len(q.curve_x), step), len(q.curve_x) - 1])
        curves.append(
            pd.DataFrame(
                {
                    "strategy": name,
                    "n_treated": q.curve_x[at].astype(np.int64),
                    "incremental": q.curve_y[at],
                }
            )
        )
    model.fit(X, t, y)
    uplift = model.predict(next_features[features]) if len(next_features) else np.zeros(0)
    saving, rank, selected = pick(uplift, cost_difference_yuan, order_cost_yuan, max_orders)
    level = next_features[STRATUM_COLUMN[action]] if len(next_features) else []
    scores = pd.DataFrame(
        {
            "customer_id": next_features.customer_id.to_numpy(),
            "uplift": uplift,
            "expected_saving_yuan": saving,
            "rank": rank,
            "selected": selected,
            "preference_level": pd.array(level, dtype="Int64"),
        }
    ).sort_values("rank", kind="stable")
    return NextRound(
        model, comparison, pd.concat(curves, ignore_index=True), scores, len(learn), model.ate_
    )
