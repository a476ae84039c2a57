"""A small, realistic sample repository for ``make demo`` and the end-to-end tests.

``build_sample_repo(path)`` makes a Python package "inventory" with tests, in two
phases: ``phase/1-foundation`` is tagged; phase 2 (not yet tagged, HEAD on ``main``)
renames a module with an edit, modifies and deletes files, adds a module, a test file,
a docs page, a PNG and a lock-file change. ``python tests/support/sample_repo.py --demo`` builds
it in a temporary folder and runs ``phasectl collect`` and ``phasectl report`` on it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

PHASE_1_TAG = "phase/1-foundation"

STORE = '''\
"""In-memory stock keeping for the inventory service."""

from __future__ import annotations


class Store:
    """Items and their quantities."""

    def __init__(self) -> None:
        self._stock: dict[str, int] = {}

    def add(self, item: str, quantity: int = 1) -> None:
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self._stock[item] = self._stock.get(item, 0) + quantity

    def remove(self, item: str, quantity: int = 1) -> None:
        have = self._stock.get(item, 0)
        if quantity > have:
            raise ValueError(f"only {have} {item} in stock")
        self._stock[item] = have - quantity

    def count(self, item: str) -> int:
        return self._stock.get(item, 0)
'''

PRICING = '''\
"""Prices and discounts."""

from __future__ import annotations

PRICES = {"apple": 0.5, "pear": 0.75, "melon": 3.0}


def price(item: str, quantity: int) -> float:
    return PRICES[item] * quantity


def discount(total: float) -> float:
    if total > 100:
        return total * 0.9
    return total
'''

TEST_STORE = """\
import pytest

from inventory.store import Store


def test_add_and_count():
    store = Store()
    store.add("apple", 3)
    assert store.count("apple") == 3


def test_remove_too_many():
    store = Store()
    store.add("pear")
    with pytest.raises(ValueError):
        store.remove("pear", 2)
"""

TEST_PRICES = """\
from inventory.prices import discount, price, total


def test_price():
    assert price("apple", 4) == 2.0


def test_discount_over_100():
    assert discount(200) == 180


def test_total():
    assert total({"apple": 2, "melon": 1}) == 4.0
"""

REPORTS = '''\
"""Stock reports: what is running low."""

from __future__ import annotations

from inventory.store import Store


def low_stock(store: Store, items: list[str], threshold: int = 2) -> list[str]:
    return [item for item in items if store.count(item) < threshold]
'''

PYPROJECT = """\
[project]
name = "inventory"
version = "0.2.0"
requires-python = ">=3.10"

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]
addopts = "-p no:cacheprovider"

