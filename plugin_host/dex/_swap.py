"""A swap, step by step: quote in the realm, validate, settle, record; and its replay.

The DEX runs ``quote`` and ``settle`` inside one database transaction (see ``_dex.py``), so an
error at any step - the plugin throws or runs out of gas, its answer is junk or breaks a rule,
the trader is short - rolls back everything, the trader's debit included.
"""

from __future__ import annotations

import collections
import sqlite3
import threading
from typing import Any, Optional

import msgspec

from .._codec import canonical, sha256_hex
from .._realm import FrozenRealm
from .._result import CallResult
from .._receipt import Receipt
from ..errors import InvalidOutput, PluginError, ReplayMismatch, ValidationFailed
from ..registry import PluginRegistry
from ..validation import SwapQuote, SwapRequest, Validator, parse_output
from . import _ledger
from ._records import DexPlugin, Pool, Rejection, Replay, SwapRecord

__all__ = ["quote", "settle", "record_rejection", "replay", "swap_record", "rejection_record", "SWAP_COLUMNS",
           "REJECTION_COLUMNS"]

FUNCTION = "calculateSwap"
SWAP_COLUMNS = ("id, pool_id, plugin_id, plugin_sha256, trader, token_in, token_out, amount_in, min_amount_out, "
                "amount_out, fee_amount, fee_token, fee_left, royalty, gas_used, input, output, receipt, "
                "receipt_digest, at, prev_digest, digest")
REJECTION_COLUMNS = ("id, pool_id, plugin_id, plugin_sha256, trader, token_in, token_out, amount_in, error, rule, "
                     "message, gas_used, receipt, at")
_AMOUNTS = ("amount_in", "min_amount_out", "amount_out", "fee_amount", "fee_left", "royalty")
# the columns a record's digest covers, besides its receipt, input, output, time and link
_DIGESTED = ("pool_id", "plugin_id", "plugin_sha256", "trader", "token_in", "token_out", "amount_in",
             "min_amount_out", "amount_out", "fee_amount", "fee_token", "fee_left", "royalty", "gas_used")


class Quoted(msgspec.Struct, frozen=True):
    quote: SwapQuote
    result: CallResult
    data: dict  # the exact input the plugin saw


def quote(registry: PluginRegistry, plugin: DexPlugin, pool: Pool, request: SwapRequest, validator: Validator,
          gas_limit: Optional[int]) -> Quoted:
    """Ask the pinned plugin, convert its answer, run every rule. Errors carry the receipt."""
    data = {"tokenIn": request.token_in, "tokenOut": request.token_out, "amountIn": request.amount_in,
            "poolState": pool.pool_state()}
    result = registry.call(plugin.sha256, FUNCTION, data, sha256=plugin.sha256, gas_limit=gas_limit)
    try:
        q = parse_output(result.output, SwapQuote, function=FUNCTION)
        validator.validate(request, q)
    except (InvalidOutput, ValidationFailed) as e:
        e.receipt = result.receipt
        raise
    return Quoted(q, result, data)


