"""A scripted stand-in for the Anthropic Messages API, so a real Claude Code runs offline.

Claude Code is pointed at it with ``ANTHROPIC_BASE_URL=http://127.0.0.1:<port>``.
Replies come from a script, a JSON file holding one step or a list of steps:

    {"text": "ok"}              a plain text reply
    {"bash": "echo hi"}         a Bash tool call; Claude Code runs the command and
                                sends its output back in the next request

Steps are used in order by requests that carry tools (Claude Code's main loop);
once they run out, a request whose last message is a tool result is answered
with that result's text (so a test can read it back), any other with "Done.".
The script is re-read when the file changes, which starts its steps again.
Requests without tools (Claude Code's small side queries) always get "Done.",
and so do the "Warmup" requests that builds before 2.1 send, with tools, for
their subagents as a session starts.

Every request body is appended to a JSONL log, one ``{"path", "body"}`` object
a line, so a test can check what reached the model. Standard library only; the
server runs in a thread of the test process, or as ``python fake_api.py SCRIPT LOG``.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["FakeAnthropicAPI"]

_USAGE = {
    "input_tokens": 12,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
    "output_tokens": 7,
}


class FakeAnthropicAPI:
    """The server and its state; use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(self, script_path: Path, log_path: Path) -> None:
        self.script_path = script_path
        self.log_path = log_path
        self._lock = threading.Lock()
        self._script_text: str | None = None
        self._steps: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeAnthropicAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeAnthropicAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_script(self, *steps: dict[str, Any]) -> None:
        """Write the script file: the steps the next main-loop requests get, in order."""
        self.script_path.write_text(json.dumps(list(steps)))

    def requests(self, path_prefix: str = "/v1/messages") -> list[dict[str, Any]]:
        """Bodies of the logged requests whose path starts with ``path_prefix``."""
        if not self.log_path.exists():
            return []
        entries = [json.loads(line) for line in self.log_path.read_text().splitlines() if line]
        return [
            e["body"]
            for e in entries
            if e["path"].startswith(path_prefix) and "count_tokens" not in e["path"]
        ]

    # -- called from the handler threads --------------------------------------

    def _log(self, path: str, body: object) -> None:
        with self._lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"path": path, "body": body}) + "\n")

    def _next_step(self) -> dict[str, Any] | None:
        with self._lock:
            try:
                text = self.script_path.read_text()
            except OSError:
                text = "[]"
            if text != self._script_text:
                self._script_text = text
                try:
                    loaded = json.loads(text)
                except ValueError:
                    loaded = []
                steps = loaded if isinstance(loaded, list) else [loaded]
                self._steps = [s for s in steps if isinstance(s, dict)]
            return self._steps.pop(0) if self._steps else None

    def _reply(self, request: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        """The content blocks and stop reason answering one Messages request."""
        messages = request.get("messages") or [{}]
        content = messages[-1].get("content") if isinstance(messages[-1], dict) else None
        results = (
            [c for c in content if isinstance(c, dict) and c.get("type") == "tool_result"]
            if isinstance(content, list)
            else []
        )
        step = self._next_step() if request.get("tools") and not _is_warmup(messages) else None
        if step is not None and isinstance(step.get("bash"), str):
            tool_use = {
                "type": "tool_use",
                "id": "toolu_" + uuid.uuid4().hex[:20],
                "name": "Bash",
                "input": {"command": step["bash"], "description": "scripted command"},
            }
            return [tool_use], "tool_use"
        if step is not None:
            text = str(step.get("text", "Done."))
        elif results:
            text = "Tool output: " + _result_text(results[0])
        else:
            text = "Done."
        return [{"type": "text", "text": text}], "end_turn"


def _is_warmup(messages: list[Any]) -> bool:
    if len(messages) != 1 or not isinstance(messages[0], dict):
        return False
    content = messages[0].get("content")
    if isinstance(content, list):
        texts = [c.get("text") for c in content if isinstance(c, dict)]
        return texts == ["Warmup"]
    return content == "Warmup"


def _result_text(result: dict[str, Any]) -> str:
    content = result.get("content")
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return str(content)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _stream(message_id: str, model: object, blocks: list[dict[str, Any]], stop: str) -> bytes:
    """The server-sent events of one streamed message, as the real API sends them."""
    start = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _USAGE,
    }
    out = [_sse("message_start", {"type": "message_start", "message": start})]
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            first: dict[str, Any] = {"type": "text", "text": ""}
            delta: dict[str, Any] = {"type": "text_delta", "text": block["text"]}
        else:
            first = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        out.append(
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": i, "content_block": first},
            )
        )
        out.append(
            _sse("content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta})
        )
        out.append(_sse("content_block_stop", {"type": "content_block_stop", "index": i}))
    out.append(
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": _USAGE["output_tokens"]},
            },
        )
    )
    out.append(_sse("message_stop", {"type": "message_stop"}))
    return b"".join(out)


def _handler_for(api: FakeAnthropicAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # the JSONL log is the record; stderr noise would hide test output

        def _send(self, status: int, content_type: str, body: bytes, *, close: bool) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            if close:
                self.send_header("connection", "close")
                self.close_connection = True
            else:
                self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def _json(self, obj: object) -> None:
            self._send(200, "application/json", json.dumps(obj).encode(), close=False)

        def do_GET(self) -> None:
            self._json({})

        def do_HEAD(self) -> None:
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                request = json.loads(raw)
            except ValueError:
                request = {}
            api._log(self.path, request)
            if "count_tokens" in self.path:
                return self._json({"input_tokens": 10})
            if not self.path.startswith("/v1/messages") or not isinstance(request, dict):
                return self._json({})
            blocks, stop = api._reply(request)
            message_id = "msg_" + uuid.uuid4().hex[:24]
            if not request.get("stream"):
                return self._json(
                    {
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": request.get("model"),
                        "content": blocks,
                        "stop_reason": stop,
                        "stop_sequence": None,
                        "usage": _USAGE,
                    }
                )
            body = _stream(message_id, request.get("model"), blocks, stop)
            self._send(200, "text/event-stream", body, close=True)

    return Handler


if __name__ == "__main__":
    script, log = Path(sys.argv[1]), Path(sys.argv[2])
    server = FakeAnthropicAPI(script, log)
    print(server.port, flush=True)
    server._server.serve_forever()
