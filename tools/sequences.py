"""Behavior sequences: a self-attention encoder over each shopper's products in time order
(SASRec: Kang & McAuley, 2018, trained with a full softmax over the catalog as in Klenitskiy &
Vasilev, 2023), used to recommend the next products and to explain them.

Each shopper (a user, or an anonymous session) is the sequence of products they touched, each
step with its event kind (view, save, cart, purchase); repeats of one product in a row are one
step. The encoder reads the last `max_len` steps and predicts the next product from every
prefix. Training stops early on a time split of the data (the last tenth of the days), then the
model is trained again on all of it for the best number of epochs. A recommendation's evidence
is exact, not a heatmap: the score's drop when each history product is left out of the sequence.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from assistant.embeddings import default_device
from tools.base import ToolContext, ToolError
from tools.recommend import (
    Case,
    Interactions,
    Scorer,
    evaluation_cases,
    ordered_sequences,
    split_day,
    top_k,
)

log = logging.getLogger(__name__)

# Above this many products a step's loss is a softmax over the target and a shared sample of
# negatives (uniform, so no correction is due): a full softmax would not fit in memory.
FULL_SOFTMAX_UP_TO = 30_000
SAMPLED_NEGATIVES = 4096


@dataclass
class SequenceConfig:
    dim: int = 64
    layers: int = 2
    heads: int = 2
    max_len: int = 50
    dropout: float = 0.2
    learning_rate: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 40
    min_epochs: int = 10  # small data learns slowly and its validation is noisy: no stop before
    patience: int = 3  # epochs without a better validation Recall@20 before stopping
    max_seconds: float = 900.0  # training stops here whatever the validation says
    seed: int = 0


class SASRec(nn.Module):
    """Item + event-kind + position embeddings through causal self-attention; a step's scores
    over the catalog are its output times the (tied) item embeddings."""

    def __init__(self, n_items: int, config: SequenceConfig) -> None:
        super().__init__()
        self.config = config
        self.items = nn.Embedding(n_items + 1, config.dim, padding_idx=0)  # 0 pads
        self.kinds = nn.Embedding(5, config.dim, padding_idx=0)
        self.positions = nn.Embedding(config.max_len, config.dim)
        layer = nn.TransformerEncoderLayer(
            config.dim,
            config.heads,
            2 * config.dim,
            config.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.dim)
        self.dropout = nn.Dropout(config.dropout)
        nn.init.normal_(self.items.weight, std=config.dim**-0.5)
        with torch.no_grad():
            self.items.weight[0].zero_()

    def forward(self, items: torch.Tensor, kinds: torch.Tensor) -> torch.Tensor:
        """items, kinds: batch x max_len, left-padded with 0; the hidden state of every step."""
        batch, length = items.shape
        positions = torch.arange(length, device=items.device)
        x = self.items(items) * math.sqrt(self.config.dim) + self.kinds(kinds) + self.positions(positions)
        # A step sees itself and the real steps before it; a padding step sees only itself (a
        # row with nothing to attend to would be NaN).
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=items.device), 1)
        padding = (items == 0)[:, None, :] & ~torch.eye(length, dtype=torch.bool, device=items.device)
        mask = (causal[None] | padding).repeat_interleave(self.config.heads, dim=0)
        return self.norm(self.encoder(self.dropout(x), mask=mask))

    def item_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Scores of every product (column i is item i; the padding column is left out)."""
        return hidden @ self.items.weight[1:].T


