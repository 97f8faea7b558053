"""CMake flags for building llama.cpp (llama-cpp-python) on this machine.

    CMAKE_ARGS="$(python3 assistant/llm/build_flags.py)" pip install 'llama-cpp-python[server]'

llama.cpp's default `-march=native` build segfaults on the first token on CPUs with AMX (Sapphire
Rapids, this project's machines and CI; llama.cpp issue #20824). So: no native build, every SIMD
extension this CPU has switched on one by one, and AMX always off. Stdlib only: it runs before
the project is installed.
"""

from __future__ import annotations

from pathlib import Path

# /proc/cpuinfo flag -> ggml CMake option
GGML_FLAGS = {
    "avx": "GGML_AVX",
    "avx2": "GGML_AVX2",
    "fma": "GGML_FMA",
    "f16c": "GGML_F16C",
    "bmi2": "GGML_BMI2",
    "avx_vnni": "GGML_AVX_VNNI",
    "avx512f": "GGML_AVX512",
    "avx512vbmi": "GGML_AVX512_VBMI",
    "avx512_vnni": "GGML_AVX512_VNNI",
    "avx512_bf16": "GGML_AVX512_BF16",
}
ALWAYS_OFF = ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")


def cpu_flags(cpuinfo: str) -> set[str]:
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cmake_args(flags: set[str]) -> str:
    args = ["-DGGML_NATIVE=OFF"]
    args += [f"-D{option}={'ON' if flag in flags else 'OFF'}" for flag, option in GGML_FLAGS.items()]
    args += [f"-D{option}=OFF" for option in ALWAYS_OFF]
    return " ".join(args)


if __name__ == "__main__":
    cpuinfo = Path("/proc/cpuinfo")
    print(cmake_args(cpu_flags(cpuinfo.read_text()) if cpuinfo.exists() else set()))
