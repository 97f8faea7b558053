"""Context retrieval: the solved examples and metrics most relevant to a question.

The prompt carries only these (a small model does better with a few close examples than with a
long manual). Similarity comes from the packaged sentence embeddings; without an encoder (tests,
or when embeddings are off) a word-overlap score stands in.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel

from assistant.embeddings import Encoder, VectorIndex
from tools.metrics import Metric, SemanticModel


class Example(BaseModel):
    question: str
    tool: str
    arguments: dict[str, Any]

    def call(self) -> dict[str, Any]:
        return {"tool": self.tool, "arguments": self.arguments}


def load_examples() -> list[Example]:
    text = resources.files("prompts").joinpath("examples.yaml").read_text()
    return [Example.model_validate(item) for item in yaml.safe_load(text)]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


class Retriever:
    def __init__(self, semantic: SemanticModel, examples: list[Example], encoder: Encoder | None) -> None:
        self.examples = examples
        self.metrics = list(semantic.metrics.values())
        self.encoder = encoder
        self._metric_texts = [
            f"{m.name.replace('_', ' ')}: {m.description} ({', '.join(m.synonyms)})" for m in self.metrics
        ]
        if encoder is not None:
            self._example_index = VectorIndex(
                [str(i) for i in range(len(examples))],
                encoder.encode([e.question for e in examples]),
                encoder.device,
            )
            self._metric_index = VectorIndex(
                [m.name for m in self.metrics], encoder.encode(self._metric_texts), encoder.device
            )

    def nearest(self, question: str, k: int) -> list[tuple[Example, float | None]]:
        """The k solved examples closest to the question, with their cosine similarity (None
        without an encoder: word overlap ranks them)."""
        if self.encoder is None:
            return [(e, None) for e in self.retrieve(question, k, 0)[0]]
        hits = self._example_index.search(self.encoder.encode([question]), k)[0]
        return [(self.examples[int(key)], float(score)) for key, score in hits]

    def retrieve(
        self, question: str, examples: int = 4, metrics: int = 5
    ) -> tuple[list[Example], list[Metric]]:
        if self.encoder is None:
            words = _words(question)
            by_overlap = lambda texts: sorted(range(len(texts)), key=lambda i: -len(words & _words(texts[i])))  # noqa: E731
            example_ids = by_overlap([e.question for e in self.examples])[:examples]
            metric_ids = by_overlap(self._metric_texts)[:metrics]
            return [self.examples[i] for i in example_ids], [self.metrics[i] for i in metric_ids]
        query = self.encoder.encode([question])
        example_hits = self._example_index.search(query, examples)[0]
        metric_hits = self._metric_index.search(query, metrics)[0]
        by_name = {m.name: m for m in self.metrics}
        return [self.examples[int(key)] for key, _ in example_hits], [by_name[key] for key, _ in metric_hits]
