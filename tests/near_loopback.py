"""A NEAR JSON-RPC node on 127.0.0.1 for the tests: NEAR's wire format, in-memory chain.

Supports ``status``, ``block``, ``query`` (``view_access_key``, ``view_access_key_list``,
``call_function`` with NEAR's byte-array results, ``block_id`` or ``finality``) and
``broadcast_tx_commit``. A broadcast transaction is decoded here with our own borsh reader
(not py-near's), its signature checked against the signer's access key, its nonce and block
hash checked like a node does, and its FunctionCall actions run on Python mock contracts:

- ``AnchorContract``: the anchor interface of plugin_host.near (owner-only ``anchor``, ``get_anchor``);
- ``RefContract``: Ref Finance's views (``get_pool``, ``get_stable_pool``, ``get_return``) on
  tests/ref_reference.py.

Errors come back in nearcore's shape (``{"name": "HANDLER_ERROR", "cause": {"name": ...}}``).
Every request is recorded in ``node.requests``. The server serves until ``close()``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

import nacl.exceptions
import nacl.signing

import ref_reference as ref
from plugin_host.registry._keys import b58decode, b58encode


class Panic(Exception):
    """The contract panicked."""


class RpcFailure(Exception):
    def __init__(self, cause: str, data: Any, info: Optional[dict] = None):
        super().__init__(cause)
        self.cause, self.data, self.info = cause, data, info or {}


# ---- borsh, read independently of py-near ------------------------------------------------------

class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def string(self) -> str:
        return self.take(self.uint(4)).decode("utf-8")


def decode_signed_transaction(raw: bytes) -> dict:
    """Borsh SignedTransaction (transaction v0 with FunctionCall actions only)."""
    r = _Reader(raw)
    tx: dict = {"signer_id": r.string()}
    if r.u8() != 0:
        raise ValueError("only ed25519 keys")
    tx["public_key"] = "ed25519:" + b58encode(r.take(32))
    tx["nonce"] = r.uint(8)
    tx["receiver_id"] = r.string()
    tx["block_hash"] = b58encode(r.take(32))
    tx["actions"] = []
    for _ in range(r.uint(4)):
        if r.u8() != 2:
            raise ValueError("only FunctionCall actions")
        tx["actions"].append({"FunctionCall": {"method_name": r.string(), "args": r.take(r.uint(4)),
                                               "gas": r.uint(8), "deposit": r.uint(16)}})
    body = raw[:r.pos]
    if r.u8() != 0:
        raise ValueError("only ed25519 signatures")
    tx["signature"] = r.take(64)
    if r.pos != len(raw):
        raise ValueError("trailing bytes")
    tx["hash"] = hashlib.sha256(body).digest()
    return tx


# ---- mock contracts -----------------------------------------------------------------------------

class AnchorContract:
    def __init__(self, owner: str):
        self.owner = owner
        self.anchors: dict[str, dict] = {}

    def call(self, method: str, args: dict, predecessor: str, height: int) -> Any:
        if method != "anchor":
            raise Panic(f"MethodNotFound: {method}")
        if predecessor != self.owner:
            raise Panic(f"only {self.owner} may anchor")
        for e in args["entries"]:
            self.anchors[e["plugin_sha256"]] = {**e, "anchored_by": predecessor, "block_height": height}
        return len(args["entries"])

    def view(self, method: str, args: dict) -> Any:
        if method == "get_anchor":
            return self.anchors.get(args["plugin_sha256"])
        if method == "echo":  # UTF-8 results, to test the client's decoding
            return args
        raise Panic(f"MethodNotFound: {method}")


class RefContract:
    """Pools: ``{"kind": "SIMPLE_POOL", "tokens", "amounts", "total_fee"}`` or
    ``{"kind": "STABLE_SWAP", "tokens", "decimals", "c_amounts", "total_fee", "amp"}`` (or any other kind)."""

    def __init__(self, pools: list[dict]):
        self.pools = pools

    def _pool(self, args: dict) -> dict:
        pid = args["pool_id"]
        if not isinstance(pid, int) or not 0 <= pid < len(self.pools):
            raise Panic("ERR_NO_POOL")
        return self.pools[pid]

    def view(self, method: str, args: dict) -> Any:
        p = self._pool(args)
        stable = p["kind"] != "SIMPLE_POOL"
        amounts = ref.stable_amounts(p) if stable else p["amounts"]
        if method == "get_pool":
            return {"pool_kind": p["kind"], "token_account_ids": p["tokens"], "amounts": [str(a) for a in amounts],
                    "total_fee": p["total_fee"], "shares_total_supply": str(10**24), "amp": p.get("amp", 0)}
        if method == "get_stable_pool":
            if not stable:
                raise Panic("not implemented")
            return {"token_account_ids": p["tokens"], "decimals": p["decimals"],
                    "amounts": [str(a) for a in amounts], "c_amounts": [str(c) for c in p["c_amounts"]],
                    "total_fee": p["total_fee"], "shares_total_supply": str(10**24), "amp": p["amp"]}
        if method == "get_return":
            try:
                i, j = p["tokens"].index(args["token_in"]), p["tokens"].index(args["token_out"])
            except ValueError:
                raise Panic("E63: missing token") from None
            fn = ref.simple_get_return if not stable else ref.stable_get_return
            try:
                return str(fn(p, i, int(args["amount_in"]), j))
            except ref.RefPanic as e:
                raise Panic(str(e)) from None
        raise Panic(f"MethodNotFound: {method}")


# ---- the node -----------------------------------------------------------------------------------

class LoopbackNode:
    def __init__(self, chain_id: str = "localnet"):
        self.chain_id = chain_id
        self.accounts: dict[str, dict[str, dict]] = {}  # account -> public key -> {nonce, permission}
        self.contracts: dict[str, Any] = {}
        self.blocks: list[str] = []
        self.requests: list[dict] = []
        self.legacy_view_errors = False  # older nodes: a contract panic comes back inside the result
        self.http_failure: Optional[tuple[int, bytes]] = None  # answer the next request with this
        self.lock = threading.Lock()
        self._new_block()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    # -- setup --
    def add_account(self, account_id: str, public_key: str, *, full_access: bool = True, nonce: int = 0) -> None:
        perm: Any = "FullAccess" if full_access else {"FunctionCall": {"allowance": None, "receiver_id": "x.test",
                                                                       "method_names": []}}
        self.accounts.setdefault(account_id, {})[public_key] = {"nonce": nonce, "permission": perm}

    def deploy(self, account_id: str, contract: Any) -> None:
        self.accounts.setdefault(account_id, {})
        self.contracts[account_id] = contract

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    # -- chain --
    @property
    def height(self) -> int:
        return len(self.blocks)

    def _new_block(self) -> str:
        h = b58encode(hashlib.sha256(f"{self.chain_id} block {len(self.blocks) + 1}".encode()).digest())
        self.blocks.append(h)
        return h

    def _block_at(self, params: dict) -> tuple[int, str]:
        if "block_id" in params:
            bid = params["block_id"]
            if isinstance(bid, int) and 1 <= bid <= self.height:
                return bid, self.blocks[bid - 1]
            if bid in self.blocks:
                return self.blocks.index(bid) + 1, bid
            raise RpcFailure("UNKNOWN_BLOCK", f"DB Not Found Error: BLOCK: {bid}", {})
        return self.height, self.blocks[-1]

    def _account(self, account_id: str) -> dict:
        if account_id not in self.accounts:
            raise RpcFailure("UNKNOWN_ACCOUNT", f"account {account_id} does not exist while viewing",
                             {"requested_account_id": account_id})
        return self.accounts[account_id]

    # -- methods --
    def status(self, params: Any) -> dict:
        return {"chain_id": self.chain_id, "sync_info": {"latest_block_hash": self.blocks[-1],
                                                         "latest_block_height": self.height, "syncing": False}}

    def block(self, params: dict) -> dict:
        height, h = self._block_at(params)
        return {"header": {"hash": h, "height": height, "chain_id": self.chain_id}}

    def query(self, params: dict) -> dict:
        height, h = self._block_at(params)
        at = {"block_height": height, "block_hash": h}
        kind = params["request_type"]
        if kind == "view_access_key":
            key = self._account(params["account_id"]).get(params["public_key"])
            if key is None:
                raise RpcFailure("UNKNOWN_ACCESS_KEY", f"access key {params['public_key']} does not exist while viewing",
                                 {"public_key": params["public_key"]})
            return {**key, **at}
        if kind == "view_access_key_list":
            keys = self._account(params["account_id"])
            return {"keys": [{"public_key": k, "access_key": v} for k, v in keys.items()], **at}
        if kind == "call_function":
            self._account(params["account_id"])
            contract = self.contracts.get(params["account_id"])
            if contract is None:
                raise RpcFailure("NO_CONTRACT_CODE", f"Contract code for contract ID #{params['account_id']} "
                                 "has never been observed on the node", {})
            args = json.loads(base64.b64decode(params["args_base64"]) or b"{}")
            try:
                value = contract.view(params["method_name"], args)
            except (Panic, KeyError, TypeError) as e:
                if self.legacy_view_errors:
                    return {"error": f"wasm execution failed with error: FunctionCallError(HostError(GuestPanic "
                                     f"{{ panic_msg: \"{e}\" }}))", "logs": [], **at}
                raise RpcFailure("CONTRACT_EXECUTION_ERROR",
                                 f"wasm execution failed with error: HostError(GuestPanic {{ panic_msg: \"{e}\" }})",
                                 {"vm_error": str(e)}) from None
            return {"result": list(json.dumps(value, ensure_ascii=False).encode("utf-8")), "logs": [], **at}
        raise RpcFailure("PARSE_ERROR", f"unknown request_type {kind}")

    def broadcast_tx_commit(self, params: list) -> dict:
        try:
            tx = decode_signed_transaction(base64.b64decode(params[0], validate=True))
        except (ValueError, IndexError, TypeError) as e:
            raise RpcFailure("PARSE_ERROR", f"Failed to decode transaction: {e}") from None
        key = self.accounts.get(tx["signer_id"], {}).get(tx["public_key"])
        if key is None:
            raise RpcFailure("INVALID_TRANSACTION", {"TxExecutionError": {"InvalidTxError": {"InvalidAccessKeyError": {
                "AccessKeyNotFound": {"account_id": tx["signer_id"], "public_key": tx["public_key"]}}}}})
        try:
            nacl.signing.VerifyKey(b58decode(tx["public_key"][8:])).verify(tx["hash"], tx["signature"])
        except nacl.exceptions.BadSignatureError:
            raise RpcFailure("INVALID_TRANSACTION", {"TxExecutionError": {"InvalidTxError": "InvalidSignature"}}) from None
        if tx["nonce"] <= key["nonce"]:
            raise RpcFailure("INVALID_TRANSACTION", {"TxExecutionError": {"InvalidTxError": {"InvalidNonce": {
                "tx_nonce": tx["nonce"], "ak_nonce": key["nonce"]}}}})
        if tx["block_hash"] not in self.blocks:
            raise RpcFailure("INVALID_TRANSACTION", {"TxExecutionError": {"InvalidTxError": "Expired"}})
        key["nonce"] = tx["nonce"]
        block = self._new_block()
        tx_hash = b58encode(tx["hash"])
        status: dict
        try:
            value = None
            contract = self.contracts.get(tx["receiver_id"])
            for action in tx["actions"]:
                call = action["FunctionCall"]
                if contract is None:
                    raise Panic("CodeDoesNotExist")
                value = contract.call(call["method_name"], json.loads(call["args"]), tx["signer_id"], self.height)
            status = {"SuccessValue": base64.b64encode(json.dumps(value).encode()).decode()}
        except (Panic, KeyError, TypeError, ValueError) as e:
            status = {"Failure": {"ActionError": {"index": 0, "kind": {"FunctionCallError": {
                "ExecutionError": f"Smart contract panicked: {e}"}}}}}
        actions = [{"FunctionCall": {**a["FunctionCall"], "args": base64.b64encode(a["FunctionCall"]["args"]).decode(),
                                     "deposit": str(a["FunctionCall"]["deposit"])}} for a in tx["actions"]]
        return {"status": status,
                "transaction": {"hash": tx_hash, "signer_id": tx["signer_id"], "receiver_id": tx["receiver_id"],
                                "public_key": tx["public_key"], "nonce": tx["nonce"], "actions": actions},
                "transaction_outcome": {"id": tx_hash, "block_hash": block, "outcome": {"status": status}},
                "receipts_outcome": []}

    # -- transport --
    def handle(self, request: dict) -> dict:
        base = {"jsonrpc": "2.0", "id": request.get("id")}
        method: Optional[Callable] = {"status": self.status, "block": self.block, "query": self.query,
                                      "broadcast_tx_commit": self.broadcast_tx_commit}.get(request.get("method"))
        with self.lock:
            self.requests.append(request)
            try:
                if method is None:
                    raise RpcFailure("METHOD_NOT_FOUND", f"Method not found: {request.get('method')}")
                return {**base, "result": method(request.get("params"))}
            except RpcFailure as e:
                return {**base, "error": {"name": "HANDLER_ERROR", "cause": {"name": e.cause, "info": e.info},
                                          "code": -32000, "message": "Server error", "data": e.data}}

    def _handler(self) -> type:
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                failure, node.http_failure = node.http_failure, None
                if failure is not None:
                    self.send_response(failure[0])
                    self.send_header("Content-Length", str(len(failure[1])))
                    self.end_headers()
                    self.wfile.write(failure[1])
                    return
                try:
                    answer = json.dumps(node.handle(json.loads(body))).encode()
                except ValueError:
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(b"Parse error")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