def _windows(
    sequences: list[tuple[np.ndarray, np.ndarray]], max_len: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training windows (inputs, kinds, next items), left-padded: a long sequence is cut into
    pieces of `max_len` steps so that every step is predicted once."""
    inputs, kinds, targets = [], [], []
    for items, item_kinds in sequences:
        tokens = items + 1
        for end in range(len(tokens), 1, -max_len):
            start = max(0, end - max_len - 1)
            piece, piece_kinds = tokens[start:end], item_kinds[start:end]
            pad = max_len - (len(piece) - 1)
            inputs.append(np.r_[np.zeros(pad, np.int64), piece[:-1]])
            kinds.append(np.r_[np.zeros(pad, np.int64), piece_kinds[:-1]])
            targets.append(np.r_[np.zeros(pad, np.int64), piece[1:]])
    if not inputs:
        return (torch.zeros((0, max_len), dtype=torch.long),) * 3
    return (
        torch.from_numpy(np.stack(inputs)),
        torch.from_numpy(np.stack(kinds)),
        torch.from_numpy(np.stack(targets)),
    )


def _left_padded(
    sequences: list[tuple[np.ndarray, np.ndarray]], max_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    items = np.zeros((len(sequences), max_len), np.int64)
    kinds = np.zeros((len(sequences), max_len), np.int64)
    for row, (seq_items, seq_kinds) in enumerate(sequences):
        tail = slice(max(0, len(seq_items) - max_len), len(seq_items))
        n = tail.stop - tail.start
        if n:
            items[row, max_len - n :] = seq_items[tail] + 1
            kinds[row, max_len - n :] = seq_kinds[tail]
    return torch.from_numpy(items), torch.from_numpy(kinds)


@dataclass
class SequenceModel:
    """A trained encoder with the products it knows (those in its training data)."""

    network: SASRec
    known: np.ndarray  # bool per item: seen in training (others are never recommended)
    device: str
    epochs: int = 0
    validation_recall: list[float] = field(default_factory=list)
    train_seconds: float = 0.0

    @torch.no_grad()
    def encode(self, sequences: list[tuple[np.ndarray, np.ndarray]]) -> torch.Tensor:
        """The encoder's state after each sequence's last step (sequences x dim)."""
        self.network.eval()
        items, kinds = _left_padded(sequences, self.network.config.max_len)
        return self.network(items.to(self.device), kinds.to(self.device))[:, -1]

    @torch.no_grad()
    def scores(self, sequences: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Next-product probabilities (sequences x items); unknown products 0."""
        logits = self.network.item_logits(self.encode(sequences))
        logits[:, ~torch.from_numpy(self.known).to(self.device)] = float("-inf")
        probabilities = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        empty = np.array([len(s[0]) == 0 for s in sequences])
        probabilities[empty] = 0.0
        return probabilities

    def contributions(self, items: np.ndarray, kinds: np.ndarray, target: int) -> list[tuple[int, float]]:
        """(history product, its share of the target's score), biggest first: how much the
        target's log-probability drops when every step with that product is left out (occlusion),
        as a share of all such drops."""
        items, kinds = items[-self.network.config.max_len :], kinds[-self.network.config.max_len :]
        distinct = list(dict.fromkeys(items.tolist()))
        # Left out = padding in its place (-1 pads once shifted), so the other steps keep their
        # positions and only the product's own effect is measured.
        variants = [(items, kinds)] + [
            (np.where(items == j, -1, items), np.where(items == j, 0, kinds)) for j in distinct
        ]
        logits = np.log(np.maximum(self.scores(variants)[:, target], 1e-30))
        drops = logits[0] - logits[1:]
        positive = drops.clip(min=0)
        total = float(positive.sum()) or 1.0
        ranked = sorted(zip(distinct, positive.tolist(), strict=True), key=lambda t: -t[1])
        return [(j, d / total) for j, d in ranked if d > 0]

    def state(self) -> dict:
        return {
            "config": asdict(self.network.config),
            "n_items": int(self.known.shape[0]),
            "weights": {k: v.cpu() for k, v in self.network.state_dict().items()},
            "known": torch.from_numpy(self.known),
            "epochs": self.epochs,
            "validation_recall": self.validation_recall,
            "train_seconds": self.train_seconds,
        }

    @classmethod
    def from_state(cls, state: dict, device: str) -> SequenceModel:
        network = SASRec(state["n_items"], SequenceConfig(**state["config"]))
        network.load_state_dict(state["weights"])
        return cls(
            network.to(device),
            state["known"].numpy().astype(bool),
            device,
            state["epochs"],
            list(state["validation_recall"]),
            state["train_seconds"],
        )


def _recall_at_20(model: SequenceModel, cases: list[Case]) -> float:
    recalls = []
    for start in range(0, len(cases), 256):
        batch = cases[start : start + 256]
        for case, scores in zip(batch, model.scores([(c.sequence, c.kinds) for c in batch]), strict=True):
            ranked = top_k(scores, 20, exclude=case.history_items)
            recalls.append(sum(i in case.targets for i in ranked) / len(case.targets))
    return float(np.mean(recalls)) if recalls else 0.0


def train_network(
    sequences: list[tuple[np.ndarray, np.ndarray]],
    n_items: int,
    config: SequenceConfig,
    *,
    epochs: int | None = None,
    validation: list[Case] | None = None,
    device: str | None = None,
    progress: Callable[[str, float | None], None] = lambda stage, fraction: None,
    stage: str = "training the sequence model",
) -> SequenceModel:
    """Train on `sequences` (item indexes and kinds, time-ordered): a fixed number of epochs, or
    until the validation cases' Recall@20 has not improved for `config.patience` epochs (the
    best epoch's weights are kept)."""
    device = device or default_device()
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    known = np.zeros(n_items, dtype=bool)
    for items, _ in sequences:
        known[items] = True
    network = SASRec(n_items, config).to(device)
    model = SequenceModel(network, known, device)
    inputs, kinds, targets = _windows(sequences, config.max_len)
    if not len(inputs):
        raise ToolError("no shopper touched two products in a row: there is no sequence to learn from")
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=0.01)
    max_epochs = epochs or config.max_epochs
    best, best_state, best_epoch, since_best = -1.0, None, 0, 0
    started = time.perf_counter()
    for epoch in range(1, max_epochs + 1):
        network.train()
        order = torch.randperm(len(inputs), generator=generator)
        steps = range(0, len(order), config.batch_size)
        for step, start in enumerate(steps):
            batch = order[start : start + config.batch_size]
            loss = _loss(
                network,
                inputs[batch].to(device),
                kinds[batch].to(device),
                targets[batch].to(device),
                n_items,
                generator,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step % 20 == 0:
                progress(stage, min(1.0, (epoch - 1 + step / len(steps)) / max_epochs))
        model.epochs = epoch
        if validation:
            recall = _recall_at_20(model, validation)
            model.validation_recall.append(round(recall, 4))
            log.info("epoch %d: loss %.3f, validation Recall@20 %.4f", epoch, loss.item(), recall)
            if recall >= best:  # a tie keeps the later epoch: no sign of overfitting yet
                best, best_epoch, since_best = recall, epoch, 0
                best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
            else:
                since_best += 1
                if since_best >= config.patience and epoch >= config.min_epochs:
                    break
        if time.perf_counter() - started > config.max_seconds:
            log.warning("sequence model: stopped at epoch %d after %.0fs", epoch, config.max_seconds)
            break
    if best_state is not None:
        network.load_state_dict(best_state)
        model.epochs = best_epoch
    model.train_seconds = round(time.perf_counter() - started, 1)
    progress(stage, 1.0)
    return model


def _loss(
    network: SASRec,
    items: torch.Tensor,
    kinds: torch.Tensor,
    targets: torch.Tensor,
    n_items: int,
    generator: torch.Generator,
) -> torch.Tensor:
    hidden = network(items, kinds)
    real = targets > 0
    hidden, targets = hidden[real], targets[real] - 1
    if n_items <= FULL_SOFTMAX_UP_TO:
        return nn.functional.cross_entropy(network.item_logits(hidden), targets)
    negatives = torch.randint(0, n_items, (SAMPLED_NEGATIVES,), generator=generator).to(hidden.device)
    weights = network.items.weight[1:]
    positive = (hidden * weights[targets]).sum(-1, keepdim=True)
    negative = hidden @ weights[negatives].T
    negative = negative.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    logits = torch.cat([positive, negative], dim=1)
    return nn.functional.cross_entropy(
        logits, torch.zeros(len(logits), dtype=torch.long, device=hidden.device)
    )


def fitted_length(
    config: SequenceConfig, sequences: Iterable[tuple[np.ndarray, np.ndarray]]
) -> SequenceConfig:
    """The config with `max_len` cut to what the data needs (the 99th percentile of sequence
    lengths, at least 8): sessions of a few clicks do not pay for 50 positions each."""
    lengths = [len(items) for items, _ in sequences]
    needed = int(np.percentile(lengths, 99)) if lengths else config.max_len
    return replace(config, max_len=min(config.max_len, max(8, needed)))


def fit(
    interactions: Interactions,
    config: SequenceConfig | None = None,
    device: str | None = None,
    progress: Callable[[str, float | None], None] = lambda stage, fraction: None,
) -> SequenceModel:
    """A model of the interactions before `now`: the number of epochs chosen on a time split
    (the last tenth of the days held out), then trained again on everything for that many."""
    config = fitted_length(config or SequenceConfig(), ordered_sequences(interactions).values())
    n_items = len(interactions.items)
    validation_split = split_day(interactions, 0.10).astype("datetime64[s]")
    earlier = interactions.subset(interactions.time < validation_split)
    _, validation = evaluation_cases(interactions, validation_split, max_cases=2000)
    started = time.perf_counter()
    if validation and len(earlier.item):
        chosen = train_network(
            list(ordered_sequences(earlier).values()),
            n_items,
            config,
            validation=validation,
            device=device,
            progress=progress,
            stage="choosing the sequence model's epochs",
        )
        epochs, curve = chosen.epochs, chosen.validation_recall
    else:  # too little data for a validation split: a fixed, short training
        epochs, curve = 10, []
    model = train_network(
        list(ordered_sequences(interactions).values()),
        n_items,
        config,
        epochs=epochs,
        device=device,
        progress=progress,
    )
    model.validation_recall = curve
    model.train_seconds = round(time.perf_counter() - started, 1)
    log.info("sequence model: %d epochs (validation Recall@20 %s), %.0fs", epochs, curve, model.train_seconds)
    return model


def fit_for_evaluation(train: Interactions, split_time: np.datetime64) -> Scorer:
    """`tools.recommend.evaluate`'s model: fitted on the training period (everything before
    `split_time`), scoring the cases' sequences."""
    model = fit(train)
    return lambda cases: model.scores([(c.sequence, c.kinds) for c in cases])


# ---------------------------------------------------------------- the shop's own model


@dataclass
class ShopSequences:
    """The model of the shop's whole history, with each shopper's sequence to score from."""

    model: SequenceModel
    sequences: dict[str, tuple[np.ndarray, np.ndarray]]  # entity -> (items, kinds)


def shop_sequences(ctx: ToolContext, interactions: Interactions) -> ShopSequences:
    """The shop's sequence model: from the artifacts folder when the data has not changed,
    else trained (with a progress bar) and saved there."""
    return ctx.cached("sequence_model", lambda: _saved_or_trained(ctx, interactions))


def _saved_or_trained(ctx: ToolContext, interactions: Interactions) -> ShopSequences:
    path: Path = ctx.artifacts_dir / "sequence_model.pt"
    fingerprint = ctx.fingerprint()
    device = default_device()
    sequences = {interactions.entities[e]: s for e, s in ordered_sequences(interactions).items()}
    if path.exists():
        try:
            saved = torch.load(path, weights_only=True, map_location=device)
            if saved["fingerprint"] == fingerprint and saved["items"] == interactions.items:
                return ShopSequences(SequenceModel.from_state(saved, device), sequences)
        except Exception as exc:  # a damaged file is retrained, never trusted
            log.warning("sequence model at %s is unreadable (%s); training it again", path, exc)
    model = fit(interactions, device=device, progress=ctx.progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    torch.save({**model.state(), "fingerprint": fingerprint, "items": interactions.items}, partial)
    partial.replace(path)  # a crash mid-write leaves the old model, never half a new one
    return ShopSequences(model, sequences)