def settle(c: sqlite3.Connection, plugin: DexPlugin, pool: Pool, request: SwapRequest, quoted: Quoted,
           trader: str, now: int) -> SwapRecord:
    """Apply a validated quote. The trader's amountIn was debited before the plugin ran."""
    q, treatment = quoted.quote, pool.fee_treatment
    fee_index = request.i if treatment.fee_side == "in" else request.j
    fee_token = pool.tokens[fee_index]
    fee_left = treatment.leaving(q)
    # the author's share of the swap fee, paid by the pool's LPs (like Uniswap's protocol fee)
    royalty = q.fee_amount * plugin.royalty_bps // 10_000
    balances = list(q.new_balances)
    if royalty > balances[fee_index]:
        e = ValidationFailed(f"validation rule 'royalty covered' failed: royalty={royalty}, "
                             f"pool balance={balances[fee_index]}", rule="royalty covered",
                             values={"royalty": royalty, f"newBalances[{fee_token}]": balances[fee_index]})
        e.receipt = quoted.result.receipt
        raise e
    balances[fee_index] -= royalty
    _ledger.set_pool_balances(c, pool.pool_id, balances)
    if fee_left:
        _ledger.credit(c, "fees", pool.pool_id, fee_token, fee_left)
    if royalty:
        _ledger.credit(c, "balances", plugin.royalty_account, fee_token, royalty)
        _ledger.credit(c, "royalties", plugin.plugin_id, fee_token, royalty)
    _ledger.credit(c, "balances", trader, request.token_out, q.amount_out)

    receipt = quoted.result.receipt
    fields = {"pool_id": pool.pool_id, "plugin_id": plugin.plugin_id, "plugin_sha256": plugin.sha256,
              "trader": trader, "token_in": request.token_in, "token_out": request.token_out,
              "amount_in": request.amount_in, "min_amount_out": request.min_amount_out,
              "amount_out": q.amount_out, "fee_amount": q.fee_amount, "fee_token": fee_token,
              "fee_left": fee_left, "royalty": royalty, "gas_used": receipt.gas_used}
    row = c.execute("SELECT digest FROM swaps ORDER BY id DESC LIMIT 1").fetchone()
    prev = row[0] if row else ""
    # the realm hashed both blobs into the receipt already (replay checks they still match)
    input_blob, output_blob = canonical(quoted.data), canonical(quoted.result.output)
    receipt_digest = receipt.digest()
    digest = _digest(fields, receipt_digest, receipt.input_sha256, receipt.output_sha256, now, prev)
    cols = {**{k: str(v) if k in _AMOUNTS else v for k, v in fields.items()},
            "input": input_blob, "output": output_blob, "receipt": receipt.to_json(),
            "receipt_digest": receipt_digest, "at": now, "prev_digest": prev, "digest": digest}
    cur = c.execute(f"INSERT INTO swaps ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    tuple(cols.values()))
    return SwapRecord(swap_id=cur.lastrowid, **fields, receipt=receipt, at=now, digest=digest)


def _digest(fields: dict, receipt_digest: str, input_sha256: str, output_sha256: str, at: int, prev: str) -> str:
    """The one definition of a swap record's digest: its fields, its receipt, and the previous
    record's digest, so that altering or deleting any record breaks the chain after it."""
    return sha256_hex(canonical({**fields, "receipt_digest": receipt_digest, "input_sha256": input_sha256,
                                 "output_sha256": output_sha256, "at": at, "prev_digest": prev}))


def swap_record(row: tuple) -> SwapRecord:
    (sid, pool_id, plugin_id, sha, trader, t_in, t_out, a_in, min_out, a_out, fee, fee_token, fee_left, royalty,
     gas, _input, _output, receipt, _rd, at, _prev, digest) = row
    return SwapRecord(swap_id=sid, pool_id=pool_id, plugin_id=plugin_id, plugin_sha256=sha, trader=trader,
                      token_in=t_in, token_out=t_out, amount_in=int(a_in), min_amount_out=int(min_out),
                      amount_out=int(a_out), fee_amount=int(fee), fee_token=fee_token, fee_left=int(fee_left),
                      royalty=int(royalty), gas_used=gas, receipt=Receipt.from_json(receipt), at=at, digest=digest)


def record_rejection(c: sqlite3.Connection, plugin: DexPlugin, pool_id: str, trader: str, request: SwapRequest,
                     error: PluginError, now: int) -> None:
    receipt = error.receipt
    assert receipt is not None  # only answers the plugin gave (or failed to give) are logged
    c.execute("INSERT INTO rejections (pool_id, plugin_id, plugin_sha256, trader, token_in, token_out, amount_in, "
              "error, rule, message, gas_used, receipt, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              (pool_id, plugin.plugin_id, plugin.sha256, trader, request.token_in, request.token_out,
               str(request.amount_in), type(error).__name__, getattr(error, "rule", None), error.message,
               receipt.gas_used, receipt.to_json(), now))


def rejection_record(row: tuple) -> Rejection:
    rid, pool_id, plugin_id, sha, trader, t_in, t_out, a_in, error, rule, message, gas, receipt, at = row
    return Rejection(rejection_id=rid, pool_id=pool_id, plugin_id=plugin_id, plugin_sha256=sha, trader=trader,
                     token_in=t_in, token_out=t_out, amount_in=int(a_in), error=error, rule=rule, message=message,
                     gas_used=gas, receipt=Receipt.from_json(receipt), at=at)


# ---- replay ------------------------------------------------------------------------------------

_local = threading.local()
_REALMS_PER_THREAD = 8


def _replay_realm(registry: PluginRegistry, sha: str, engine: str, receipt: Receipt) -> FrozenRealm:
    """A realm of the pinned source under the receipt's limits. Not registry.realm(): a swap
    must replay even after its plugin was deactivated. Cached per thread (wasmer realms are
    thread-bound)."""
    realms = getattr(_local, "realms", None)
    if realms is None:
        realms = _local.realms = collections.OrderedDict()
    lim = receipt.limits
    key = (sha, engine, lim)
    realm = realms.get(key)
    if realm is None:
        realm = realms[key] = FrozenRealm(registry.source(sha), engine=engine, gas_limit=lim.gas,
                                          memory_limit=lim.memory, stack_limit=lim.stack, input_limit=lim.input,
                                          output_limit=lim.output, log_limit=lim.log, depth_limit=lim.depth)
        while len(realms) > _REALMS_PER_THREAD:
            realms.popitem(last=False)
    realms.move_to_end(key)
    return realm


