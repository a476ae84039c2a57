"""action.yml, run here as a GitHub runner runs a composite action's steps.

Each ``run:`` step goes to a file run by ``bash --noprofile --norc -eo pipefail FILE``
with the step's ``env:``, in which the few expressions the action uses are substituted
(inputs, ``github.token``, ``github.action_path``, an earlier step's outputs); each step
gets a ``GITHUB_OUTPUT`` file of its own, and the first step that fails ends the action.
The repository is a real clone of a real origin, ``GITHUB_EVENT_PATH`` a pull_request
payload, and ``GITHUB_API_URL`` a loopback server that keeps issue comments as GitHub's
REST API does (pages, create, update, 403 for a read-only token).

Installing phasectl into a fresh virtualenv takes seconds, so the action's own install
step runs for real once per module (pip builds this checkout into a venv under that
run's RUNNER_TEMP); later action runs reuse its outputs instead of running it again.
Tests of how the inputs become phasectl's arguments put a stub that records its argv in
place of the installed command.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from conftest import commit, git, run_cli
from support.ci_api import serving
from support.projects import CALC, CALC_TEST, python_project

ROOT = Path(__file__).parent.parent
ACTION = ROOT / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
REPOSITORY = "octo/calc"
PR_NUMBER = 7
WRITE_TOKEN = "ghs_write"  # noqa: S105 - a made-up token the loopback API knows
READ_TOKEN = "ghs_read"  # noqa: S105 - what a fork's pull request gets: read-only
OTHER_TOKEN = "ghp_other"  # noqa: S105 - one a workflow names in the github-token input


def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return data


# ---------------------------------------------------------------- the runner


@dataclass
class StepRun:
    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


@dataclass
class ActionRun:
    steps: list[StepRun]
    outputs: dict[str, str]

    @property
    def returncode(self) -> int:
        return self.steps[-1].returncode

    def step(self, name: str) -> StepRun:
        return next(s for s in self.steps if s.name == name)


@dataclass
class Runner:
    """What a job on a runner gives the action: the workspace, RUNNER_TEMP, the job's
    environment (GITHUB_*, RUNNER_*, PATH with the project's python first)."""

    workspace: Path
    temp: Path
    env: dict[str, str]
    token: str = WRITE_TOKEN
    installed: dict[str, str] = field(default_factory=dict)
    """The install step's outputs from an earlier run: that step is then not run again."""


def read_outputs(path: Path) -> dict[str, str]:
    """A GITHUB_OUTPUT file: ``name=value`` lines and ``name<<DELIMITER`` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines() if path.exists() else [])
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value = []
            for item in lines:
                if item == delimiter:
                    break
                value.append(item)
            else:
                raise AssertionError(f"GITHUB_OUTPUT: {name} is not closed by {delimiter}")
            outputs[name] = "\n".join(value)
        elif line:
            name, value_text = line.split("=", 1)
            outputs[name] = value_text
    return outputs


def substitute(text: str, context: Mapping[str, str], steps: Mapping[str, dict[str, str]]) -> str:
    """The ``${{ }}`` expressions the action uses, as GitHub evaluates them; any other
    expression fails the test, so that one added to the action is noticed here."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        found = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
        if found:  # an output a step did not set is an empty string
            return steps.get(found.group(1), {}).get(found.group(2), "")
        if expression not in context:
            raise AssertionError(f"action.yml uses ${{{{ {expression} }}}}: not emulated here")
        return context[expression]

    return EXPRESSION.sub(value, text)


def run_action(
    runner: Runner, inputs: Mapping[str, str] | None = None, *, stop_after: str | None = None
) -> ActionRun:
    """Run action.yml's steps in order as the runner does; stop at the first that fails
    (or after the step whose id is ``stop_after``)."""
    data = action()
    declared = data["inputs"]
    unknown = set(inputs or {}) - set(declared)
    assert not unknown, f"inputs the action does not declare: {unknown}"
    context = {"github.token": runner.token, "github.action_path": str(ROOT)}
    for name, spec in declared.items():
        given = (inputs or {}).get(name)
        context[f"inputs.{name}"] = (
            given if given is not None else substitute(str(spec.get("default", "")), context, {})
        )
    steps: dict[str, dict[str, str]] = {}
    done: list[StepRun] = []
    scripts = runner.temp / "_steps"
    scripts.mkdir(exist_ok=True)
    for index, step in enumerate(data["runs"]["steps"]):
        if runner.installed and step.get("id") == "install":
            steps["install"] = runner.installed
            continue
        assert step["shell"] == "bash", step
        script = scripts / f"{index}.sh"
        script.write_text(step["run"], encoding="utf-8")
        output = scripts / f"{index}.output"
        env = {
            **runner.env,
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_OUTPUT": str(output),
            **{k: substitute(str(v), context, steps) for k, v in step.get("env", {}).items()},
        }
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=runner.workspace, env=env, capture_output=True, text=True, check=False,
            timeout=300,  # a step that waits for ever (on the API, say) fails the test instead
        )  # fmt: skip
        ran = StepRun(step["name"], result.returncode, result.stdout, result.stderr, {})
        ran.outputs = read_outputs(output)
        if step.get("id"):
            steps[step["id"]] = ran.outputs
        done.append(ran)
        if result.returncode != 0 or (stop_after and step.get("id") == stop_after):
            break
    outputs = {
        name: substitute(spec["value"], context, steps) for name, spec in data["outputs"].items()
    }
    return ActionRun(done, outputs)


