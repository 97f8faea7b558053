"""Offline evaluation of purchase intent and churn on a time split, side by side: the features-only
gradient-boosting baseline and the same with the sequence model's state added.

    python -m eval.intent_eval [--real-data ../shared/data/real] [--demo-events 300000]

For each data set and question (buy in the next N days, buy in a category, churn), the
classifier learns from cutoffs before the data's last N days and is scored on those days: AUC,
Brier score, precision in the top tenth against the base rate, and a reliability table. The
sequence model (one per data set, ENCODER_EPOCHS epochs) is trained on the events before the
earliest test cutoff only, so nothing of any test period reaches a feature.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from eval.recommender_eval import command_line, temporary_shop
from tools.base import ToolError
from tools.intent import IntentEval, Outcome, Snapshot, data_end, fit, scored, snapshot, training_cutoffs
from tools.recommend import Interactions, ordered_sequences

# (data set, files, questions: outcome, days, category)
SETS: dict[str, tuple[list[str] | None, list[tuple[Outcome, int, str]]]] = {
    "demo shop": (None, [("buy", 7, ""), ("buy", 14, "electronics"), ("churn", 14, "")]),
    "CDNOW (all 23,570 customers)": (["cdnow/CDNOW_master.txt"], [("buy", 30, ""), ("churn", 90, "")]),
    "Taobao (HotItems, 114 users)": (["taobao/UserBehavior_betashepherd_HotItems.csv"], [("buy", 2, "")]),
}
STATE_DIMENSIONS = 8  # the encoder's state, reduced by PCA fitted on the training rows
ENCODER_EPOCHS = 8


def with_sequence_state(snapshots: list[Snapshot], model, interactions: Interactions, pca) -> list[Snapshot]:
    """Each snapshot's features with the sequence model's state after each user's last step before
    its cutoff (reduced by `pca`)."""
    out = []
    for snap in snapshots:
        before = interactions.subset(interactions.time < np.datetime64(snap.cutoff, "s"))
        by_user = {interactions.entities[e]: s for e, s in ordered_sequences(before).items()}
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        sequences = [by_user.get(u, empty) for u in snap.users]
        state = (
            np.vstack(
                [model.encode(sequences[i : i + 512]).cpu().numpy() for i in range(0, len(sequences), 512)]
            )
            if sequences
            else np.zeros((0, model.network.config.dim))
        )
        reduced = pca.transform(state) if len(state) else np.zeros((0, STATE_DIMENSIONS))
        out.append(
            replace(
                snap,
                names=snap.names + [f"sequence_state_{i}" for i in range(STATE_DIMENSIONS)],
                features=np.hstack([snap.features, reduced]),
            )
        )
    return out


def evaluate_set(
    name: str, files: list[Path] | None, questions: list[tuple[Outcome, int, str]], demo_events: int
) -> list[tuple[str, IntentEval]]:
    from sklearn.decomposition import PCA

    from tools.sequences import SequenceConfig, fitted_length, train_network

    results = []
    with temporary_shop(files, demo_events) as ctx:
        interactions = Interactions.read(ctx)
        first, end = data_end(ctx)
        # One encoder per data set, trained only on what precedes the earliest test cutoff (so no
        # question's test period reaches it), for a fixed ENCODER_EPOCHS.
        earliest = end - timedelta(days=max(days for _, days, _ in questions))
        before = interactions.subset(interactions.time < np.datetime64(earliest, "s"))
        encoder = None
        if len(before.item):
            sequences = list(ordered_sequences(before).values())
            config = fitted_length(SequenceConfig(), sequences)
            encoder = train_network(sequences, len(interactions.items), config, epochs=ENCODER_EPOCHS)
        for outcome, days, category in questions:
            label = f"{outcome} in {days} days" + (f" ({category})" if category else "")
            test_cutoff = end - timedelta(days=days)
            train = [
                snapshot(ctx, c, outcome, days, category) for c in training_cutoffs(test_cutoff, days, first)
            ]
            test = snapshot(ctx, test_cutoff, outcome, days, category)
            try:
                model = fit(train)
            except ToolError as exc:
                logging.warning("%s, %s: %s", name, label, exc)
                continue
            results.append(
                (
                    label,
                    scored("features (gradient boosting)", test.outcome, model.probabilities(test.features)),
                )
            )
            if encoder is not None:
                train_states = with_sequence_state(train, encoder, interactions, _Identity())
                pca = PCA(STATE_DIMENSIONS, random_state=0).fit(
                    np.vstack([s.features[:, -encoder.network.config.dim :] for s in train_states])
                )
                train_s = with_sequence_state(train, encoder, interactions, pca)
                test_s = with_sequence_state([test], encoder, interactions, pca)[0]
                model_s = fit(train_s)
                results.append(
                    (
                        label,
                        scored(
                            "features + sequence state",
                            test_s.outcome,
                            model_s.probabilities(test_s.features),
                        ),
                    )
                )
            for _, r in results[-2:]:
                logging.info("%s, %s, %s: AUC %.3f, Brier %.4f", name, label, r.model, r.auc, r.brier)
    logging.info("%s: done", name)
    return results


class _Identity:
    """A PCA stand-in that keeps the raw state (to fit the real one on)."""

    def transform(self, x: np.ndarray) -> np.ndarray:
        return x


def report(results: dict[str, list[tuple[str, IntentEval]]]) -> str:
    lines = [
        "| data | question | model | users | base rate | AUC | Brier | precision, top tenth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for data, rows in results.items():
        for question, r in rows:
            lines.append(
                f"| {data} | {question} | {r.model} | {r.users:,} | {r.base_rate:.1%} | {r.auc:.3f} | {r.brier:.4f} "
                f"| {r.precision_top_decile:.1%} |"
            )
    lines.append("")
    lines.append(
        "Reliability (mean predicted → observed, users), first data set, features alone (the tool's model):"
    )
    first = next(iter(results.values()), [])
    for question, r in first:
        if not r.model.startswith("features +"):
            bins = ", ".join(f"{p:.2f}→{o:.2f} ({n})" for p, o, n in r.reliability)
            lines.append(f"- {question}: {bins}")
    return "\n".join(lines)


def main() -> None:
    options = command_line(__doc__)
    results = {}
    for name, (files, questions) in SETS.items():
        paths = None if files is None else [options.real_data / f for f in files]
        if paths is not None and not all(p.exists() for p in paths):
            logging.warning("skipping %s: not found under %s", name, options.real_data)
            continue
        label = f"{name} ({options.demo_events:,} events)" if files is None else name
        results[label] = evaluate_set(name, paths, questions, options.demo_events)
    print(report(results))  # noqa: T201 - the report is this script's output


if __name__ == "__main__":
    main()