def _check_record(row: tuple, prev_digest: str) -> tuple[list[str], Optional[Receipt], Any]:
    """Problems with the stored record itself, before anything runs."""
    rec = dict(zip(SWAP_COLUMNS.split(", "), row))
    problems: list[str] = []
    fields = {k: int(rec[k]) if k in _AMOUNTS else rec[k] for k in _DIGESTED}
    input_blob, output_blob = bytes(rec["input"]), bytes(rec["output"])
    digest = _digest(fields, rec["receipt_digest"], sha256_hex(input_blob), sha256_hex(output_blob), rec["at"],
                     rec["prev_digest"])
    if digest != rec["digest"]:
        problems.append("the record does not hash to its digest: it was altered after it was written")
    if rec["prev_digest"] != prev_digest:
        problems.append("the hash chain is broken: prev_digest is not the previous record's digest")
    try:
        receipt: Optional[Receipt] = Receipt.from_json(rec["receipt"])
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        return problems + [f"the stored receipt does not decode: {e}"], None, None
    if receipt.digest() != rec["receipt_digest"]:
        problems.append("the stored receipt does not hash to its recorded digest")
    if receipt.plugin_sha256 != rec["plugin_sha256"] or receipt.function != FUNCTION:
        problems.append("the receipt is for another plugin or function")
    if receipt.gas_used != rec["gas_used"]:
        problems.append(f"gas recorded {rec['gas_used']}, the receipt says {receipt.gas_used}")
    if sha256_hex(input_blob) != receipt.input_sha256:
        problems.append("the stored input does not hash to the receipt's input_sha256")
    if sha256_hex(output_blob) != receipt.output_sha256:
        problems.append("the stored output does not hash to the receipt's output_sha256")
    try:
        data = msgspec.json.decode(input_blob)
        q = parse_output(msgspec.json.decode(output_blob))
        if (data.get("tokenIn"), data.get("tokenOut"), data.get("amountIn")) != \
                (rec["token_in"], rec["token_out"], int(rec["amount_in"])):
            problems.append("the stored input is not the recorded trade")
        if (q.amount_out, q.fee_amount) != (int(rec["amount_out"]), int(rec["fee_amount"])):
            problems.append(f"settled amountOut={rec['amount_out']} feeAmount={rec['fee_amount']}, but the "
                            f"recorded answer says amountOut={q.amount_out} feeAmount={q.fee_amount}")
    except (msgspec.DecodeError, InvalidOutput, AttributeError) as e:
        problems.append(f"the stored input or output does not decode: {e}")
        data = None
    return problems, receipt, data


def replay(c: sqlite3.Connection, registry: PluginRegistry, swap_id: int, engine: str) -> Replay:
    """Check a record and re-run its pinned plugin on its recorded input. Raises
    ReplayMismatch listing every problem; returns the proof otherwise."""
    row = c.execute(f"SELECT {SWAP_COLUMNS} FROM swaps WHERE id = ?", (swap_id,)).fetchone()
    if row is None:
        raise ReplayMismatch(f"no swap {swap_id} is recorded", swap_id=swap_id, problems=("no such swap",))
    prev = c.execute("SELECT digest FROM swaps WHERE id < ? ORDER BY id DESC LIMIT 1", (swap_id,)).fetchone()
    problems, receipt, data = _check_record(row, prev[0] if prev else "")
    if receipt is not None and data is not None:
        realm = _replay_realm(registry, row[3], engine, receipt)
        try:
            again = realm.call(FUNCTION, data, gas_limit=receipt.limits.gas).receipt
        except PluginError as e:
            again = e.receipt
            problems.append(f"the replay failed: {type(e).__name__}: {e}")
        if again is not None:
            if again.output_sha256 != receipt.output_sha256:
                problems.append(f"the replay's output hashes to {again.output_sha256}, "
                                f"recorded {receipt.output_sha256}")
            if again.gas_used != receipt.gas_used:
                problems.append(f"the replay used {again.gas_used} gas, recorded {receipt.gas_used}")
            if again.runtime_sha256 != receipt.runtime_sha256:
                problems.append(f"the replay ran on runtime {again.runtime_sha256[:12]}, "
                                f"recorded on {receipt.runtime_sha256[:12]}")
    if problems:
        raise ReplayMismatch(f"swap {swap_id} does not replay: " + "; ".join(problems), swap_id=swap_id,
                             problems=tuple(problems))
    assert receipt is not None and receipt.output_sha256 is not None
    return Replay(swap_id=swap_id, plugin_sha256=row[3], receipt_digest=receipt.digest(),
                  output_sha256=receipt.output_sha256, gas_used=receipt.gas_used, engine=engine)
