"""A real Claude Code for end-to-end tests: installed once, run offline in a throwaway HOME.

- :func:`install_claude_code` npm-installs one version into the repo's
  ``.cache/claude-code/<version>/`` once per machine (under a file lock, since
  several test runs may start at once) and returns the path of the ``claude``
  binary. Versions live side by side: the pinned one, the newest on npm
  (:func:`newest_version`, asked with ``npm view`` at test time) and the
  oldest Clare supports.
- :func:`write_home` writes a HOME in which Claude Code asks nothing: onboarding
  done, the test API key approved, the given folders trusted, Bash allowed.
- :class:`ClaudeRunner` runs ``claude -p PROMPT --output-format json`` in a cwd
  against the fake API, with an environment cleaned of the caller's own Claude
  variables (a test run inside a Claude Code session must not leak into it).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

CLAUDE_CODE_VERSION = "2.1.328"
#: The oldest build Clare supports (docs/claude-code.md says what differs in it).
OLDEST_VERSION = "2.0.77"
#: The builds a test may ask for (see tests/e2e/conftest.py).
BUILDS = ("pinned", "newest", "oldest")
PACKAGE = "@anthropic-ai/claude-code"
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ROOT = REPO_ROOT / ".cache" / "claude-code"
#: A key of the shape Claude Code accepts; the fake API ignores it.
API_KEY = "sk-ant-api03-clare-e2e-test-key-0000000000"


class ClaudeCodeUnavailable(RuntimeError):
    """Node, npm or the Claude Code package cannot be had on this machine."""


def installed_version(cache: Path) -> str | None:
    """The version of the package installed in ``cache``, or None."""
    manifest = cache / "node_modules" / PACKAGE / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def newest_version(timeout_s: float = 60) -> tuple[str, str]:
    """The newest version on npm and how it was found; the pinned one if npm cannot say."""
    if shutil.which("npm") is None:
        return CLAUDE_CODE_VERSION, "npm is not on PATH: the newest build is the pinned one"
    try:
        done = subprocess.run(
            ["npm", "view", PACKAGE, "version"], capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        return CLAUDE_CODE_VERSION, "`npm view` timed out: the newest build is the pinned one"
    version = done.stdout.strip()
    if done.returncode != 0 or not version or not version[0].isdigit():
        reason = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        return CLAUDE_CODE_VERSION, f"`npm view` failed ({reason}): the newest is the pinned one"
    return version, f"`npm view {PACKAGE} version` says {version}"


def install_claude_code(version: str = CLAUDE_CODE_VERSION, cache: Path | None = None) -> Path:
    """Install Claude Code ``version`` into its own folder unless it is there; return the binary."""
    cache = CACHE_ROOT / version if cache is None else cache
    binary = cache / "node_modules" / ".bin" / "claude"
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise ClaudeCodeUnavailable(
                f"`{tool}` is not on PATH: the end-to-end tests install and run a real "
                f"Claude Code ({PACKAGE}@{version}) and need Node.js and npm"
            )
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if installed_version(cache) != version or not binary.exists():
            command = [
                "npm",
                "install",
                "--prefix",
                str(cache),
                "--no-audit",
                "--no-fund",
                "--save-exact",
                f"{PACKAGE}@{version}",
            ]
            done = subprocess.run(command, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                raise ClaudeCodeUnavailable(
                    f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stderr[-3000:]}"
                )
    if installed_version(cache) != version or not binary.exists():
        raise ClaudeCodeUnavailable(f"npm ran but {binary} is not Claude Code {version}")
    return binary


def write_home(home: Path, trusted: Iterable[Path] = (), *, allow_bash: bool = True) -> None:
    """Make ``home`` a HOME in which Claude Code starts without any question.

    Without ``allow_bash`` each Bash command asks for permission (a test of
    waiting needs one). Called again, it adds folders to the trusted ones and
    keeps what Claude Code
    itself wrote into its config meanwhile.
    """
    (home / ".claude").mkdir(parents=True, exist_ok=True)
    config_path = home / ".claude.json"
    try:
        config: dict[str, Any] = json.loads(config_path.read_text())
    except (OSError, ValueError):
        config = {}
    config.update(
        {
            "hasCompletedOnboarding": True,
            "hasSeenAutoDefaultNotice": True,
            # 2.1.332 offers to make auto mode the default in a dialog at start-up.
            "hasSeenAutoDefaultNudge": True,
            "fullscreenUpsellSeenCount": 99,
            "lastReleaseNotesSeen": "99.0.0",
            # Claude Code remembers an approved key by its last 20 characters.
            "customApiKeyResponses": {"approved": [API_KEY[-20:]], "rejected": []},
        }
    )
    projects = config.setdefault("projects", {})
    for folder in trusted:
        entry = projects.setdefault(str(folder), {})
        entry.update({"hasTrustDialogAccepted": True})
        entry.setdefault("allowedTools", [])
    config_path.write_text(json.dumps(config))
    settings_path = home / ".claude" / "settings.json"
    try:
        settings: dict[str, Any] = json.loads(settings_path.read_text())
    except (OSError, ValueError):
        settings = {}
    permissions = settings.setdefault("permissions", {})
    allow = permissions.setdefault("allow", [])
    if allow_bash and "Bash" not in allow:
        allow.append("Bash")
    if not allow_bash and "Bash" in allow:
        allow.remove("Bash")
    # An interactive session may start in auto mode, whose classifier is a server
    # call: offline it stops at a dialog.
    permissions["defaultMode"] = "default"
    settings_path.write_text(json.dumps(settings, indent=1))


@dataclass
class ClaudeRun:
    """One finished ``claude -p`` run."""

    returncode: int
    stdout: str
    stderr: str
    pid: int

    @property
    def result(self) -> dict[str, Any]:
        """The ``--output-format json`` object Claude Code printed."""
        try:
            parsed = json.loads(self.stdout)
        except ValueError as exc:
            raise AssertionError(
                f"claude printed no JSON (exit {self.returncode}):\n"
                f"stdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-2000:]}"
            ) from exc
        assert isinstance(parsed, dict), parsed
        return parsed


@dataclass
class ClaudeRunner:
    """Runs the installed Claude Code in ``home`` against the API at ``api_url``."""

    binary: Path
    home: Path
    api_url: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def claude_dir(self) -> Path:
        return Path(self.env.get("CLAUDE_CONFIG_DIR") or self.home / ".claude")

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a run gets: the caller's, minus its Claude and Anthropic settings."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CLAUDE", "ANTHROPIC")) and k != "HOME"
        }
        env.update(
            {
                "HOME": str(self.home),
                "ANTHROPIC_BASE_URL": self.api_url,
                "ANTHROPIC_API_KEY": API_KEY,
                "DISABLE_AUTOUPDATER": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            }
        )
        env.update(self.env)
        env.update(extra or {})
        return env

    def run(
        self,
        prompt: str,
        cwd: Path,
        *,
        env: Mapping[str, str] | None = None,
        args: Iterable[str] = (),
        timeout_s: float = 120,
    ) -> ClaudeRun:
        """Run ``claude -p PROMPT --output-format json [args]`` in ``cwd`` and wait for it."""
        write_home(self.home, [cwd])
        command = [str(self.binary), "-p", prompt, "--output-format", "json", *args]
        with subprocess.Popen(
            command,
            cwd=cwd,
            env=self.environment(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            try:
                stdout, stderr = proc.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                stdout, stderr = proc.communicate()
                raise AssertionError(
                    f"claude -p timed out after {timeout_s} s\nstderr: {stderr[-2000:]}"
                ) from None
        return ClaudeRun(proc.returncode, stdout, stderr, proc.pid)
