"""Real Go modules and real tool runs shared by the Go, gotestsum and hyperfine tests.

Tools: go (Debian golang-go), hyperfine and gotestsum (Debian packages; .ci/run installs
them). A missing tool skips its tests, unless PHASECTL_REQUIRE_TOOLS=1 or CI is set, when
it fails them. Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# Offline and reproducible; one build cache for the whole run (the tests' HOME changes).
GO_SETTINGS = {
    "GOPROXY": "off",
    "GOFLAGS": "",
    "GOTOOLCHAIN": "local",
    "GOWORK": "off",
    "CGO_ENABLED": "0",
    "GOCACHE": str(Path(tempfile.gettempdir()) / "phasectl-tests-gocache"),
}
GO_ENV = {**os.environ, **GO_SETTINGS}

SVC_FILES = {
    "go.mod": "module example.com/svc\n\ngo 1.18\n",
    "store/store.go": """package store

// Store is a tiny map wrapper.
type Store struct{ m map[string]string }

// New returns an empty store.
func New() *Store { return &Store{m: map[string]string{}} }

// Put stores v under k.
func (s *Store) Put(k, v string) {
	if k == "" {
		panic("empty key")
	}
	s.m[k] = v
}

// Get returns the value under k.
func (s *Store) Get(k string) (string, bool) {
	v, ok := s.m[k]
	return v, ok
}

// Unused is never called by tests.
func Unused(n int) int {
	total := 0
	for i := 0; i < n; i++ {
		total += i
	}
	return total
}
""",
    "store/store_test.go": """package store

import (
	"testing"
	"time"
)

func TestPut(t *testing.T) {
	s := New()
	s.Put("a", "1")
	if v, _ := s.Get("a"); v != "1" {
		t.Fatal("bad")
	}
}

func TestTable(t *testing.T) {
	for _, k := range []string{"x", "y"} {
		t.Run(k, func(t *testing.T) { New().Put(k, k) })
	}
	t.Run("skipme", func(t *testing.T) { t.Skip("not today") })
	t.Run("nested", func(t *testing.T) {
		t.Run("deep", func(t *testing.T) {})
	})
}

func TestFails(t *testing.T) {
	t.Run("ok", func(t *testing.T) {})
	t.Run("bad", func(t *testing.T) { t.Error("boom") })
}

func TestSkipped(t *testing.T) { t.Skip("skip whole") }

func BenchmarkPut(b *testing.B) {
	s := New()
	for i := 0; i < b.N; i++ {
		s.Put("k", "v")
	}
}

// BenchmarkSlow pauses between go printing its name and its figures, so that
// go test -json reports them in two Output events.
func BenchmarkSlow(b *testing.B) {
	time.Sleep(50 * time.Millisecond)
	for i := 0; i < b.N; i++ {
		_ = New()
	}
}

func BenchmarkGet(b *testing.B) {
	s := New()
	s.Put("k", "v")
	b.Run("small", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s.Get("k")
		}
	})
}
""",
    "api/api.go": """package api

import "example.com/svc/store"

// Handle uses the store.
func Handle(k string) string {
	s := store.New()
	s.Put(k, "v")
	v, _ := s.Get(k)
	return v
}
""",
    "api/api_test.go": """package api

import "testing"

func TestHandle(t *testing.T) {
	if Handle("q") != "v" {
		t.Fatal("bad")
	}
}
""",
    "notests/notests.go": "package notests\n\n// Y does nothing.\nfunc Y() {}\n",
    "mainexit/mainexit_test.go": """package mainexit

import (
	"os"
	"testing"
)

func TestOK(t *testing.T) {}

func TestMain(m *testing.M) {
	m.Run()
	os.Exit(3)
}
""",
}


def need(tool: str) -> str:
    """Return the tool's path; skip (or fail with PHASECTL_REQUIRE_TOOLS=1) when missing."""
    found = shutil.which(tool)
    if found is None:
        message = f"{tool} is not installed (apt-get install -y {tool})"
        if os.environ.get("PHASECTL_REQUIRE_TOOLS") == "1" or os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def run(args: list[str], cwd: Path, codes: tuple[int, ...] = (0, 1)) -> str:
    """Run a real tool; return its stdout; fail on an exit code not in ``codes``."""
    done = subprocess.run(
        args, cwd=cwd, env=GO_ENV, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode in codes, f"{args} exited {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout


def run_to_file(args: list[str], cwd: Path, out: Path, codes: tuple[int, ...] = (0, 1)) -> Path:
    out.write_text(run(args, cwd, codes), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example.com/svc module: two tested packages, one without tests, a TestMain exit."""
    need("go")
    return write_tree(tmp_path_factory.mktemp("svc"), SVC_FILES)


@pytest.fixture(scope="session")
def svc_test_json(svc: Path) -> Path:
    return run_to_file(["go", "test", "-json", "-count=1", "./..."], svc, svc / "test.json")


@pytest.fixture
def go(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Go toolchain, with the settings above for every process the test starts."""
    need("go")
    for name, value in GO_SETTINGS.items():
        monkeypatch.setenv(name, value)
