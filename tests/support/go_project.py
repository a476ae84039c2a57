"""A small real Go service with behave scenarios behind ``make test``, and the tools' own
figures for it (counted here independently of phasectl's readers)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

STORE = """\
package store

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

// Unused is never called by the tests.
func Unused(n int) int {
	if n > 3 {
		return n * 2
	}
	return n
}
"""

STORE_TEST = """\
package store

import "testing"

func TestPut(t *testing.T) {
	s := New()
	s.Put("a", "1")
	if v, _ := s.Get("a"); v != "1" {
		t.Fatalf("got %q", v)
	}
}

func TestGet(t *testing.T) {
	s := New()
	s.Put("k", "v")
	t.Run("present", func(t *testing.T) {
		if _, ok := s.Get("k"); !ok {
			t.Fatal("missing")
		}
	})
	t.Run("absent", func(t *testing.T) {
		if _, ok := s.Get("nope"); ok {
			t.Fatal("found")
		}
	})
}

func TestBroken(t *testing.T) {
	if v, _ := New().Get("x"); v != "never" {
		t.Errorf("got %q", v)
	}
}

func TestLater(t *testing.T) {
	t.Skip("not yet")
}

func BenchmarkPut(b *testing.B) {
	s := New()
	for i := 0; i < b.N; i++ {
		s.Put("k", "v")
	}
}
"""

FEATURE = """\
Feature: the shop's store

  Scenario: a stored value can be read back
    Given an empty store
    When I put "a" as "1"
    Then "a" reads "1"

  Scenario: a value that was never stored
    Given an empty store
    Then "b" reads "2"

  @skip
  Scenario: not written yet
    Given an empty store
    Then "c" reads "3"
"""

STEPS = """\
from behave import given, then, when


@given("an empty store")
def empty(context):
    context.store = {}


@when('I put "{key}" as "{value}"')
def put(context, key, value):
    context.store[key] = value


@then('"{key}" reads "{value}"')
def reads(context, key, value):
    assert context.store.get(key) == value
"""

MAKEFILE = """\
.PHONY: test
# Each tool's output, then a copy of it kept per commit (in $(ARCHIVE)) for the test to read.
test:
\t-go test -json -covermode=set -coverprofile=cover.out ./... > go-test.json
\t-go test -run '^$$' -bench . -benchtime=2000x -count=3 ./... > bench.txt
\t-{python} -m behave --junit --junit-directory reports --no-capture -f progress features
\tmkdir -p $(ARCHIVE)/$$(git rev-parse HEAD)
\tcp -r go-test.json cover.out bench.txt reports $(ARCHIVE)/$$(git rev-parse HEAD)/
"""

CONFIG = """\
test_command = "make test"
results = ["go-test.json", "reports/*.xml"]
coverage = ["cover.out"]
benchmarks = ["bench.txt"]
"""


def go_project_files(archive: Path) -> dict[str, str]:
    return {
        "go.mod": "module example.com/shop\n\ngo 1.18\n",
        "store/store.go": STORE,
        "store/store_test.go": STORE_TEST,
        "features/store.feature": FEATURE,
        "features/steps/steps.py": STEPS,
        "Makefile": MAKEFILE.replace("{python}", sys.executable).replace(
            "$(ARCHIVE)", str(archive)
        ),
        ".phasectl.toml": CONFIG,
        ".gitignore": "go-test.json\ncover.out\nbench.txt\nreports/\n",
    }


def go_json_counts(path: Path) -> Counter[str]:
    """Every test and subtest's final action in a go test -json stream."""
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("Test") and event["Action"] in ("pass", "fail", "skip"):
                counts[event["Action"]] += 1
    return counts


def junit_counts(folder: Path) -> Counter[str]:
    """behave's JUnit: its testsuite attributes, summed over the files."""
    from defusedxml import ElementTree

    counts: Counter[str] = Counter()
    for path in sorted(folder.glob("*.xml")):
        suite = ElementTree.parse(path).getroot()
        assert suite is not None
        for key in ("tests", "failures", "errors", "skipped"):
            counts[key] += int(suite.get(key, "0"))
    return counts


def go_cover_total(repo: Path, profile: Path) -> str:
    """The ``total:`` percent ``go tool cover -func`` prints, e.g. ``"75.0"``."""
    out = subprocess.run(
        ["go", "tool", "cover", f"-func={profile}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"^total:\s+\(statements\)\s+([\d.]+)%$", out, re.MULTILINE)
    assert found is not None, out
    return found.group(1)


def go_bench_median_ns(path: Path) -> dict[str, float]:
    """Median ns/op per benchmark name, from go's own result lines."""
    import statistics

    values: dict[str, list[float]] = {}
    for line in path.read_text().splitlines():
        found = re.match(r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op", line)
        if found:
            values.setdefault(found.group(1), []).append(float(found.group(2)))
    return {name: statistics.median(v) for name, v in values.items()}
