"""The long run: ``python -m tests.reliability.soak [--out FILE] [pytest args]``.

Runs the reliability suite with ``--long`` (40 crash rounds, 3,000 fuzzed
frames, 50 clients sending 100,000 commands) and writes what it measured to
FILE (default ``reliability-figures.json``), the figures docs/reliability.md quotes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.soak")
    parser.add_argument("--out", default="reliability-figures.json")
    parser.add_argument("--short", action="store_true", help="the CI sizes, not --long")
    args, rest = parser.parse_known_args(argv)
    out = Path(args.out).resolve()
    env = {**os.environ, "CLARE_FIGURES": str(out)}
    command = [sys.executable, "-m", "pytest", "tests/reliability", "-q", "-p", "no:cacheprovider"]
    if not args.short:
        command.append("--long")
    code = subprocess.run([*command, *rest], env=env, check=False).returncode
    if out.exists():
        print(json.dumps(json.loads(out.read_text()), indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