def job_env(workspace: Path, temp: Path, event: str, payload: dict[str, Any]) -> dict[str, str]:
    """The variables a runner sets for a job, over this machine's environment (without any
    GitHub or virtualenv variables it may have of its own)."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "RUNNER_")) and k not in ("VIRTUAL_ENV", "CI")
    }
    event_file = temp / "_event.json"
    event_file.write_text(json.dumps(payload), encoding="utf-8")
    summary = temp / "_step_summary.md"
    summary.touch()
    pull = payload.get("pull_request")
    return {
        **base,
        # The project's python first, as actions/setup-python leaves it.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": "http://127.0.0.1:9",  # the tests that comment name their server
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_file),
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_REF": f"refs/pull/{PR_NUMBER}/merge" if pull else "refs/heads/main",
        "GITHUB_BASE_REF": pull["base"]["ref"] if pull else "",
        "GITHUB_HEAD_REF": pull["head"]["ref"] if pull else "",
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(temp),
    }


def pull_request_payload(workspace: Path, *, fork: bool = False) -> dict[str, Any]:
    """A pull_request event (``synchronize``) for the checkout's HEAD into ``main``."""
    head_repo = "contributor/calc" if fork else REPOSITORY
    return {
        "action": "synchronize",
        "number": PR_NUMBER,
        "pull_request": {
            "number": PR_NUMBER,
            "head": {
                "ref": "feature",
                "sha": git(workspace, "rev-parse", "HEAD").strip(),
                "repo": {"full_name": head_repo, "fork": fork},
            },
            "base": {
                "ref": "main",
                "sha": git(workspace, "rev-parse", "origin/main").strip(),
                "repo": {"full_name": REPOSITORY, "fork": False},
            },
        },
        "repository": {"full_name": REPOSITORY},
    }


# ---------------------------------------------------------------- the install, once


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The action's install step, run for real: its outputs (the installed phasectl and
    the project's environment)."""
    temp = tmp_path_factory.mktemp("install-runner-temp")
    workspace = tmp_path_factory.mktemp("install-workspace")
    env = job_env(workspace, temp, "push", {})
    env["HOME"] = os.environ["HOME"]  # pip's own cache and settings
    run = run_action(Runner(workspace, temp, env), stop_after="install")
    (install,) = run.steps
    assert install.returncode == 0, install.stdout + install.stderr
    return install.outputs


