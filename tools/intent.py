"""Purchase intent and churn: per user, the chance of buying (in a category) in the next N days,
or of not coming back in them, with the behavior behind it.

A gradient-boosted classifier learns from the shop's own past: at earlier cutoffs (every N days
back), what each active user had done before (views, carts, purchases, visits, spend, recency
over the last 7 and 30 days and in the category asked about), and whether they bought (came
back) in the N days after. Optionally the sequence model's state after each user's last step
joins those features. Probabilities are calibrated (Platt scaling on held-out folds), and each
answer carries a backtest: the model trained without the last N days, scored on them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools import narrate
from tools.base import Tool, ToolContext, ToolError, ToolResult
from tools.metrics import DataLacks

log = logging.getLogger(__name__)

LOOKBACK_DAYS = 90  # behavior further back than this before a cutoff is not a feature
TRAINING_CUTOFFS = 4  # the classifier learns from up to this many windows of N days back
MIN_POSITIVES = 10  # fewer buyers (leavers) than this in the training windows: nothing to learn

FEATURES_SQL = """
SELECT user_id,
  sum(CASE WHEN event_type = 'view' AND event_time >= $week THEN 1 ELSE 0 END) AS views_7d,
  sum(CASE WHEN event_type = 'cart' AND event_time >= $week THEN 1 ELSE 0 END) AS carts_7d,
  sum(CASE WHEN event_type = 'purchase' AND event_time >= $week THEN 1 ELSE 0 END) AS purchases_7d,
  sum(CASE WHEN event_type = 'view' AND event_time >= $month THEN 1 ELSE 0 END) AS views_30d,
  sum(CASE WHEN event_type = 'cart' AND event_time >= $month THEN 1 ELSE 0 END) AS carts_30d,
  sum(CASE WHEN event_type = 'remove_from_cart' AND event_time >= $month THEN 1 ELSE 0 END) AS removals_30d,
  sum(CASE WHEN event_type = 'purchase' AND event_time >= $month THEN 1 ELSE 0 END) AS purchases_30d,
  sum(CASE WHEN event_type = 'search' AND event_time >= $month THEN 1 ELSE 0 END) AS searches_30d,
  count(DISTINCT CASE WHEN event_time >= $month THEN session_id END) AS visits_30d,
  count(DISTINCT CASE WHEN event_time >= $month THEN CAST(event_time AS DATE) END) AS active_days_30d,
  count(DISTINCT CASE WHEN event_type = 'purchase' THEN coalesce(order_id, session_id) END) AS orders,
  coalesce(sum(CASE WHEN event_type = 'purchase' THEN price * coalesce(quantity, 1) END), 0) AS spend,
  (epoch($cutoff) - epoch(max(event_time))) / 86400.0 AS days_since_last_event,
  coalesce((epoch($cutoff) - epoch(max(CASE WHEN event_type = 'purchase' THEN event_time END))) / 86400.0,
           $lookback) AS days_since_last_purchase,
  (epoch($cutoff) - epoch(min(event_time))) / 86400.0 AS days_known,
  sum(CASE WHEN lower(category) = $category AND event_type = 'view' AND event_time >= $week THEN 1 ELSE 0 END)
    AS category_views_7d,
  sum(CASE WHEN lower(category) = $category AND event_type = 'view' AND event_time >= $month THEN 1 ELSE 0 END)
    AS category_views_30d,
  sum(CASE WHEN lower(category) = $category AND event_type = 'cart' AND event_time >= $month THEN 1 ELSE 0 END)
    AS category_carts_30d,
  sum(CASE WHEN lower(category) = $category AND event_type = 'purchase' THEN 1 ELSE 0 END) AS category_purchases
