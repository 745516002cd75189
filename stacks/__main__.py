"""Entry point for `pulumi up` (Pulumi.yaml: `main: stacks/`).

Pulumi runs this file with stacks/ as the script directory, so the repository root is put on
sys.path first; everything else lives in `stacks.program`.
"""

import sys
from pathlib import Path

_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from stacks.program import run  # noqa: E402

run()
