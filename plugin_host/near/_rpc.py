"""A small synchronous NEAR JSON-RPC client on top of py-near's ``JsonProvider``.

py-near is asynchronous (aiohttp) and optional: it is imported when a ``NearRpc`` first talks
to a node, never by ``import plugin_host`` or ``import plugin_host.near``. Each ``NearRpc`` owns
a private event loop, so the registry's synchronous world can call it directly.

Two things py-near does that we cannot use as they are: its transport catches every connection
error, logs it and answers ``None`` (so an offline node looks like an empty answer), and its
``view_function`` decodes the result with ``chr()`` per byte (which garbles non-ASCII UTF-8).
So one request goes out per call and failures surface as ``NearRpcError``, and view results
are decoded here from NEAR's byte array.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import threading
from typing import Any, Optional, Union

import msgspec

from ..errors import ConfigurationError, NearRpcError, NearUnavailable

__all__ = ["NearRpc", "ViewResult", "AccessKey", "BlockId", "near_client"]

BlockId = Union[int, str]  # a height or a block hash (base58)
_INSTALL = "the NEAR tie-in needs py-near: pip install 'plugin-host[near]'"


def near_client() -> Any:
    """py-near's modules, imported on first use. Raises NearUnavailable when not installed."""
    try:
        import py_near.providers
        import py_near.transactions
    except ImportError as e:
        raise NearUnavailable(f"{_INSTALL} ({e})") from None
    return py_near


class ViewResult(msgspec.Struct, frozen=True, kw_only=True):
    """A contract view call's answer: its JSON value and the block it was read at."""

    value: Any
    block_height: int
    block_hash: str
    logs: tuple[str, ...] = ()


class AccessKey(msgspec.Struct, frozen=True, kw_only=True):
    public_key: str
    nonce: int
    full_access: bool
    block_hash: str = ""  # of the block the key was read at (a transaction may reference it)
    block_height: int = 0


@functools.lru_cache(maxsize=None)
def _provider_class(client: Any) -> type:
    class _Provider(client.providers.JsonProvider):
        # One endpoint, one request, real errors: see the module docstring.
        async def call_rpc_request(self, method, params, broadcast=False, threshold=0):
            import aiohttp

            if not self._client:
                await self.startup()
            url = self._rpc_addresses[0]
            body = {"jsonrpc": "2.0", "id": "dontcare", "method": method, "params": params}
            try:
                async with self._client.post(url, json=body, headers=self._headers) as r:
                    status, text = r.status, await r.text()
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                reason = str(e) or type(e).__name__
                raise NearRpcError(f"cannot reach the NEAR RPC at {url}: {reason}", url=url,
                                   cause="UNREACHABLE") from None
            try:
                answer = json.loads(text)
            except ValueError:
                answer = None
            # nearcore answers some errors with HTTP 4xx/5xx and a JSON-RPC error body: keep those
            if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
                raise NearRpcError(f"the NEAR RPC at {url} answered HTTP {status}: {text[:200]!r}", url=url,
                                   cause=f"HTTP_{status}")
            return answer

    return _Provider


