"""`plugin-host demo`: a short, readable tour of a FrozenRealm."""

from __future__ import annotations

import argparse
import time

from . import CapabilityDenied, FrozenRealm, OutOfGas, PluginException

CONSTANT_PRODUCT = """
// A constant-product quote, Uniswap V2's getAmountOut, in integers (BigInt).
export const metadata = { name: "demo-constant-product", version: "1.0.0", author: "demo.near",
                          license: "MIT", description: "x*y=k quote", kind: "amm" };
export function getAmountOut({ amountIn, reserveIn, reserveOut, feeBps }) {
  if (amountIn <= 0n) throw new Error("INSUFFICIENT_INPUT_AMOUNT");
  const a = amountIn * (10000n - feeBps);
  return a * reserveOut / (reserveIn * 10000n + a);
}
export function chatty() { console.log("a plugin without the log capability"); return 1n; }
export function spin() { for (;;) {} }
"""


def _show(label: str, value: object) -> None:
    print(f"  {label:<14} {value}")


def main(args: argparse.Namespace) -> int:
    print("plugin-host demo: one plugin, one frozen realm\n")
    t0 = time.perf_counter()
    realm = FrozenRealm(CONSTANT_PRODUCT, gas_limit=5_000_000)
    _show("loaded", f"{realm.metadata['name']} in {(time.perf_counter() - t0) * 1e3:.1f} ms")
    _show("plugin sha256", realm.plugin_sha256)
    _show("runtime sha256", realm.runtime_sha256)
    _show("exports", ", ".join(realm.exports))

    print("\n1. a pure call: BigInt in, BigInt out, exact to the wei")
    request = {"amountIn": 10**21, "reserveIn": 10**24, "reserveOut": 10**24, "feeBps": 30}
    res = realm.call("getAmountOut", request)
    _show("output", res.output)
    _show("gas used", res.gas_used)
    _show("receipt", res.receipt.digest())
    again = realm.call("getAmountOut", request)
    _show("same again", f"output equal: {again.output == res.output}, "
                        f"receipt equal: {again.receipt.digest() == res.receipt.digest()}")

    print("\n2. the plugin throws: a typed error, with a receipt")
    try:
        realm.call("getAmountOut", {**request, "amountIn": 0})
    except PluginException as e:
        _show("PluginException", e)

    print("\n3. a capability the realm was not granted")
    try:
        realm.call("chatty")
    except CapabilityDenied as e:
        _show("CapabilityDenied", e)

    print("\n4. an infinite loop")
    t = time.perf_counter()
    try:
        realm.call("spin")
    except OutOfGas as e:
        _show("OutOfGas", f"{e} (stopped after {(time.perf_counter() - t) * 1e3:.1f} ms)")

    print("\n5. the realm is unharmed")
    _show("output", realm.call("getAmountOut", request).output)
    return 0
