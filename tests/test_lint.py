"""The project's linter configuration (ruff, in pyproject.toml) passes on the whole repository."""
import shutil
import subprocess
import sys

import pytest
from conftest import REPO_ROOT


def test_ruff_passes():
    if shutil.which("ruff") is None and subprocess.run([sys.executable, "-m", "ruff", "--version"],
                                                       capture_output=True).returncode != 0:
        pytest.skip("ruff is not installed (requirements.txt pins it)")
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
