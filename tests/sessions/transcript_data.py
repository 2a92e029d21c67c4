"""Transcript bytes shared by the transcript tests: the real fixtures and small lines."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures"
PROJECTS = FIXTURES / "claude-code-2.1.328" / ".claude" / "projects"
ALPHA = PROJECTS / "-home-dev-work-alpha-svc" / "7789500f-a99f-4ab5-b280-39aa6ae74086.jsonl"
BETA = PROJECTS / "-home-dev-work-beta-web" / "52b61c74-344e-4a0f-9ec7-770bc6a2e17e.jsonl"
#: The newest build at the time of writing (December 2026): an interactive session
#: (two prompts, one needing permission) and a background one (``claude --bg``).
NEWEST = FIXTURES / "claude-code-2.1.332" / ".claude" / "projects" / "-home-dev-work-alpha-svc"
NEWEST_INTERACTIVE = NEWEST / "9700f3cc-359f-43c3-b16d-514c4231f64c.jsonl"
NEWEST_BG = NEWEST / "7207b01f-043e-4833-990d-34c8b7348c29.jsonl"
#: The oldest build supported: no session files, and ``"type"`` never first in a line.
OLDEST = (
    FIXTURES / "claude-code-2.0.77" / ".claude" / "projects" / "-home-dev-work-alpha-svc"
    / "82053e5c-a628-43df-adf4-905760099d4a.jsonl"
)  # fmt: skip
PUBLIC = FIXTURES / "public-transcripts"
REPRESENTATIVE = PUBLIC / "representative_messages.jsonl"
EDGE_CASES = PUBLIC / "edge_cases.jsonl"


def line(obj: object) -> bytes:
    """One transcript line as Claude Code writes it: compact JSON and a newline."""
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def assistant(message_id: str, output_tokens: int, *, uuid: str = "", text: str = "x") -> bytes:
    return line(
        {
            "parentUuid": None,
            "isSidechain": False,
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": "claude-test-1",
                "content": [{"type": "text", "text": text}],
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": output_tokens,
                    "cache_read_input_tokens": 100,
                    "cache_creation_input_tokens": 5,
                },
            },
            "type": "assistant",
            "uuid": uuid or f"u-{message_id}-{output_tokens}",
            "timestamp": "2026-01-02T03:04:05.678Z",
            "cwd": "/w",
            "sessionId": "s1",
            "version": "9.9.9",
            "gitBranch": "main",
        }
    )


def user(text: str, *, timestamp: str = "2026-01-02T03:04:00.000Z", branch: str = "main") -> bytes:
    return line(
        {
            "parentUuid": None,
            "isSidechain": False,
            "type": "user",
            "message": {"role": "user", "content": text},
            "uuid": f"u-{text}",
            "timestamp": timestamp,
            "cwd": "/w",
            "sessionId": "s1",
            "version": "9.9.9",
            "gitBranch": branch,
        }
    )
