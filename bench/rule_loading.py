"""What loading the rules costs: ``llm-dlp scan`` of a one-line file (almost all of it start-up),
and inside one process the imports the scan needs, the first load of the bundled rules and a
reload after an edit of their secrets file (what the proxy's reloader does when a rule file
changes), in CPU seconds. Each checkout has a cache directory of its own, warm; once, each
also runs the scan with an empty cache, the slow path every cache falls back to.

    .venv/bin/python bench/rule_loading.py [--rounds 5] [--against ADDONS]

With ``--against``, the same measurements run with another checkout's ``addons`` on the path,
in alternate rounds, so old and new code are compared under the same load."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent
ADDONS = Path(__file__).resolve().parent.parent / "addons"
CACHE_ENV = "LLM_DLP_CACHE_DIR"

# run in a child process: (imports, first load, reload after an edit) in CPU s
IN_PROCESS = """
import json, shutil, sys, tempfile, time
from pathlib import Path

started = time.process_time()
from llm_dlp.inspect.request import inspect_request
from llm_dlp.rules.files import bundled_rules_dir
from llm_dlp.rules.ruleset import load_ruleset
imports = time.process_time() - started

rules = Path(tempfile.mkdtemp()) / "rules"
shutil.copytree(bundled_rules_dir(), rules)
started = time.process_time()
load_ruleset(rules)
first = time.process_time() - started

secrets = rules / "secrets.yaml"  # another text, the same rules: a comment added
secrets.write_text(secrets.read_text() + "# edited in round " + sys.argv[1] + "\\n")
started = time.process_time()
load_ruleset(rules)
reload = time.process_time() - started
shutil.rmtree(rules.parent)
print(json.dumps([imports, first, reload]))
"""


def cpu_of(command: list[str], addons: Path, cache: Path, worst: int = 0) -> tuple[float, str]:
    """(CPU s, stdout) of one command; one that exits beyond ``worst`` stops the benchmark."""
    env = {**os.environ, "PYTHONPATH": str(addons), CACHE_ENV: str(cache)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode > worst:
        sys.exit(f"{' '.join(command[:3])} failed ({done.returncode}): {done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, done.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--against", type=Path, default=None, metavar="ADDONS", help="another checkout's addons, run alternately")
    args = ap.parse_args()
    if args.against and not (args.against / "llm_dlp").is_dir():
        ap.error(f"{args.against} holds no llm_dlp package (the installed one would run instead)")
    codes = {"this": ADDONS} | ({"other": args.against} if args.against else {})
    rows = ["scan of a one-line file", "imports of the scan", "first load of the rules", "reload after an edit", "scan, empty cache"]
    best = {code: [float("inf")] * len(rows) for code in codes}
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp, "small.py")
        small.write_text("x = 1\n")
        scan = [str(BIN / "llm-dlp"), "scan", str(small)]
        for code, addons in codes.items():
            best[code][4] = cpu_of(scan, addons, Path(tmp, f"cache-{code}"), worst=1)[0]  # fills the cache as well
        for n in range(args.rounds):
            for code, addons in codes.items():
                cache = Path(tmp, f"cache-{code}")
                cpu, _ = cpu_of(scan, addons, cache, worst=1)
                _, out = cpu_of([sys.executable, "-c", IN_PROCESS, str(n)], addons, cache)
                for i, value in enumerate([cpu, *json.loads(out)]):
                    best[code][i] = min(best[code][i], value)
    print(f"CPU s, best of {args.rounds} rounds (the empty-cache scan: one run)")
    print(f"{'':28}" + "".join(f"{code:>10}" for code in codes))
    for i, row in enumerate(rows):
        print(f"{row:28}" + "".join(f"{best[code][i]:10.3f}" for code in codes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
