"""The project's interpreter: found as a shell finds it, and said plainly when it cannot run
phasectl's test run (no pytest or coverage.py in it, or no Python at all)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import Executable, commit, run_cli
from support.projects import CALC_TEST, pytest_summary, python_project


def bare_venv(where: Path, *packages: str) -> Path:
    """A real virtual environment of this Python without pip, pytest or coverage.py;
    ``packages`` of ours are made importable in it (linked into a folder its .pth names)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    if packages:
        shared = where / "shared"
        shared.mkdir()
        ours = Path(sysconfig.get_paths()["purelib"])
        for name in packages:
            (shared / name).symlink_to(ours / name)
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        Path(site, "shared.pth").write_text(f"{shared}\n")
    return python


def own_answer(python: Path, module: str) -> str:
    """What the interpreter itself says when asked to run ``module``."""
    done = subprocess.run(
        [str(python), "-m", module, "--version"], capture_output=True, text=True, check=False
    )
    return done.stderr.strip().splitlines()[-1] if done.returncode else ""


@pytest.mark.parametrize(
    ("linked", "missing"), [((), ("pytest", "coverage")), (("coverage",), ("pytest",))]
)
def test_an_interpreter_without_pytest_or_coverage_is_one_error(
    git_repo: Path, tmp_path: Path, linked: tuple[str, ...], missing: tuple[str, ...]
) -> None:
    python = bare_venv(tmp_path / "venv", *linked)
    for module in ("pytest", "coverage"):
        said = own_answer(python, module)
        assert (f"No module named {module}" in said) == (module in missing), said
    config = f'python = "{python}"\n'
    python_project(git_repo, {"test_calc.py": CALC_TEST}, **{".phasectl.toml": config})
    result = run_cli("--repo", str(git_repo), "collect", "-q", "--run-base", "never")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"Error: the project's interpreter {python} has no {' and no '.join(missing)}, which "
        f"phasectl's test run needs: install with {python} -m pip install {' '.join(missing)}"
    )


def test_a_bare_python_name_is_looked_up_on_path(
    git_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file of that name in the repository is not what a shell would run.
    trap = "#!/bin/sh\necho this is the repository's file >&2\nexit 9\n"
    python_project(
        git_repo, {"test_calc.py": CALC_TEST}, **{".phasectl.toml": 'python = "python3"\n'}
    )
    commit(git_repo, {"python3": Executable(trap)}, "a file named python3")
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (folder / "python3").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    result = run_cli("--repo", str(git_repo), "collect", "--format", "json", "-q")
    assert result.exit_code == 0, result.stderr
    after = json.loads(result.stdout_bytes)["tests"]["after"]
    assert after["passed"] == pytest_summary(git_repo)["passed"] == 1


def test_an_interpreter_that_is_no_python_says_so(git_repo: Path) -> None:
    config = 'python = "/bin/false"\n'
    python_project(git_repo, {"test_calc.py": CALC_TEST}, **{".phasectl.toml": config})
    done = subprocess.run(["/bin/false"], capture_output=True, check=False)
    result = run_cli("--repo", str(git_repo), "collect", "-q", "--run-base", "never")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: the test run (/bin/false -m coverage run -m pytest) exited with status "
        f"{done.returncode} and printed nothing: is /bin/false a Python interpreter? Set python "
        "in the phasectl config to the project's interpreter\n"
    )
