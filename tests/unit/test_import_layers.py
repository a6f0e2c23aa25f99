"""The import contracts of pyproject.toml hold (``lint-imports``; ``make test`` runs it
first too): the packages in layers, each package's modules in layers, no cycle between
siblings at any depth, policy plain numpy, the core free of the edges. And they bite: a
cycle planted behind an import inside a function breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
N_CONTRACTS = 17


def _lint(config: Path, src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=config.parent,
        env=env,
        timeout=300,
    )


def test_import_contracts_hold():
    res = _lint(ROOT / "pyproject.toml", ROOT / "src")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout and f"{N_CONTRACTS} kept" in res.stdout, res.stdout


def _plant(tmp_path: Path, plants: dict[str, str]) -> tuple[Path, Path]:
    """A copy of src/ with ``plants`` (module path -> code appended), and the project's
    configuration beside it."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, code in plants.items():
        path = src / "makegood" / rel
        path.write_text(path.read_text() + "\n\n" + code)
    config = tmp_path / "pyproject.toml"  # the project's own contracts, unchanged
    shutil.copy(ROOT / "pyproject.toml", config)
    return config, src


def _broken(stdout: str) -> set[str]:
    """The names of the contracts reported broken (a name may wrap over lines)."""
    flat = " ".join(stdout.split())
    names = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["name"] for c in names["contracts"] if f"{c['name']} BROKEN" in flat}


@pytest.mark.parametrize(
    ("plants", "expected"),
    [
        (
            # training -> promotion -> evaluation -> training, closed inside a function
            {
                "modeling/evaluation_runner.py": (
                    "def _planted():\n    from makegood.modeling.train import train\n\n"
                    "    return train\n"
                )
            },
            {
                "No import cycle between siblings, at any depth (package or module)",
                "modeling in layers: training over promotion over evaluation over the models",
            },
        ),
        (
            # two policy modules no layers contract names, each importing the other late
            {
                "policy/value.py": (
                    "def _planted():\n    from makegood.policy import forecast\n\n"
                    "    return forecast\n"
                ),
                "policy/forecast.py": (
                    "def _planted():\n    from makegood.policy import value\n\n    return value\n"
                ),
            },
            {"No import cycle between siblings, at any depth (package or module)"},
        ),
    ],
    ids=["across-layers", "between-free-modules"],
)
def test_a_cycle_planted_inside_a_function_breaks_the_contracts(tmp_path, plants, expected):
    res = _lint(*_plant(tmp_path, plants))
    assert res.returncode != 0, res.stdout
    assert _broken(res.stdout) == expected, res.stdout
