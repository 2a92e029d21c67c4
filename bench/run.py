"""``python bench/run.py``: the harness run as a script, from any working directory."""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a file, Python puts bench/ itself on the path; the harness imports
    # itself as the package ``bench``, so the repository root must be there.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.harness import main

    sys.exit(main())