def test_the_install_step_puts_phasectl_in_a_venv_of_its_own(installed: dict[str, str]) -> None:
    phasectl = Path(installed["phasectl"])
    venv = phasectl.parent.parent
    assert venv.name == "phasectl-venv"
    assert venv.parent.name.startswith("install-runner-temp")  # under RUNNER_TEMP
    version = subprocess.run(
        [str(phasectl), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert version.strip() == f"phasectl, version {metadata.version('phasectl')}"
    # Installed from this checkout (not an editable link back to it) into its own venv,
    # not into the project's python.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import phasectl; print(phasectl.__file__)"],
        capture_output=True, text=True, check=True, cwd=venv,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(venv)
    # The project's tests run with PATH's python (the tests' own here), named to phasectl.
    prefix = subprocess.run(
        [installed["project-python"], "-c", "import sys; print(sys.prefix)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert prefix == sys.prefix


# ---------------------------------------------------------------- the action's shape


def test_the_action_is_composite_and_inputs_reach_scripts_only_through_env() -> None:
    data = action()
    assert data["runs"]["using"] == "composite"
    runs = [step for step in data["runs"]["steps"] if "run" in step]
    assert [step["shell"] for step in runs] == ["bash"] * len(runs)
    for step in runs:
        assert "${{" not in step["run"], f"an expression inside run: in {step['name']}"
    referenced = {
        m.group(1)
        for step in runs
        for value in step.get("env", {}).values()
        for m in re.finditer(r"inputs\.([\w-]+)", str(value))
    }
    assert referenced == set(data["inputs"])
    assert set(data["outputs"]) == {
        "coverage", "patch-coverage", "tests-passing", "gates", "report", "phasectl"
    }  # fmt: skip
    for name in ("coverage", "patch-coverage", "tests-passing", "gates", "report"):
        assert data["outputs"][name]["value"] == f"${{{{ steps.report.outputs.{name} }}}}"


def test_the_example_workflows_use_the_action_as_it_is() -> None:
    """docs/ci/github-*.yml: actionlint cannot see this action's inputs (it is not on this
    machine under its published name), so they are checked against action.yml here."""
    data = action()
    workflows = sorted((ROOT / "docs" / "ci").glob("github-*.yml"))
    uses = 0
    for workflow in workflows:
        text = workflow.read_text(encoding="utf-8")
        for job in yaml.safe_load(text)["jobs"].values():
            for step in job["steps"]:
                if not step.get("uses", "").startswith("phasectl/phasectl@"):
                    continue
                uses += 1
                assert step["uses"] == "phasectl/phasectl@v0.2.0", workflow.name
                assert set(step.get("with", {})) <= set(data["inputs"]), workflow.name
                checkout = job["steps"][0]
                assert checkout["uses"].startswith("actions/checkout@")
                assert checkout["with"]["fetch-depth"] == 0, workflow.name
        for name in re.findall(r"steps\.phasectl\.outputs\.([\w-]+)", text):
            assert name in data["outputs"], workflow.name
    assert uses == 4  # all but the workflow that only posts a comment


# ---------------------------------------------------------------- inputs -> arguments


STUB = """\
#!{python}
import json, os, sys
names = ("GITHUB_TOKEN", "PHASECTL_PYTHON", "VIRTUAL_ENV", "TMPDIR")
env = {{n: os.environ.get(n) for n in names}}
record = {{"argv": sys.argv[1:], "cwd": os.getcwd(), "env": env}}
with open(os.environ["STUB_RECORD"], "w") as out:
    json.dump(record, out)
sys.exit(int(os.environ.get("STUB_STATUS", "0")))
"""


@dataclass
class Stubbed:
    runner: Runner
    record: Path

    def run(self, inputs: Mapping[str, str] | None = None) -> tuple[ActionRun, dict[str, Any]]:
        self.record.unlink(missing_ok=True)
        run = run_action(self.runner, inputs)
        called = json.loads(self.record.read_text()) if self.record.exists() else {}
        return run, called


def stubbed_runner(tmp_path: Path, event: str, payload: dict[str, Any]) -> Stubbed:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    git(workspace, "init", "--quiet", "-b", "main")
    commit(workspace, {"a.py": "A = 1\n"})
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    stub = tmp_path / "stub-phasectl"
    stub.write_text(STUB.format(python=sys.executable))
    stub.chmod(0o755)
    env = job_env(workspace, temp, event, payload)
    record = tmp_path / "argv.json"
    env["STUB_RECORD"] = str(record)
    installed = {"phasectl": str(stub), "project-python": sys.executable}
    return Stubbed(Runner(workspace, temp, env, installed=installed), record)


def report_path(argv: list[str], temp: Path) -> Path:
    path = Path(argv[argv.index("--output") + 1])
    assert path.parent.parent == temp
    assert path.parent.name.startswith("phasectl-report.")
    assert path.name == "report.md"
    return path


@pytest.fixture
def pull_request(tmp_path: Path) -> Stubbed:
    payload = {"pull_request": {"number": PR_NUMBER, "base": {"ref": "main"},
                                "head": {"ref": "feature"}}}  # fmt: skip
    return stubbed_runner(tmp_path, "pull_request", payload)


def test_a_pull_request_by_default(pull_request: Stubbed) -> None:
    run, called = pull_request.run()
    assert run.returncode == 0, run.steps[-1].stderr
    temp = pull_request.runner.temp
    output = str(report_path(called["argv"], temp))
    assert called["argv"] == [
        "-C", ".", "report", "--output", output, "--outputs",
        "--base", "origin/main", "--merge-base",
        "--gates", "--summary", "--annotations", "--comment",
    ]  # fmt: skip
    assert called["cwd"] == str(pull_request.runner.workspace)
    assert called["env"] == {
        "GITHUB_TOKEN": WRITE_TOKEN,  # the default input: ${{ github.token }}
        "PHASECTL_PYTHON": sys.executable,  # the tests run with PATH's python
        "VIRTUAL_ENV": None,  # no virtualenv is made up for them
        "TMPDIR": str(temp),
    }
    # The command is in the log, each word quoted as the shell would need it.
    assert f"+ phasectl -C . report --output {output} --outputs --base origin/main" in (
        run.step("phasectl report").stdout
    )


def test_a_push_by_default(tmp_path: Path) -> None:
    stubbed = stubbed_runner(tmp_path, "push", {"ref": "refs/heads/main"})
    run, called = stubbed.run()
    assert run.returncode == 0, run.steps[-1].stderr
    output = str(report_path(called["argv"], stubbed.runner.temp))
    # No --base: phasectl's own default, the previous phase tag; no pull request to comment.
    assert called["argv"] == [
        "-C", ".", "report", "--output", output, "--outputs",
        "--gates", "--summary", "--annotations",
    ]  # fmt: skip


def test_every_input_reaches_its_option(pull_request: Stubbed) -> None:
    (pull_request.runner.workspace / "sub dir").mkdir()
    run, called = pull_request.run(
        {
            "base": "v1.0",
            "gates": "false",
            "comment": "false",
            "comment-file": "comment body.md",
            "annotations": "false",
            "summary": "false",
            "results": "shard-*/junit.xml\n\n  other results/*.xml  \n",
            "coverage": "shard-*/coverage.xml",
            "benchmarks": "bench/*.json\nhyperfine.json",
            "working-directory": "sub dir",
            "github-token": OTHER_TOKEN,
        }
    )
    assert run.returncode == 0, run.steps[-1].stderr
    output = str(report_path(called["argv"], pull_request.runner.temp))
    assert called["argv"] == [
        "-C", "sub dir", "report", "--output", output, "--outputs",
        "--base", "v1.0",  # as given: no --merge-base added to a base the user names
        "--pr-comment", "comment body.md",
        "--results", "shard-*/junit.xml", "--results", "other results/*.xml",
        "--coverage", "shard-*/coverage.xml",
        "--benchmarks", "bench/*.json", "--benchmarks", "hyperfine.json",
    ]  # fmt: skip
    assert called["env"]["GITHUB_TOKEN"] == OTHER_TOKEN


def test_input_text_is_data_for_the_shell_not_code(pull_request: Stubbed) -> None:
    workspace = pull_request.runner.workspace
    hostile = "$(touch pwned-1)`touch pwned-2`;touch pwned-3 \"'"
    run, called = pull_request.run({"base": hostile, "results": hostile})
    assert run.returncode == 0, run.steps[-1].stderr
    assert called["argv"][called["argv"].index("--base") + 1] == hostile
    assert called["argv"][called["argv"].index("--results") + 1] == hostile.strip()
    assert not list(workspace.glob("pwned-*"))
    assert not list(workspace.parent.glob("pwned-*"))


def test_a_boolean_input_is_true_or_false(pull_request: Stubbed) -> None:
    run, called = pull_request.run({"gates": "yes\n::warning::injected"})
    assert run.returncode == 2
    assert called == {}  # phasectl never ran
    out = run.step("phasectl report").stdout
    assert out == "::error::input gates must be true or false, not 'yes%0A::warning::injected'\n"


@pytest.mark.parametrize("status", [1, 2])
def test_the_step_exits_with_phasectl_status(pull_request: Stubbed, status: int) -> None:
    pull_request.runner.env["STUB_STATUS"] = str(status)
    run, called = pull_request.run()
    assert called["argv"]
    assert [step.name for step in run.steps][-1] == "phasectl report"
    assert run.returncode == status


def test_a_virtualenv_the_job_activated_is_kept(pull_request: Stubbed, tmp_path: Path) -> None:
    pull_request.runner.env["VIRTUAL_ENV"] = str(tmp_path / "project-venv")
    _, called = pull_request.run()
    assert called["env"]["VIRTUAL_ENV"] == str(tmp_path / "project-venv")


def test_the_notes_fetch_tolerates_an_origin_without_them(pull_request: Stubbed) -> None:
    run, _ = pull_request.run()  # this workspace has no origin at all
    fetch = run.step("Fetch phasectl's snapshots")
    assert fetch.returncode == 0
    assert "No phasectl snapshots on origin yet" in fetch.stdout


# ---------------------------------------------------------------- a loopback GitHub API


@dataclass
class Comment:
    id: int
    body: str
    login: str

    def to_dict(self, api: str) -> dict[str, Any]:
        bot = self.login.endswith("[bot]")
        return {
            "id": self.id,
            "node_id": f"IC_{self.id}",
            "url": f"{api}/repos/{REPOSITORY}/issues/comments/{self.id}",
            "html_url": f"https://github.com/{REPOSITORY}/pull/{PR_NUMBER}#issuecomment-{self.id}",
            "body": self.body,
            "user": {"login": self.login, "type": "Bot" if bot else "User"},
        }


@dataclass
class IssueComments:
    """Pull request 7's comments, as GitHub's REST API serves them."""

    url: str = ""
    comments: list[Comment] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    next_id: int = 1000

    def ours(self) -> list[Comment]:
        return [c for c in self.comments if c.login == "github-actions[bot]"]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, data: Any, headers: Mapping[str, str] | None = None) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _token(self) -> str | None:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        return token if scheme.lower() in ("bearer", "token") else None

    def _handle(self, method: str) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        state.requests.append((method, url.path))
        token = self._token()
        if token not in (WRITE_TOKEN, READ_TOKEN):
            self._answer(401, {"message": "Bad credentials"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        sent = json.loads(self.rfile.read(length) or b"null") if length else None
        listing = f"/repos/{REPOSITORY}/issues/{PR_NUMBER}/comments"
        one = re.fullmatch(rf"/repos/{REPOSITORY}/issues/comments/(\d+)", url.path)
        forbidden = {
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest",
            "status": "403",
        }
        if method == "GET" and url.path == listing:
            query = parse_qs(url.query)
            per_page = min(int(query.get("per_page", ["30"])[0]), 100)
            page = int(query.get("page", ["1"])[0])
            items = state.comments[(page - 1) * per_page : page * per_page]
            headers = {}
            if page * per_page < len(state.comments):
                headers["Link"] = (
                    f'<{state.url}{listing}?per_page={per_page}&page={page + 1}>; rel="next"'
                )
            self._answer(200, [c.to_dict(state.url) for c in items], headers)
        elif method == "POST" and url.path == listing:
            if token == READ_TOKEN:
                self._answer(403, forbidden)
                return
            state.next_id += 1
            created = Comment(state.next_id, sent["body"], "github-actions[bot]")
            state.comments.append(created)
            self._answer(201, created.to_dict(state.url))
        elif method == "PATCH" and one:
            found = [c for c in state.comments if c.id == int(one.group(1))]
            if not found:
                self._answer(404, {"message": "Not Found"})
            elif token == READ_TOKEN:
                self._answer(403, forbidden)
            else:
                found[0].body = sent["body"]
                self._answer(200, found[0].to_dict(state.url))
        else:
            self._answer(404, {"message": "Not Found"})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")


class _Server(ThreadingHTTPServer):
    state: IssueComments


@pytest.fixture
def github_api() -> Iterator[IssueComments]:
    """The API on 127.0.0.1, with 100 comments by people already on the pull request (so
    an earlier comment of phasectl's is on a second page, whatever the page size)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    with serving(server) as url:
        state = IssueComments(url)
        state.comments = [Comment(i, f"Looks good {i}", "reviewer") for i in range(1, 101)]
        server.state = state
        yield state


# ---------------------------------------------------------------- whole runs on a pull request

# The project's own dependency, which only the project's python has (not phasectl's venv):
# the tests pass only when they run with the python on PATH.
PROJECT_CONFTEST = "import yaml  # noqa: F401\n"
PR_CALC = CALC + "\n\ndef triple(n):\n    return 3 * n\n\n\ndef unused_too():\n    return None\n"
PR_TESTS = (
    "from calc import add, triple\n\n\ndef test_triple():\n    assert triple(2) == 6\n\n\n"
    "def test_add():\n    assert add(1, 2) == 4\n"
)
FIXED_TESTS = PR_TESTS.replace("== 4", "== 3")


@dataclass
class PullRequest:
    runner: Runner
    checkout: Path


def pull_request_on_a_runner(
    git_repo: Path, remote: Path, tmp_path: Path, installed: dict[str, str], *, fork: bool = False
) -> PullRequest:
    """Phase 1 tagged with its snapshot on origin; a clone on which a pull request adds an
    uncovered line and breaks a test, as actions/checkout leaves it (fetch-depth: 0)."""
    python_project(git_repo, {"test_calc.py": CALC_TEST, "conftest.py": PROJECT_CONFTEST})
    assert run_cli("--repo", str(git_repo), "tag", "1", "-q").exit_code == 0
    git(git_repo, "push", "--quiet", "origin", "main", "phase/1", "refs/notes/phasectl")
    checkout = tmp_path / "workspace"
    git(tmp_path, "clone", "--quiet", "--branch", "main", str(remote), str(checkout))
    git(checkout, "switch", "--quiet", "-c", "feature")
    python_project(checkout, {"test_calc.py": PR_TESTS, "conftest.py": PROJECT_CONFTEST},
                   **{"calc.py": PR_CALC})  # fmt: skip
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    env = job_env(checkout, temp, "pull_request", pull_request_payload(checkout, fork=fork))
    token = READ_TOKEN if fork else WRITE_TOKEN
    return PullRequest(Runner(checkout, temp, env, token, installed), checkout)


def test_first_run_creates_the_comment_and_the_next_updates_it(
    git_repo: Path, remote: Path, tmp_path: Path, installed: dict[str, str],
    github_api: IssueComments,
) -> None:  # fmt: skip
    pr = pull_request_on_a_runner(git_repo, remote, tmp_path, installed)
    pr.runner.env["GITHUB_API_URL"] = github_api.url
    first = run_action(pr.runner)
    report = first.step("phasectl report")
    assert report.returncode == 1, report.stdout + report.stderr  # a test newly fails
    notes = git(pr.checkout, "notes", "--ref=phasectl", "list", "phase/1^{commit}")
    assert notes.strip(), "the notes were not fetched"
    assert "base run" not in report.stderr  # the base's figures came from the note
    (comment,) = github_api.ours()
    assert comment.body.startswith("<!-- phasectl:pr-comment -->\n")
    assert "| **Tests passing** | 1/1 | 1/2 | ±0 passing |" in comment.body
    assert "#### Newly failing tests (1)" in comment.body
    assert "`tests/test_calc.py::test_add`" in comment.body
    assert len(github_api.comments) == 101  # the people's comments untouched
    assert all(c.body == f"Looks good {c.id}" for c in github_api.comments[:100])

    # The next push fixes the test: the same comment now says so.
    commit(pr.checkout, {"tests/test_calc.py": FIXED_TESTS}, "fix the test")
    pr.runner.env["GITHUB_EVENT_PATH"] = str(pr.runner.temp / "_event_2.json")
    Path(pr.runner.env["GITHUB_EVENT_PATH"]).write_text(
        json.dumps(pull_request_payload(pr.checkout)), encoding="utf-8"
    )
    second = run_action(pr.runner)
    assert second.returncode == 0, second.steps[-1].stdout + second.steps[-1].stderr
    (updated,) = github_api.ours()
    assert updated.id == comment.id
    assert "| **Tests passing** | 1/1 | 2/2 | +1 passing |" in updated.body
    assert [m for m, _ in github_api.requests].count("POST") == 1
    assert [m for m, _ in github_api.requests].count("PATCH") == 1
    # Nothing written into the checkout: the report is under RUNNER_TEMP.
    assert git(pr.checkout, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_fork_gets_403_and_the_step_exits_with_the_gates_status(
    git_repo: Path, remote: Path, tmp_path: Path, installed: dict[str, str],
    github_api: IssueComments,
) -> None:  # fmt: skip
    pr = pull_request_on_a_runner(git_repo, remote, tmp_path, installed, fork=True)
    pr.runner.env["GITHUB_API_URL"] = github_api.url
    run = run_action(pr.runner)
    report = run.step("phasectl report")
    assert ("POST", f"/repos/{REPOSITORY}/issues/{PR_NUMBER}/comments") in github_api.requests
    assert github_api.ours() == []
    # The runner reads workflow commands on both streams; phasectl's own go to stderr.
    printed = (report.stdout + report.stderr).splitlines()
    warnings = [line for line in printed if line.startswith("::warning")]
    assert any("comment" in line.lower() for line in warnings), report.stderr
    # The gates decide the status (a test newly fails: 1), not the comment.
    assert report.returncode == 1, report.stdout + report.stderr
    assert "FAIL  no new failing tests" in report.stdout
    summary = Path(pr.runner.env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert summary.startswith("## Phase `feature`: `origin/main` → `HEAD` (")
    assert run.outputs["gates"]


def test_annotations_stay_within_github_limits(
    git_repo: Path, remote: Path, tmp_path: Path, installed: dict[str, str],
    github_api: IssueComments,
) -> None:  # fmt: skip
    pr = pull_request_on_a_runner(git_repo, remote, tmp_path, installed)
    pr.runner.env["GITHUB_API_URL"] = github_api.url
    # Twelve new functions no test calls: twelve ranges of uncovered changed lines, and a
    # newly failing test: more warnings than GitHub shows for one step (10).
    many = "".join(f"\n\ndef unused_{i}(n):\n    return n + {i}\n" for i in range(12))
    commit(pr.checkout, {"calc.py": PR_CALC + many}, "more code, untested")
    run = run_action(pr.runner)
    report = run.step("phasectl report")
    assert report.returncode == 1, report.stdout + report.stderr
    lines = report.stdout.splitlines()
    for kind in ("error", "warning", "notice"):
        assert len([line for line in lines if line.startswith(f"::{kind}")]) <= 10, kind
    annotated = [line for line in lines if line.startswith("::warning file=")]
    assert annotated
    assert {re.match(r"::warning file=([^,]+)", line)[1] for line in annotated} <= {  # type: ignore[index]
        "calc.py", "tests/test_calc.py"
    }  # fmt: skip


def test_outputs_are_set(
    git_repo: Path, remote: Path, tmp_path: Path, installed: dict[str, str],
    github_api: IssueComments,
) -> None:  # fmt: skip
    pr = pull_request_on_a_runner(git_repo, remote, tmp_path, installed)
    pr.runner.env["GITHUB_API_URL"] = github_api.url
    run = run_action(pr.runner)
    assert run.returncode == 1
    outputs = run.outputs
    assert outputs["phasectl"] == installed["phasectl"]
    # What coverage.py itself says of the pull request's checkout.
    data = tmp_path / "cov"
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", f"--data-file={data}", "-m", "pytest", "-q"],
        cwd=pr.checkout, capture_output=True, check=False,
    )  # fmt: skip
    total = subprocess.run(
        [sys.executable, "-m", "coverage", "report", f"--data-file={data}", "--format=total",
         "--precision=4"],
        cwd=pr.checkout, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert abs(float(outputs["coverage"].rstrip("%")) - float(total)) < 1
    patch = float(outputs["patch-coverage"].rstrip("%"))
    assert 0 < patch < 100  # the pull request added a line no test runs
    assert outputs["tests-passing"] == "1/2"
    assert outputs["gates"] == "fail"
    report = Path(outputs["report"])
    assert report.is_relative_to(pr.runner.temp)
    assert "<!-- phasectl:begin metrics -->" in report.read_text(encoding="utf-8")