[tool.coverage.run]
source = ["src"]
branch = true
"""


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A real PNG image (a small gradient), made with zlib and struct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + bytes((x * 30) % 256 for x in range(width * 3)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class SampleRepo:
    """Where the sample lives and what phase 2 changed, for tests to check."""

    path: Path
    tag: str = PHASE_1_TAG
    expected_statuses: dict[str, str] = field(default_factory=dict)
    renamed_from: dict[str, str] = field(default_factory=dict)
    lock_file: str = "uv.lock"


def git_env(home: Path, when: str) -> dict[str, str]:
    """git's environment for the sample's commits: its own HOME, no system config, one
    author, and ``when`` (ISO 8601) as both dates."""
    return {
        **os.environ,
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Grace Maintainer",
        "GIT_AUTHOR_EMAIL": "grace@example.com",
        "GIT_COMMITTER_NAME": "Grace Maintainer",
        "GIT_COMMITTER_EMAIL": "grace@example.com",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
    }


def build_sample_repo(path: Path) -> SampleRepo:
    """Build the sample repository at ``path`` (created; must not exist or be empty)."""
    path.mkdir(parents=True, exist_ok=True)
    home = path.parent / f".{path.name}-home"
    home.mkdir(exist_ok=True)
    day = iter(range(1, 28))

    def git(*args: str) -> None:
        when = f"2026-03-{next(day):02d}T10:00:00Z"
        subprocess.run(
            ["git", *args], cwd=path, env=git_env(home, when), check=True, capture_output=True
        )

    def write(files: dict[str, str | bytes | None]) -> None:
        for name, content in files.items():
            target = path / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")

    def commit(message: str, files: dict[str, str | bytes | None]) -> None:
        write(files)
        git("add", "--all")
        git("commit", "--quiet", "-m", message)

    git("init", "--quiet", "-b", "main")
    commit(
        "Foundation: store and pricing",
        {
            ".gitignore": "__pycache__/\n.coverage*\n",
            "pyproject.toml": PYPROJECT,
            "README.md": "# inventory\n\nStock and prices for the shop.\n",
            "src/inventory/__init__.py": '"""Inventory: stock and prices."""\n',
            "src/inventory/store.py": STORE,
            "src/inventory/pricing.py": PRICING,
            "src/inventory/legacy_csv.py": '"""Old CSV import."""\n\n\ndef load(text):\n'
            '    return [line.split(",") for line in text.splitlines()]\n',
            "tests/test_store.py": TEST_STORE,
            "uv.lock": "version = 1\n"
            + "".join(f'[[package]]\nname = "dep{n}"\n' for n in range(5)),
        },
    )
    git("tag", "--annotate", PHASE_1_TAG, "-m", "Phase 1: foundation")
    commit(
        "Rename pricing to prices and add totals",
        {
            "src/inventory/pricing.py": None,
            "src/inventory/prices.py": PRICING + "\n\ndef total(basket: dict[str, int]) -> float:\n"
            "    return sum(price(item, n) for item, n in basket.items())\n",
            "tests/test_prices.py": TEST_PRICES,
        },
    )
    commit(
        "Reports, docs, and dropping the CSV importer",
        {
            "src/inventory/reports.py": REPORTS,
            "src/inventory/legacy_csv.py": None,
            "src/inventory/store.py": STORE.replace(
                "    def count(self, item: str) -> int:",
                "    def items(self) -> list[str]:\n        return sorted(self._stock)\n\n"
                "    def count(self, item: str) -> int:",
            ),
            "docs/architecture.md": "# Architecture\n\nStore holds stock; prices prices it.\n",
            "docs/architecture.png": png_bytes(),
            "README.md": "# inventory\n\nStock, prices and reports for the shop.\n\n"
            "See docs/architecture.md.\n",
            "uv.lock": "version = 1\n"
            + "".join(f'[[package]]\nname = "dep{n}"\n' for n in range(8)),
        },
    )
    shutil.rmtree(home, ignore_errors=True)
    return SampleRepo(
        path=path,
        expected_statuses={
            "src/inventory/prices.py": "renamed",
            "tests/test_prices.py": "created",
            "src/inventory/reports.py": "created",
            "src/inventory/legacy_csv.py": "deleted",
            "src/inventory/store.py": "modified",
            "docs/architecture.md": "created",
            "docs/architecture.png": "created",
            "README.md": "modified",
            "uv.lock": "modified",
        },
        renamed_from={"src/inventory/prices.py": "src/inventory/pricing.py"},
    )


def _phasectl() -> list[str]:
    exe = Path(sys.executable).with_name("phasectl")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "phasectl"]


def main() -> int:
    parser = argparse.ArgumentParser(description="Build phasectl's sample repository.")
    parser.add_argument("path", nargs="?", type=Path, help="where to build it")
    parser.add_argument(
        "--demo", action="store_true", help="build in a temp folder and run phasectl"
    )
    parser.add_argument("--workdir", type=Path, help="with --demo: build under this folder")
    args = parser.parse_args()
    if not args.demo:
        if args.path is None:
            parser.error("give a PATH, or --demo")
        build_sample_repo(args.path)
        print(f"sample repository built at {args.path}")
        return 0
    parent = Path(tempfile.mkdtemp(prefix="phasectl-demo-", dir=args.workdir))
    sample = build_sample_repo(parent / "inventory")
    print(f"Sample repository: {sample.path}")
    print(f"Phase 1 is tagged {sample.tag}; phase 2 is on main, not yet tagged.\n")
    command = [*_phasectl(), "--repo", str(sample.path), "collect", "--format", "text"]
    print("$ phasectl --repo", sample.path, "collect --format text", flush=True)
    status = subprocess.run(command, check=False).returncode
    if status != 0:
        return status
    print(
        "\nThe base's figures are now stored as a git note (refs/notes/phasectl), so the\n"
        'report below reads "before" from the note instead of running the tests again.\n'
    )
    print("$ phasectl --repo", sample.path, "report --quiet", flush=True)
    command = [*_phasectl(), "--repo", str(sample.path), "report", "--quiet"]
    status = subprocess.run(command, check=False).returncode
    if status != 0:
        return status
    report = sample.path / "docs" / "phases" / "main.md"
    text = report.read_text(encoding="utf-8")
    start, end = text.index("## Metrics"), text.index("## Discoveries")
    print(f"\n{report}, its Metrics section:\n\n{text[start:end].rstrip()}\n")
    print(
        "Write the story around the generated regions; run 'phasectl report' again and\n"
        "only the regions change. For the JSON contract:\n"
        f"  phasectl --repo {sample.path} collect --format json --quiet"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
