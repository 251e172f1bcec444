"""A minimal Chrome DevTools Protocol client over one page's websocket.

Only what the env needs: send a command, wait for its answer, `Runtime.evaluate` with the
value returned as JSON. No domains are enabled, so no events arrive to be skipped.
"""

from __future__ import annotations

import contextlib
import json
import socket
import urllib.request
from typing import Any

import websocket


class BrowserDied(RuntimeError):
    """The browser or its page went away; a fresh browser is needed."""


class JavaScriptError(RuntimeError):
    """JavaScript evaluated in the page threw an exception."""


_LOST = (
    websocket.WebSocketException,
    ConnectionError,
    socket.timeout,
    OSError,
)


class CDPConnection:
    """One websocket to one DevTools target; `call` and `evaluate` are synchronous."""

    def __init__(self, ws_url: str, timeout: float) -> None:
        # Chromium refuses websocket clients that send an Origin it was not told to allow.
        self._ws = websocket.create_connection(
            ws_url, timeout=timeout, suppress_origin=True, skip_utf8_validation=True
        )
        self._next_id = 0

    @classmethod
    def to_page(cls, debugger_address: str, timeout: float) -> CDPConnection:
        """Connect to the first page listed at a browser's debugger address (host:port)."""
        # Plain opener: a proxy from the environment must not see localhost traffic.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://{debugger_address}/json/list", timeout=timeout) as reply:
            targets = json.load(reply)
        pages = [t for t in targets if t.get("type") == "page" and "webSocketDebuggerUrl" in t]
        if not pages:
            raise BrowserDied(f"no page to attach to at {debugger_address}")
        return cls(pages[0]["webSocketDebuggerUrl"], timeout)

    def call(self, method: str, params: dict | None = None) -> dict:
        """Send one command and return its result; `BrowserDied` if the socket is gone."""
        if self._ws is None:
            raise BrowserDied("the DevTools connection is closed")
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        try:
            self._ws.send(json.dumps(message))
            while True:
                reply = json.loads(self._ws.recv())
                if reply.get("id") == self._next_id:
                    break
        except _LOST as err:
            self.close()
            raise BrowserDied(f"lost the browser during {method}: {err!r}") from err
        if "error" in reply:
            error = reply["error"]
            raise BrowserDied(f"{method} failed: {error.get('message')} ({error.get('code')})")
        return reply["result"]

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its value, decoded from JSON."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise JavaScriptError(f"{expression[:80]!r} threw: {text}")
        return result["result"].get("value")

    def close(self) -> None:
        if self._ws is not None:
            ws, self._ws = self._ws, None
            with contextlib.suppress(Exception):  # the peer may already be gone
                ws.close(timeout=0.2)
