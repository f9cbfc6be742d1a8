"""The import direction holds (issue 14): `lint-imports` checks the contracts in pyproject.toml.

Layers CLI -> web -> channels -> conversation, desk -> actions -> nlu -> store; the product never
imports dev-only code (devkit, tests, bench); tests and benchmarks never import each other.
"""
import subprocess
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def test_import_contracts_are_kept():
    result = subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
