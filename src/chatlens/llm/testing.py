"""A local OpenAI-compatible server for tests: answers, answers badly, rate-limits, fails, stalls.

Why in the library: users testing their own judge pipelines offline need the same thing we do.
It is a stdlib ``ThreadingHTTPServer`` bound to 127.0.0.1 on an ephemeral port that implements
``POST /v1/chat/completions``. What it answers is decided by a ``handler(body, n)`` function
(``body`` = the request JSON, ``n`` = 0-based index of this request), which returns a
:class:`FakeReply`. The server records every request body, the ``Authorization`` headers it saw,
and the most requests it ever had in flight at once.

Examples
--------
>>> with FakeOpenAIServer(lambda body, n: FakeReply(content='{"ok": 1}')) as server:
...     server.base_url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FakeReply:
    """What the fake server sends back for one request.

    ``status`` 200 sends a chat completion whose message content is ``content`` (with made-up
    token usage: ``prompt_tokens`` and ``completion_tokens``); another status sends ``content``
    as an error body. ``delay_s`` sleeps first (a stall when longer than the client timeout).
    """

    content: str = ""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    prompt_tokens: int = 100
    completion_tokens: int = 20
    #: Send these bytes as the body instead of a JSON payload (a misbehaving server).
    raw_body: bytes | None = None
    raw_content_type: str = "text/html"


Handler = Callable[[dict[str, Any], int], FakeReply]


class FakeOpenAIServer:
    """Context manager running the fake server in a background thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.bodies: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.completed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def n_requests(self) -> int:
        with self._lock:
            return len(self.bodies)

    def _make_handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # silence stderr
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if len(raw) < length:
                    # the client went away mid-request (a killed job): no request was made, so
                    # none is counted (counting it raced with tests that count requests)
                    self.close_connection = True
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}}, {})
                    return
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, {"error": {"message": "invalid JSON body"}}, {})
                    return
                with server._lock:
                    n = len(server.bodies)
                    server.bodies.append(body)
                    server.auth_headers.append(self.headers.get("Authorization", ""))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    reply = server.handler(body, n)
                    if reply.delay_s > 0 and server._stop.wait(reply.delay_s):
                        return
                    if reply.raw_body is not None:
                        self._send_raw(reply.status, reply.raw_body, reply.raw_content_type)
                        with server._lock:
                            server.completed += 1
                        return
                    if reply.status == 200:
                        payload: dict[str, Any] = {
                            "id": f"chatcmpl-fake-{n}",
                            "object": "chat.completion",
                            "created": int(time.time()),
                            "model": body.get("model", "fake"),
                            "choices": [{
                                "index": 0,
                                "message": {"role": "assistant", "content": reply.content},
                                "finish_reason": "stop",
                            }],
                            "usage": {
                                "prompt_tokens": reply.prompt_tokens,
                                "completion_tokens": reply.completion_tokens,
                                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
                            },
                        }
                    else:
                        payload = {"error": {"message": reply.content or "error", "type": "fake"}}
                    self._send(reply.status, payload, reply.headers)
                    with server._lock:
                        server.completed += 1
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str]) -> None:
                data = json.dumps(payload).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout)
                    pass

        return _Handler

    def start(self) -> FakeOpenAIServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._make_handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


#: Words of the tiny test model's vocabulary: enough JSON-ish pieces to produce plausible garbage.
TINY_VOCAB: tuple[str, ...] = (
    "[UNK]", "[PAD]", "[EOS]", "{", "}", '"', ":", ",", "1", "2", "3", "4", "5",
    "likert_evaluation", "error", "hello", "W", "I", "P", "D", "user", "assistant", "system",
)


def build_tiny_causal_lm(path: str | Path, *, seed: int = 0, n_positions: int = 128) -> Path:
    """Save a randomly initialised 2-layer GPT-2 and a word-level tokenizer to ``path``.

    Built from a config (no hub download), it loads through the local transformers backend in a
    second and writes garbage: what the judge must record as invalid rather than crash on.
    Needs the ``ml`` extra (torch, transformers).
    """
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = {w: i for i, w in enumerate(TINY_VOCAB)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    fast.save_pretrained(path)
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(vocab), n_positions=n_positions, n_embd=16, n_layer=2, n_head=2,
        bos_token_id=vocab["[EOS]"], eos_token_id=vocab["[EOS]"], pad_token_id=vocab["[PAD]"],
    )
    GPT2LMHeadModel(config).save_pretrained(path)
    return path
