"""The sequence model (tools/sequences.py): it learns orders ItemKNN cannot see, its evidence
names the step that caused a recommendation, and the shop's model is kept and reused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from assistant.settings import Settings
from assistant.warehouse.db import Warehouse
from tools.base import ToolContext
from tools.recommend import (
    ExplainArgs,
    Interactions,
    RecommendArgs,
    explain_recommendation,
    ordered_sequences,
    recommend,
)
from tools.sequences import SASRec, SequenceConfig, train_network

from .conftest import DemoShops

SMALL = SequenceConfig(dim=32, max_len=10, dropout=0.0, max_epochs=60, batch_size=64, seed=1)


def _views(items: list[int]) -> tuple[np.ndarray, np.ndarray]:
    return np.array(items, dtype=np.int64), np.ones(len(items), dtype=np.int64)


def test_padding_never_turns_scores_into_nan() -> None:
    network = SASRec(20, SMALL).eval()
    items = torch.tensor([[0] * 10, [0] * 7 + [3, 4, 5]])
    hidden = network(items, (items > 0).long())
    assert torch.isfinite(hidden).all()


def test_the_model_learns_what_comes_next_in_an_order() -> None:
    """A shop where product i is always followed by product i+1: the next product is known
    from the last step alone, which a co-occurrence model (symmetric) cannot tell from i-1."""
    rng = np.random.default_rng(0)
    sequences = []
    for _ in range(400):
        start = int(rng.integers(0, 25))
        sequences.append(_views(list(range(start, start + 5))))
    model = train_network(sequences, 30, SMALL, epochs=40, device="cpu")
    scores = model.scores([_views([7, 8, 9]), _views([20, 21])])
    assert scores.argmax(axis=1).tolist() == [10, 22]
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-4)
    assert scores[:, 29].max() == 0.0  # never seen in training: never recommended


def test_an_empty_history_scores_nothing() -> None:
    model = train_network([_views([1, 2, 3])] * 20, 5, SMALL, epochs=2, device="cpu")
    assert model.scores([_views([])]).sum() == 0.0


def test_the_evidence_is_the_step_that_decides() -> None:
    """The product after three random steps is decided by the first one (cue c -> 20 + c): left
    out, the cue costs the target its score; the noise does not."""
    rng = np.random.default_rng(1)
    sequences = []
    for _ in range(1500):
        cue = int(rng.integers(0, 5))
        noise = rng.choice(np.arange(5, 20), 3, replace=False).tolist()
        sequences.append(_views([cue, *noise, 20 + cue]))
    model = train_network(sequences, 25, SMALL, epochs=40, device="cpu")
    items, kinds = _views([3, 11, 6, 17])
    assert model.scores([(items, kinds)])[0].argmax() == 23
    evidence = model.contributions(items, kinds, 23)
    assert evidence[0][0] == 3 and evidence[0][1] > 0.5
    assert sum(share for _, share in evidence) == pytest.approx(1.0)


def test_repeats_in_a_row_are_one_step_at_their_strongest_kind(tmp_path: Path) -> None:
    t = np.array(
        ["2026-01-01T00:00", "2026-01-01T00:01", "2026-01-01T00:02", "2026-01-01T00:03"], "datetime64[s]"
    )
    inter = Interactions(
        entity=np.array([0, 0, 0, 0]),
        session=np.array([0, 0, 0, 0]),
        item=np.array([4, 4, 2, 4]),
        weight=np.array([1.0, 3.0, 1.0, 1.0], dtype=np.float32),
        time=t,
        entities=["u1"],
        sessions=["s1"],
        items=["a", "b", "c", "d", "e"],
    )
    items, kinds = ordered_sequences(inter)[0]
    assert items.tolist() == [4, 2, 4] and kinds.tolist() == [3, 1, 1]  # cart, view, view


@pytest.mark.slow
def test_sequence_recommendations_are_grounded_and_the_model_is_kept(
    tmp_path: Path, demo_shops: DemoShops
) -> None:
    settings = Settings(data_dir=tmp_path, recommender="sequence")
    demo_shops.copy(settings.data_dir, 30_000, seed=7)
    warehouse = Warehouse(settings, read_only=True)
    ctx = ToolContext.open(settings, warehouse)
    stages: list[str] = []
    ctx.progress = lambda stage, fraction: stages.append(stage)
    user = ctx.rows(
        "SELECT user_id FROM events WHERE user_id IS NOT NULL AND product_id IS NOT NULL"
        " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    )[0][0]
    result = recommend(ctx, RecommendArgs(user_id=user, k=5))
    assert "sequence model" in result.notes[0] and len(result.rows) == 5
    touched = {r[0] for r in ctx.rows("SELECT DISTINCT product_id FROM events WHERE user_id = $u", u=user)}
    assert not touched & {r[0] for r in result.rows}  # nothing they already touched
    # Every "because of" is a product of the user's own steps.
    titles = {
        f"{r[1]} ({r[0]})"
        for r in ctx.rows(
            "SELECT product_id, title FROM products WHERE list_contains($p, product_id)", p=list(touched)
        )
    }
    assert {r[5] for r in result.rows} <= titles | {"the order of all steps"}
    assert "training the sequence model" in stages and (ctx.artifacts_dir / "sequence_model.pt").exists()

    why = explain_recommendation(ctx, ExplainArgs(user_id=user, product_id=result.rows[0][0]))
    history = [r for r in why.rows if r[0] == "history item"]
    assert history and {r[1] for r in history} <= touched
    assert why.rows[-1][3] == "ranked 1 of the user's recommendations"
    assert "sequence model" in why.interpretation

    # A new context on unchanged data loads the kept model: same picks, no training.
    again = ToolContext.open(settings, warehouse)
    again.progress = lambda stage, fraction: stages.append("again: " + stage)
    same = recommend(again, RecommendArgs(user_id=user, k=5))
    assert [r[0] for r in same.rows] == [r[0] for r in result.rows]
    assert not [s for s in stages if s.startswith("again: ") and "sequence" in s]
    # ItemKNN still answers when a call asks for it.
    assert "co-occurrence" in recommend(ctx, RecommendArgs(user_id=user, k=5, model="itemknn")).notes[0]
    warehouse.close()


@pytest.mark.real_data
def test_the_recommender_evaluation_scores_every_model_on_the_same_cases() -> None:
    """ALS (implicit) is a real peer: it beats popularity on real sessions; the sequence model,
    ItemKNN, ALS and popularity are scored on the very same cases."""
    from eval.recommender_eval import fit_als, models, temporary_shop
    from tools.recommend import BASELINES, evaluate

    from .conftest import real

    assert list(models()) == ["sequence (SASRec)", "itemknn", "als (implicit)", "popularity"]
    with temporary_shop([real("diginetica/diginetica_sample_train-item-views_SR-GNN.csv")], 0) as ctx:
        results = {r.model: r for r in evaluate(Interactions.read(ctx), models={"als": fit_als, **BASELINES})}
    assert len({r.cases for r in results.values()}) == 1
    assert results["als"].recall_at_20 > 3 * results["popularity"].recall_at_20
