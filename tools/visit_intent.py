"""Intent per live visit: the chance that a visit still open ends in a purchase.

Learned from the shop's past visits: each one cut at a step before its first purchase (a step
drawn per visit from its id, so the same data always gives the same cases), with what had
happened up to there (views, carts, removals, searches, products and categories looked at,
minutes on the site, prices seen, the hour, and the visitor's earlier orders and visits), and
whether the visit went on to a purchase. A gradient-boosted classifier, calibrated, as for
`predict_intent`'s days ahead (`tools/intent.py`); the backtest trains on visits before the data's
last week and scores that week's visits, cut the same way.

Open visits are those whose last event is within `OPEN_MINUTES` of the newest event in the data
(with the collector running, the last half hour) and that have not bought yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from tools import narrate
from tools.base import ToolContext, ToolError, ToolResult
from tools.intent import IntentEval, IntentModel, Snapshot, fit, plain_feature, scored

OPEN_MINUTES = 30
TRAINING_DAYS = 28  # visits this far back before the test days teach the model
TEST_DAYS = 7  # the backtest scores the visits of the data's last week

# One row per visit: its steps up to `$cut_rule` (before any purchase), and whether it bought.
VISITS_SQL = """
WITH steps AS (
  SELECT session_id, user_id, event_time, event_type, product_id, category, price,
         row_number() OVER (PARTITION BY session_id ORDER BY event_time, event_type) AS step,
         min(CASE WHEN event_type = 'purchase' THEN event_time END) OVER (PARTITION BY session_id) AS bought_at,
         min(event_time) OVER (PARTITION BY session_id) AS started
  FROM events
  WHERE session_id IS NOT NULL AND event_time >= $since AND event_time < $until
), before AS (
  SELECT * FROM steps WHERE bought_at IS NULL OR event_time < bought_at
), cut AS (
  SELECT session_id, {cut_rule} AS at FROM before GROUP BY session_id
), visits AS (
  SELECT b.session_id, any_value(b.user_id) AS user_id, min(b.started) AS started,
    count(*) AS events_so_far,
    sum(CASE WHEN event_type = 'view' THEN 1 ELSE 0 END) AS views,
    sum(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carts,
    sum(CASE WHEN event_type = 'remove_from_cart' THEN 1 ELSE 0 END) AS removals,
    sum(CASE WHEN event_type = 'search' THEN 1 ELSE 0 END) AS searches,
    sum(CASE WHEN event_type = 'fav' THEN 1 ELSE 0 END) AS favorites,
    count(DISTINCT product_id) AS products,
    count(DISTINCT category) AS categories,
    (epoch(max(event_time)) - epoch(min(event_time))) / 60.0 AS minutes,
    coalesce(avg(price), 0) AS mean_price,
    coalesce(max(price), 0) AS top_price,
    hour(min(event_time)) AS hour,
    max(event_time) AS last_event,
    bool_or(bought_at IS NOT NULL) AS bought
  FROM before b JOIN cut c USING (session_id)
  WHERE b.step <= c.at
  GROUP BY b.session_id
), history AS (
  SELECT v.session_id,
    count(DISTINCT CASE WHEN e.event_type = 'purchase' THEN coalesce(e.order_id, e.session_id) END) AS earlier_orders,
    count(DISTINCT e.session_id) AS earlier_visits
  FROM visits v JOIN events e ON e.user_id = v.user_id AND e.event_time < v.started
       AND e.event_time >= v.started - INTERVAL 90 DAY
  WHERE v.user_id IS NOT NULL
  GROUP BY v.session_id
)
SELECT v.*, coalesce(h.earlier_orders, 0) AS earlier_orders, coalesce(h.earlier_visits, 0) AS earlier_visits
FROM visits v LEFT JOIN history h USING (session_id)
{where}
ORDER BY v.session_id"""

# A past visit is cut at a step drawn from its id, before its first purchase; an open visit is
# taken as far as it has gone.
PAST_CUT = "1 + hash(session_id) % max(step)"
OPEN_CUT = "max(step)"
FEATURES = [
    "events_so_far",
    "views",
    "carts",
    "removals",
    "searches",
    "favorites",
    "products",
    "categories",
    "minutes",
    "mean_price",
    "top_price",
    "hour",
    "earlier_orders",
    "earlier_visits",
]


@dataclass
class Visits:
    sessions: list[str]
    users: list[str | None]
    features: np.ndarray
    bought: np.ndarray


def visits(
    ctx: ToolContext, since: datetime, until: datetime, *, open_after: datetime | None = None
) -> Visits:
    """Past visits started in [since, until) cut before their purchase, or (with `open_after`) the
    visits still open then: last event after it, no purchase yet, taken whole."""
    if open_after is None:
        sql = VISITS_SQL.format(cut_rule=PAST_CUT, where="WHERE v.started >= $since")
        table = ctx.table(sql, since=since, until=until)
    else:
        sql = VISITS_SQL.format(cut_rule=OPEN_CUT, where="WHERE NOT v.bought AND v.last_event >= $open_after")
        table = ctx.table(sql, since=since, until=until, open_after=open_after)
    columns = [np.nan_to_num(table[c].to_numpy(zero_copy_only=False).astype(float)) for c in FEATURES]
    rows = table.num_rows
    return Visits(
        sessions=[str(s) for s in table["session_id"].to_pylist()],
        users=[None if u is None else str(u) for u in table["user_id"].to_pylist()],
        features=np.column_stack(columns) if rows else np.zeros((0, len(FEATURES))),
        bought=np.array(table["bought"].to_pylist(), dtype=bool) if rows else np.zeros(0, dtype=bool),
    )


def _as_snapshot(past: Visits, cutoff: datetime) -> Snapshot:
    return Snapshot(cutoff, past.sessions, FEATURES, past.features, past.bought)


def train(ctx: ToolContext, end: datetime) -> IntentModel:
    """The classifier from visits in the TRAINING_DAYS before `end`."""
    past = visits(ctx, end - timedelta(days=TRAINING_DAYS), end)
    return fit([_as_snapshot(past, end)])


def backtest(ctx: ToolContext, newest: datetime) -> IntentEval:
    """Trained on visits before the data's last TEST_DAYS days, scored on those days' visits (cut alike)."""
    start = datetime.combine(newest.date(), datetime.min.time()) - timedelta(days=TEST_DAYS - 1)
    model = train(ctx, start)
    test = visits(ctx, start, newest + timedelta(seconds=1))
    return scored("visit features", test.bought, model.probabilities(test.features))


def open_visit_intent(
    ctx: ToolContext, members: set[str] | None, group: str, k: int, min_probability: float | None
) -> ToolResult:
    """The open visits likeliest to end in a purchase, with the backtest (predict_intent's
    outcome buy_this_visit)."""
    newest = ctx.facts.last_event
    if newest is None:
        raise ToolError("the warehouse has no events yet")
    model, check = ctx.cached("intent:visit", lambda: _trained(ctx, newest))
    now = visits(
        ctx,
        newest - timedelta(days=1),
        newest + timedelta(seconds=1),
        open_after=newest - timedelta(minutes=OPEN_MINUTES),
    )
    among = np.array([members is None or u in members for u in now.users], dtype=bool)
    probabilities = model.probabilities(now.features) if len(now.sessions) else np.zeros(0)
    ranked = np.flatnonzero(among)[np.argsort(-probabilities[among], kind="stable")]
    likely = ranked if min_probability is None else ranked[probabilities[ranked] >= min_probability]
    index = {n: i for i, n in enumerate(FEATURES)}
    rows = [
        (
            now.sessions[i],
            now.users[i],
            round(float(probabilities[i]), 3),
            *(plain_feature(now.features[i, index[n]]) for n in SHOWN),
        )
        for i in likely[:k]
    ]
    open_count = int(among.sum())
    expected = float(probabilities[among].sum())
    who = f"open visits{'' if members is None else ' of ' + group}"
    if rows:
        summary = (
            f"Of {open_count:,} {who} (active in the {OPEN_MINUTES} minutes up to {newest:%Y-%m-%d %H:%M},"
            f" no purchase yet), expected to end in a purchase: about {expected:,.0f}; the most likely: "
            + narrate.listing([f"visit {r[0]} ({r[2]:.0%})" for r in rows[:3]])
            + "."
        )
    else:
        summary = (
            f"None of the {open_count:,} {who} has a chance of at least {min_probability:.0%} to end in a purchase."
            if open_count
            else f"No {who} in the {OPEN_MINUTES} minutes up to {newest:%Y-%m-%d %H:%M}."
        )
    return ToolResult(
        columns=["session_id", "user_id", "probability", *SHOWN],
        rows=rows,
        truncated=len(likely) > k,
        notes=[
            f"{open_count:,} {who} (active in the {OPEN_MINUTES} minutes up to {newest:%Y-%m-%d %H:%M},"
            f" no purchase yet); expected to buy in this visit: about {expected:,.0f}",
            f"backtest on the data's last {TEST_DAYS} days (trained on the {TRAINING_DAYS} days before): AUC {check.auc:.2f},"
            f" precision in the top tenth {check.precision_top_decile:.0%} against {check.base_rate:.1%} overall,"
            f" Brier score {check.brier:.3f}",
            f"gradient boosting over what each visit did so far and the visitor's earlier orders, learned from"
            f" {model.training_rows:,} past visits cut before any purchase ({model.training_positives:,} went on"
            " to buy); probabilities calibrated",
        ],
        summary=summary,
        interpretation=f"The chance that each visit still open at the data's end ({newest:%Y-%m-%d %H:%M}) ends in a"
        " purchase, learned from how earlier visits went on.",
    )


SHOWN = ["events_so_far", "views", "carts", "minutes", "earlier_orders"]


def _trained(ctx: ToolContext, newest: datetime) -> tuple[IntentModel, IntentEval]:
    ctx.progress("learning which visits end in a purchase", None)
    check = backtest(ctx, newest)
    return train(ctx, newest + timedelta(seconds=1)), check
