"""The layers are enforced by lint: `make lint` runs import-linter with the contract in pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("panel", "support", "orders", "providers", "billing", "core")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the project's packages and lint configuration, to break on purpose."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (make install)")
def test_the_tree_keeps_its_layers(tree):
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (make install)")
@pytest.mark.parametrize(
    ("module", "wrong_import"),
    [
        ("core/money.py", "import panel.models"),
        ("billing/services.py", "import orders.models"),
        ("providers/services.py", "import billing.services"),
        ("billing/services.py", "import providers.models"),
        ("orders/models.py", "import panel.views"),
        ("orders/models.py", "import support.models"),
        ("billing/services.py", "import support.services"),
    ],
)
def test_an_import_that_runs_up_or_across_fails_lint(tree, module, wrong_import):
    path = tree / module
    path.write_text(path.read_text() + f"\n{wrong_import}  # noqa\n")
    result = _lint(tree)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
