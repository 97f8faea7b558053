"""The shipped llama.cpp server: llama-cpp-python's OpenAI server and a store of read prompts.

Reading ShopLens's system prompt (tools, examples, the data's facts: about 7k tokens) takes one
to seven minutes on 2 CPU cores, and an engine keeps only the prompt it read last. The store
keeps what a read leaves in the engine (its tokens and KV cache, ~29 KB a token for the 1.5B
model) on disk, so that a restarted engine, a relaunched app or a switch back to a dataset
loads it in about a second instead of reading it again. Reads are saved only when ShopLens asks
(after a warm-up), not after every completion as llama-cpp-python's own disk cache does.

Server: `python -m assistant.llm.llama_server --prompt_store DIR <llama_cpp.server arguments>`.
Client: `load_read` and `save_read`, keyed by `read_key` (the model and the prompt's text).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from pydantic import BaseModel

log = logging.getLogger(__name__)

KEY_PATTERN = "^[0-9a-f]{64}$"
# Saved reads kept per model, the least recently used dropped first (a 7k-token read is ~200 MB).
STORE_BYTES = 2 * 2**30
PREFIX = "/shoplens/reads"


class SavedRead(BaseModel):
    """A read saved to or loaded from the store."""

    tokens: int
    bytes: int
    seconds: float


def read_key(model: str, system_prompt: str) -> str:
    """The store's name for a read: the same model and the same prompt give the same key."""
    return hashlib.sha256(f"{model}\0{system_prompt}".encode()).hexdigest()


def _reads_url(base_url: str, key: str, action: str) -> str:
    return f"{base_url.removesuffix('/v1')}{PREFIX}/{key}/{action}"


def load_read(base_url: str, key: str, headers: dict[str, str] | None = None) -> SavedRead | None:
    """Have the engine load a saved read; None if it has none for `key` (or cannot load it)."""
    try:
        response = httpx.post(_reads_url(base_url, key, "load"), headers=headers, timeout=120)
    except httpx.HTTPError as exc:
        log.warning("loading a saved read failed: %s", exc)
        return None
    if response.status_code != 200:
        return None
    return SavedRead.model_validate(response.json())


def save_read(base_url: str, key: str, headers: dict[str, str] | None = None) -> SavedRead | None:
    """Have the engine save what it holds now (the read just made) under `key`."""
    try:
        response = httpx.post(_reads_url(base_url, key, "save"), headers=headers, timeout=120)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("saving the read failed: %s", exc)
        return None
    return SavedRead.model_validate(response.json())


