"""What `llm-dlp scan FILE` costs a user beyond start-up on one big file of ordinary code, against
detect-secrets on a slice of it, in one run. Each command runs as its own process; its CPU time
(user + system, from the kernel's accounting of children) and wall time are measured; the best
of the rounds of the same command on an empty file is subtracted from the best on the big one:
what is left is the scan.

    .venv/bin/python bench/scan_command.py [--mb 17] [--rounds 3] [--ds-kb 300] [--against ADDONS]

The text is bench/scan_growth.py's (the Python standard library, then npm's JavaScript). With
``--against``, the same commands also run with another checkout's ``addons`` on the path, in
alternate rounds, so old and new code are compared under the same load. Each checkout has a
cache directory of its own, filled before the first round."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scan_growth import corpus

BIN = Path(sys.executable).parent
CACHE_ENV = "LLM_DLP_CACHE_DIR"
ADDONS = Path(__file__).resolve().parent.parent / "addons"


def run(command: list[str], addons: Path, cwd: str | None = None, cache: Path | None = None) -> tuple[float, float]:
    """(CPU s, wall s) of one command; its output is discarded. A command that fails (an exit
    status beyond 1, findings) stops the benchmark: its time would measure nothing."""
    env = {**os.environ, "PYTHONPATH": str(addons)} | ({CACHE_ENV: str(cache)} if cache else {})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, cwd=cwd)
    wall = time.perf_counter() - started
    if done.returncode > 1:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode(errors='replace')}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=17)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ds-kb", type=float, default=300, help="the slice detect-secrets scans (KB)")
    ap.add_argument("--against", type=Path, default=None, metavar="ADDONS", help="another checkout's addons, run alternately")
    args = ap.parse_args()
    if args.against and not (args.against / "llm_dlp").is_dir():
        ap.error(f"{args.against} holds no llm_dlp package (the installed one would run instead)")
    text = corpus(args.mb)
    with tempfile.TemporaryDirectory() as tmp:
        big, empty, part = Path(tmp, "big.txt"), Path(tmp, "empty.txt"), Path(tmp, "slice.txt")
        big.write_bytes(text)
        empty.write_bytes(b"")
        part.write_bytes(text[: text.rfind(b"\n", 0, int(args.ds_kb * 1000)) + 1])
        codes = {"this": ADDONS} | ({"other": args.against} if args.against else {})
        cells = {
            f"{code} {mode}": [str(BIN / "llm-dlp"), "scan", *flags]
            for code in codes
            for mode, flags in (("text", ["--protocol", "text"]), ("default", []))
        }
        # each checkout its own cache, filled before the rounds: two rule sets' databases may not
        # both fit in one, and each would then compile its own in every run
        caches = {code: Path(tmp, f"cache-{code}") for code in codes}
        for name, command in cells.items():
            run([*command, str(empty)], codes[name.split()[0]], cache=caches[name.split()[0]])
        best: dict[str, list[float]] = {}
        ds_cpu = ds_bare = float("inf")  # the best of each, as for llm-dlp
        for _ in range(args.rounds):
            for name, command in cells.items():
                code = name.split()[0]
                addons, cache = codes[code], caches[code]
                full, bare = run([*command, str(big)], addons, cache=cache), run([*command, str(empty)], addons, cache=cache)
                best[name] = [min(a, b) for a, b in zip(best.get(name, [float("inf")] * 4), (*full, *bare))]
            # run where the file is, by its name: given a path outside the working directory's
            # repository, detect-secrets scans nothing
            ds = [run([str(BIN / "detect-secrets"), "scan", path.name], ADDONS, cwd=tmp)[0] for path in (part, empty)]
            ds_cpu, ds_bare = min(ds_cpu, ds[0]), min(ds_bare, ds[1])
        mb, ds_mb = len(text) / 1e6, part.stat().st_size / 1e6
        ds_cpu -= ds_bare
        ds_rate = ds_mb / ds_cpu
        print(f"{mb:.1f} MB of code; best of {args.rounds} rounds; beyond start-up (the same command on an empty file)")
        print(f"{'':16}{'CPU s':>8}{'MB/CPU s':>10}{'wall s':>8}{'start-up CPU s':>16}{'x detect-secrets':>18}")
        for name in cells:
            full_cpu, full_wall, bare_cpu, bare_wall = best[name]
            cpu, wall = full_cpu - bare_cpu, full_wall - bare_wall
            print(f"{name:16}{cpu:8.3f}{mb / cpu:10.1f}{wall:8.3f}{bare_cpu:16.3f}{mb / cpu / ds_rate:18.0f}")
        print(f"detect-secrets on {ds_mb:.2f} MB: {ds_cpu:.3f} CPU s ({ds_rate:.3f} MB/CPU s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