class NearRpc:
    """A NEAR JSON-RPC endpoint (``https://rpc.testnet.near.org``, or a local one).

        with NearRpc(url) as rpc:
            rpc.view("v2.ref-finance.near", "get_pool", {"pool_id": 1910}).value

    Calls block; from async code, run them in a worker thread (``asyncio.to_thread``).
    Raises NearRpcError when the node cannot be reached or answers an error."""

    def __init__(self, url: str, *, timeout: float = 20.0):
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"a NEAR RPC URL starts with http:// or https://, got {url!r}")
        self.url = url
        self.timeout = timeout
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._provider: Any = None

    def __repr__(self) -> str:
        return f"<NearRpc {self.url}>"

    def __enter__(self) -> "NearRpc":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._loop is not None:
                if self._provider is not None and self._provider._client is not None:
                    self._loop.run_until_complete(self._provider.shutdown())
                self._loop.close()
            self._loop = self._provider = None

    def _run(self, make_coro: Any) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise ConfigurationError("NearRpc is synchronous: from async code, call it in a worker thread "
                                     "(asyncio.to_thread)")
        with self._lock:
            if self._loop is None:
                client = near_client()
                self._loop = asyncio.new_event_loop()
                self._provider = _provider_class(client)(self.url, allow_broadcast=False, timeout=self.timeout)
            return self._loop.run_until_complete(make_coro(self._provider))

    def call(self, method: str, params: Any) -> Any:
        """One JSON-RPC call; its ``result``. NEAR's errors become NearRpcError."""
        client = near_client()

        async def go(provider: Any) -> Any:
            content = await provider.call_rpc_request(method, params)
            if "error" in content:
                raise self._error(client, provider, content)
            return content["result"]

        return self._run(go)

    def _error(self, client: Any, provider: Any, content: dict) -> NearRpcError:
        err = content.get("error") or {}
        if not isinstance(err, dict):
            return NearRpcError(f"the NEAR RPC at {self.url} answered an error: {err!r}", url=self.url)
        cause = err.get("cause") or {}
        name = cause.get("name", "") if isinstance(cause, dict) else ""
        detail = err.get("data") or (cause.get("info") if isinstance(cause, dict) else None) or err.get("message")
        try:  # py-near's classification of the error, for the message
            kind = type(provider.get_error_from_response(content)).__name__
        except Exception:  # noqa: BLE001 - it indexes fields a malformed answer may lack
            kind = "error"
        return NearRpcError(f"the NEAR RPC at {self.url} answered {name or err.get('name') or 'an error'} "
                            f"({kind}): {detail}", url=self.url, cause=name or kind)

    # ---- typed calls ---------------------------------------------------------------------------

    @staticmethod
    def _at(block_id: Optional[BlockId], finality: str) -> dict:
        return {"block_id": block_id} if block_id is not None else {"finality": finality}

    def status(self) -> dict:
        return self.call("status", [])

    def block(self, block_id: Optional[BlockId] = None, *, finality: str = "final") -> dict:
        return self.call("block", self._at(block_id, finality))

    def view(self, contract_id: str, method: str, args: Any = None, *, block_id: Optional[BlockId] = None,
             finality: str = "final") -> ViewResult:
        """Call a contract's view method with JSON ``args``; its JSON answer, decoded as UTF-8."""
        raw = json.dumps(args if args is not None else {}, separators=(",", ":")).encode()
        params = {"request_type": "call_function", "account_id": contract_id, "method_name": method,
                  "args_base64": base64.b64encode(raw).decode(), **self._at(block_id, finality)}
        result = self.call("query", params)
        if "error" in result:  # older nodes report a contract panic inside the result
            raise NearRpcError(f"{contract_id}.{method} failed: {result['error']}", url=self.url,
                               cause="CONTRACT_EXECUTION_ERROR")
        try:
            value = json.loads(bytes(result["result"]).decode("utf-8")) if result["result"] else None
        except (ValueError, TypeError, KeyError) as e:
            raise NearRpcError(f"{contract_id}.{method} did not return JSON: {e}", url=self.url,
                               cause="BAD_RESULT") from None
        return ViewResult(value=value, block_height=result.get("block_height", 0),
                          block_hash=result.get("block_hash", ""), logs=tuple(result.get("logs") or ()))

    def access_key(self, account_id: str, public_key: str, *, finality: str = "final") -> AccessKey:
        r = self.call("query", {"request_type": "view_access_key", "account_id": account_id,
                                "public_key": public_key, "finality": finality})
        return AccessKey(public_key=public_key, nonce=int(r["nonce"]), full_access=r.get("permission") == "FullAccess",
                         block_hash=r.get("block_hash", ""), block_height=r.get("block_height", 0))

    def access_keys(self, account_id: str, *, finality: str = "final") -> tuple[AccessKey, ...]:
        """Every access key of the account (``view_access_key_list``)."""
        r = self.call("query", {"request_type": "view_access_key_list", "account_id": account_id,
                                "finality": finality})
        return tuple(AccessKey(public_key=k["public_key"], nonce=int(k["access_key"]["nonce"]),
                               full_access=k["access_key"].get("permission") == "FullAccess",
                               block_hash=r.get("block_hash", ""), block_height=r.get("block_height", 0))
                     for k in r.get("keys", ()))

    def broadcast_tx_commit(self, signed_tx_base64: str) -> dict:
        """Send a signed transaction and wait for its execution; NEAR's FinalExecutionOutcome."""
        return self.call("broadcast_tx_commit", [signed_tx_base64])