class ReadStore:
    """Files of saved reads for one model file: `<dir>/<key>.read` (llama.cpp's state file:
    tokens and KV cache), written whole or not at all, and `<key>.tokens.npy` (its tokens, to
    find the read that shares the longest start with a prompt without opening the state)."""

    def __init__(self, root: Path, model_path: str) -> None:
        self.dir = root / Path(model_path).stem
        self.dir.mkdir(parents=True, exist_ok=True)
        self.tokens: dict[str, np.ndarray] = {}
        for path in self.dir.glob("*.tokens.npy"):
            key = path.name.removesuffix(".tokens.npy")
            if self.path(key).exists():
                self.tokens[key] = np.load(path)

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.read"

    def _tokens_path(self, key: str) -> Path:
        return self.dir / f"{key}.tokens.npy"

    def save(self, llama: Any, key: str) -> SavedRead:
        import llama_cpp

        clock = time.perf_counter()
        count = int(llama.n_tokens)
        held = np.array(llama.input_ids[:count], dtype=np.int32)
        tokens = (llama_cpp.llama_token * count)(*held.tolist())
        path, partial = self.path(key), self.dir / f".{key}.{os.getpid()}.part"
        try:
            if not llama_cpp.llama_state_save_file(llama.ctx, str(partial).encode(), tokens, count):
                raise OSError(f"llama.cpp could not write {partial}")
            np.save(self._tokens_path(key), held)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        self.tokens[key] = held
        self._trim()
        return SavedRead(tokens=count, bytes=path.stat().st_size, seconds=time.perf_counter() - clock)

    def load(self, llama: Any, key: str) -> SavedRead | None:
        import llama_cpp

        path = self.path(key)
        if not path.exists():
            return None
        clock = time.perf_counter()
        capacity = llama.n_ctx()
        tokens = (llama_cpp.llama_token * capacity)()
        count = ctypes.c_size_t(0)
        if not llama_cpp.llama_state_load_file(
            llama.ctx, str(path).encode(), tokens, capacity, ctypes.byref(count)
        ):
            log.warning("could not load the saved read %s: dropped", path.name)
            self._drop(key)
            llama.reset()  # a failed load may leave the KV cache half written
            llama._ctx.kv_cache_clear()
            return None
        llama.input_ids[: count.value] = tokens[: count.value]
        llama.n_tokens = count.value
        llama._requires_eval = True  # what follows the read is decoded before anything is sampled
        path.touch()  # recently used: trimmed last
        return SavedRead(tokens=count.value, bytes=path.stat().st_size, seconds=time.perf_counter() - clock)

    def load_for(self, llama: Any, prompt: list[int]) -> str | None:
        """Before a prompt is read: when a saved read shares a longer start with it than what the
        engine holds (by MIN_GAIN tokens or more), load that read, so that only the rest is read
        (two sessions on two datasets, one engine). Returns the key loaded, if any."""
        if not self.tokens or not prompt:
            return None
        wanted = np.asarray(prompt, dtype=np.int32)
        held = _shared(np.asarray(llama.input_ids[: llama.n_tokens], dtype=np.int32), wanted)
        best, key = max(
            ((_shared(tokens, wanted), k) for k, tokens in self.tokens.items()), default=(0, None)
        )
        if key is None or best < held + MIN_GAIN:
            return None
        loaded = self.load(llama, key)
        if loaded is None:
            return None
        log.info("loaded the saved read %s (%d tokens) for a prompt of %d", key[:12], best, len(prompt))
        return key

    def _drop(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
        self._tokens_path(key).unlink(missing_ok=True)
        self.tokens.pop(key, None)

    def _trim(self) -> None:
        reads = sorted(self.dir.glob("*.read"), key=lambda p: p.stat().st_mtime, reverse=True)
        total = 0
        for read in reads:
            total += read.stat().st_size
            if total > STORE_BYTES and read is not reads[0]:
                self._drop(read.name.removesuffix(".read"))


# A saved read is loaded before a prompt only when it spares reading this many tokens more than
# what the engine holds (a load takes well under a second; 256 tokens take seconds on 2 cores).
MIN_GAIN = 256


def _shared(a: np.ndarray, b: np.ndarray) -> int:
    """How many tokens two sequences share from their start."""
    n = min(len(a), len(b))
    differs = np.flatnonzero(a[:n] != b[:n])
    return int(differs[0]) if len(differs) else n


def load_reads_before_prompts(llama: Any, store: ReadStore) -> None:
    """Have every prompt the engine reads start from the saved read that shares the most with it."""
    generate = llama.generate

    def generate_from_a_saved_read(tokens: Any, *args: Any, **kwargs: Any) -> Any:
        store.load_for(llama, list(tokens))
        return generate(tokens, *args, **kwargs)

    llama.generate = generate_from_a_saved_read


def add_read_routes(app: Any, store: ReadStore) -> None:
    """`POST /shoplens/reads/{key}/save|load`, behind the server's key and its model lock."""
    from fastapi import Depends, HTTPException
    from fastapi import Path as PathParam
    from llama_cpp.server.app import authenticate, get_llama_proxy
    from starlette.concurrency import run_in_threadpool

    Key = PathParam(pattern=KEY_PATTERN)

    @app.post(f"{PREFIX}/{{key}}/save", dependencies=[Depends(authenticate)])
    async def save(key: str = Key) -> SavedRead:
        async with contextlib.asynccontextmanager(get_llama_proxy)() as proxy:
            return await run_in_threadpool(store.save, proxy(None), key)

    @app.post(f"{PREFIX}/{{key}}/load", dependencies=[Depends(authenticate)])
    async def load(key: str = Key) -> SavedRead:
        async with contextlib.asynccontextmanager(get_llama_proxy)() as proxy:
            read = await run_in_threadpool(store.load, proxy(None), key)
        if read is None:
            raise HTTPException(status_code=404, detail="no saved read under this key")
        return read


def main() -> None:
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.cli import add_args_from_model, parse_model_from_args
    from llama_cpp.server.settings import ModelSettings, ServerSettings, Settings

    parser = argparse.ArgumentParser(description="llama-cpp-python's server with ShopLens's store of reads")
    parser.add_argument("--prompt_store", type=Path, required=True, help="where saved reads are kept")
    add_args_from_model(parser, Settings)
    args = parser.parse_args()
    server_settings = parse_model_from_args(ServerSettings, args)
    model_settings = parse_model_from_args(ModelSettings, args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = create_app(server_settings=server_settings, model_settings=[model_settings])
    store = ReadStore(args.prompt_store, model_settings.model)
    add_read_routes(app, store)
    from llama_cpp.server import app as server

    load_reads_before_prompts(server._llama_proxy(None), store)  # type: ignore[misc]
    uvicorn.run(app, host=server_settings.host, port=server_settings.port)


if __name__ == "__main__":
    main()