FROM events
WHERE user_id IS NOT NULL AND event_time < $cutoff AND event_time >= $since
GROUP BY user_id ORDER BY user_id"""

OUTCOME_SQL = {
    "buy": """SELECT DISTINCT user_id FROM events WHERE user_id IS NOT NULL AND event_type = 'purchase'
              AND event_time >= $cutoff AND event_time < $until AND ($category = '' OR lower(category) = $category)""",
    "churn": """SELECT DISTINCT user_id FROM events WHERE user_id IS NOT NULL
                AND event_time >= $cutoff AND event_time < $until""",
}

Outcome = Literal["buy", "churn"]


@dataclass
class Snapshot:
    """The active users at one cutoff: their features and (when the future is known) the outcome."""

    cutoff: datetime
    users: list[str]
    names: list[str]
    features: np.ndarray
    outcome: np.ndarray | None


def snapshot(ctx: ToolContext, cutoff: datetime, outcome: Outcome, days: int, category: str = "") -> Snapshot:
    table = ctx.table(
        FEATURES_SQL,
        cutoff=cutoff,
        week=cutoff - timedelta(days=7),
        month=cutoff - timedelta(days=30),
        since=cutoff - timedelta(days=LOOKBACK_DAYS),
        lookback=float(LOOKBACK_DAYS),
        category=category.lower(),
    )
    names = [c for c in table.column_names if c != "user_id" and (category or not c.startswith("category_"))]
    users = [str(u) for u in table["user_id"].to_pylist()]
    features = (
        np.column_stack([np.nan_to_num(table[c].to_numpy(zero_copy_only=False).astype(float)) for c in names])
        if users
        else np.zeros((0, len(names)))
    )
    labels = None
    if cutoff + timedelta(days=days) <= data_end(ctx)[1]:  # the outcome's window is in the data
        happened = {
            str(r[0])
            for r in ctx.rows(
                OUTCOME_SQL[outcome],
                cutoff=cutoff,
                until=cutoff + timedelta(days=days),
                **({"category": category.lower()} if outcome == "buy" else {}),
            )
        }
        came = np.array([u in happened for u in users], dtype=bool)
        labels = came if outcome == "buy" else ~came
    return Snapshot(cutoff, users, names, features, labels)


def _classifier(positives: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier

    booster = HistGradientBoostingClassifier(
        max_iter=150,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        random_state=0,
    )
    # Isotonic needs many positives to be smooth; Platt scaling is safer with few.
    return CalibratedClassifierCV(booster, method="isotonic" if positives >= 1000 else "sigmoid", cv=3)


@dataclass
class IntentModel:
    classifier: Any
    names: list[str]
    training_rows: int
    training_positives: int

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return self.classifier.predict_proba(features)[:, 1]


def fit(snapshots: list[Snapshot]) -> IntentModel:
    labelled = [s for s in snapshots if s.outcome is not None and len(s.users)]
    if not labelled:
        raise DataLacks("the data is too short to learn from: no earlier window has a known outcome")
    x = np.vstack([s.features for s in labelled])
    y = np.concatenate([s.outcome for s in labelled]).astype(int)
    positives = int(y.sum())
    if positives < MIN_POSITIVES or len(y) - positives < MIN_POSITIVES:
        raise DataLacks(
            f"too few examples to learn from: {positives:,} of {len(y):,} past cases had the outcome"
            f" (at least {MIN_POSITIVES} of each kind are needed)"
        )
    classifier = _classifier(positives).fit(x, y)
    return IntentModel(classifier, labelled[0].names, len(y), positives)


def training_cutoffs(anchor: datetime, days: int, first: datetime) -> list[datetime]:
    """Cutoffs N, 2N, … days before `anchor`, each with at least N days (at most a week) of
    history before it."""
    cutoffs = [anchor - timedelta(days=days * k) for k in range(1, TRAINING_CUTOFFS + 1)]
    return [c for c in cutoffs if c - timedelta(days=min(7, days)) >= first]


class IntentEval(BaseModel):
    model: str
    users: int
    positives: int
    base_rate: float
    auc: float
    brier: float
    precision_top_decile: float
    reliability: list[tuple[float, float, int]]  # (mean predicted, observed rate, users) per bin


def scored(name: str, truth: np.ndarray, predicted: np.ndarray) -> IntentEval:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    top = np.argsort(-predicted, kind="stable")[: max(1, len(predicted) // 10)]
    bins = np.minimum((predicted * 10).astype(int), 9)
    reliability = [
        (
            round(float(predicted[bins == b].mean()), 4),
            round(float(truth[bins == b].mean()), 4),
            int((bins == b).sum()),
        )
        for b in range(10)
        if (bins == b).any()
    ]
    return IntentEval(
        model=name,
        users=len(truth),
        positives=int(truth.sum()),
        base_rate=round(float(truth.mean()), 4),
        auc=round(float(roc_auc_score(truth, predicted)), 4)
        if 0 < truth.sum() < len(truth)
        else float("nan"),
        brier=round(float(brier_score_loss(truth, predicted)), 4),
        precision_top_decile=round(float(truth[top].mean()), 4),
        reliability=reliability,
    )


def data_end(ctx: ToolContext) -> tuple[datetime, datetime]:
    """(first event, the midnight after the last event): predictions are for the days after it."""
    first, last = ctx.facts.first_event, ctx.facts.last_event
    if first is None or last is None:
        raise ToolError("the warehouse has no events yet")
    end = datetime.combine(last.date(), datetime.min.time()) + timedelta(days=1)
    return first, end


def backtest(
    ctx: ToolContext,
    outcome: Outcome,
    days: int,
    category: str = "",
    past: dict[datetime, Snapshot] | None = None,
) -> tuple[IntentModel, IntentEval]:
    """Trained on the windows before the data's last N days, scored on those days. `past`: the
    snapshots already taken, by cutoff (those missing are taken)."""
    first, end = data_end(ctx)
    test_cutoff = end - timedelta(days=days)
    past = past if past is not None else {}
    for cutoff in [test_cutoff, *training_cutoffs(test_cutoff, days, first)]:
        if cutoff not in past:
            past[cutoff] = snapshot(ctx, cutoff, outcome, days, category)
    test = past[test_cutoff]
    model = fit([past[c] for c in training_cutoffs(test_cutoff, days, first)])
    if test.outcome is None or not len(test.users):
        raise ToolError("no users were active before the last window: nothing to test on")
    return model, scored("features", test.outcome, model.probabilities(test.features))


# ---------------------------------------------------------------- the tool


class PredictIntentArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["buy", "churn", "buy_this_visit"] = Field(
        default="buy",
        description="'buy': will they buy; 'churn': will they not come back (at risk); 'buy_this_visit': will a"
        " visit still open (shoppers on the site now) end in a purchase",
    )
    days: int = Field(default=7, ge=1, le=90, description="In the next this many days")
    category: str | None = Field(default=None, description="Buying in this category (for 'buy')")
    segment: str | None = Field(
        default=None,
        description="Only users in this segment: an RFM segment (champions, loyal, at_risk, cant_lose_them…),"
        " a behavior cluster's name, or high_spenders (RFM spend score 4-5)",
    )
    min_probability: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Only users at least this likely (e.g. 0.5 for 'more likely than not'); filters a segment by intent",
    )
    k: int = Field(default=20, ge=1, le=500, description="How many users, most likely first")


def predict_intent(ctx: ToolContext, args: PredictIntentArgs) -> ToolResult:
    """Users most likely to buy (in a category) in the next N days, or to churn (not come back), with
    calibrated probabilities, the behavior behind each, and how well this predicted the last N days."""
    category = (args.category or "").strip()
    if category:
        known = {
            str(c).lower(): str(c)
            for (c,) in ctx.rows("SELECT DISTINCT category FROM events WHERE category IS NOT NULL")
        }
        if category.lower() not in known:
            raise ToolError(
                f"no category {category!r} in the data (there are: {narrate.listing(sorted(known.values())[:12])})"
            )
        category = known[category.lower()]
    members, group = None, f"users active in the last {LOOKBACK_DAYS} days"
    if args.segment:  # checked before any training: a wrong name is a quick, clear error
        members, label = segment_members(ctx, args.segment)
        group = f"{label} active in the last {LOOKBACK_DAYS} days"
    if args.outcome == "buy_this_visit":
        from tools.visit_intent import open_visit_intent

        if category:
            raise ToolError("a visit's purchase is predicted whatever it buys: leave out the category")
        return open_visit_intent(ctx, members, args.segment or "", args.k, args.min_probability)
    key = f"intent:{args.outcome}:{args.days}:{category.lower()}"
    model, check, now = ctx.cached(key, lambda: _trained(ctx, args.outcome, args.days, category))
    probabilities = model.probabilities(now.features) if len(now.users) else np.zeros(0)
    among = np.array([members is None or u in members for u in now.users], dtype=bool)
    ranked = np.flatnonzero(among)[np.argsort(-probabilities[among], kind="stable")]
    likely = ranked if args.min_probability is None else ranked[probabilities[ranked] >= args.min_probability]
    order = likely[: args.k]
    index = {n: i for i, n in enumerate(now.names)}
    shown = ["views_7d", "carts_7d", "purchases_30d", "days_since_last_event"] + (
        ["category_views_30d"] if category else []
    )
    rows = [
        (
            now.users[i],
            round(float(probabilities[i]), 3),
            *(plain_feature(now.features[i, index[n]]) for n in shown),
            _signals(now.features[i], index, category),
        )
        for i in order
    ]
    what = _outcome_words(args.outcome, args.days, category)
    expected = float(probabilities[among].sum())
    at_least = (
        ""
        if args.min_probability is None
        else f"{len(likely):,} have a chance of at least {args.min_probability:.0%} to {what}; "
    )
    if rows:
        summary = (
            f"Of {int(among.sum()):,} {group}, about {expected:,.0f} are expected to {what}; {at_least}the most likely: "
            + narrate.listing([f"user {r[0]} ({r[1]:.0%})" for r in rows[:3]])
            + "."
        )
    elif among.any():
        summary = (
            f"None of the {int(among.sum()):,} {group} has a chance of at least {args.min_probability:.0%}"
            f" to {what} (the likeliest: {float(probabilities[ranked[0]]):.0%})."
        )
    else:
        summary = f"None of the {group} to predict for."
    return ToolResult(
        columns=["user_id", "probability", *shown, "signals"],
        rows=rows,
        truncated=len(likely) > args.k,
        notes=[
            f"{int(among.sum()):,} {group}; expected to {what}: about {expected:,.0f} (the sum of their"
            " probabilities)"
            + (
                ""
                if args.min_probability is None
                else f"; {len(likely):,} at {args.min_probability:.0%} or more"
            ),
            f"backtest on the data's last {narrate.plural(args.days, 'day')} (trained without them):"
            f" AUC {check.auc:.2f}, precision in the top tenth {check.precision_top_decile:.0%} against"
            f" {check.base_rate:.1%} overall, Brier score {check.brier:.3f}",
            f"gradient boosting over each user's views, carts, purchases, visits, spend and recency, learned from"
            f" {model.training_rows:,} past cases ({model.training_positives:,} had the outcome); probabilities calibrated",
        ],
        summary=summary,
        interpretation=f"The chance that each of the {group} will {what}, as of the data's end"
        f" ({now.cutoff:%Y-%m-%d}), learned from what happened after earlier cutoffs.",
    )


def segment_members(ctx: ToolContext, segment: str) -> tuple[set[str], str]:
    """(the segment's users, its name in a sentence): an RFM segment, high spenders (RFM spend
    score 4-5) or a behavior cluster."""
    from tools.segments import RFM_NAMES, behavior_clusters, named_cluster, rfm, segment_name

    wanted = segment.strip().lower().replace(" ", "_")
    if wanted in ("high_spenders", "big_spenders", "top_spenders"):
        return {str(r[0]) for r in rfm(ctx) if r[7] >= 4}, "high spenders (RFM spend score 4-5)"
    name = segment_name(segment, RFM_NAMES)
    if name is not None:
        return {str(r[0]) for r in rfm(ctx) if r[8] == name}, f"members of the RFM segment {name}"
    labels, clusters = behavior_clusters(ctx)
    cluster = named_cluster(clusters, segment)
    if cluster is None:
        known = ", ".join(["high_spenders", *RFM_NAMES, *(c.name for c in clusters)])
        raise ToolError(f"no segment called {segment!r}; segments: {known}")
    return {
        str(u) for u, c in labels.items() if c == cluster.cluster
    }, f"members of the cluster {cluster.name}"


def _trained(
    ctx: ToolContext, outcome: Outcome, days: int, category: str
) -> tuple[IntentModel, IntentEval, Snapshot]:
    ctx.progress("learning who buys and who leaves", None)
    past: dict[datetime, Snapshot] = {}  # the backtest's windows are the final model's too: taken once
    _, check = backtest(ctx, outcome, days, category, past)
    first, end = data_end(ctx)
    model = fit(
        [past.get(c) or snapshot(ctx, c, outcome, days, category) for c in training_cutoffs(end, days, first)]
    )
    return model, check, snapshot(ctx, end, outcome, days, category)


def plain_feature(value: float) -> float | int:
    """A feature as a table shows it: a count as an integer, else one decimal."""
    return int(value) if float(value).is_integer() else round(float(value), 1)


def _outcome_words(outcome: Outcome, days: int, category: str) -> str:
    period = f"in the next {narrate.plural(days, 'day')}"
    if outcome == "churn":
        return f"stay away (no visit) {period}"
    return f"buy{' in the ' + category + ' category' if category else ''} {period}"


def _signals(row: np.ndarray, index: dict[str, int], category: str) -> str:
    """The behavior behind a prediction, in words written from the features."""
    parts = []
    if category and row[index["category_views_30d"]]:
        parts.append(
            f"viewed {category} {narrate.plural(int(row[index['category_views_30d']]), 'time')} in 30 days"
        )
    if row[index["carts_7d"]]:
        parts.append(f"carted {narrate.plural(int(row[index['carts_7d']]), 'item')} in 7 days")
    if row[index["purchases_30d"]]:
        parts.append(f"bought {narrate.plural(int(row[index['purchases_30d']]), 'item')} in 30 days")
    last = row[index["days_since_last_event"]]
    parts.append(f"last seen {'today' if last < 1 else narrate.plural(int(last), 'day') + ' ago'}")
    return "; ".join(parts)


def _follow_ups(arguments: dict[str, Any], first: Any) -> list[str]:
    user = first("user_id")
    out = [f"What should we recommend to user {user}?"] if user is not None else []
    if arguments.get("outcome", "buy") == "buy":
        out.append("Which of my high spenders are about to churn?")
    return out


def tools(semantic: Any) -> list[Tool]:
    return [
        Tool(
            "predict_intent",
            predict_intent,
            PredictIntentArgs,
            prompt="who is likely to buy (in a category) in the next N days, or to churn (not come back), or"
            " which shoppers on the site now will buy in this visit.",
            follow_ups=_follow_ups,
        )
    ]
