// Runs UniswapV2Router02's published bytecode (npm @uniswap/v2-periphery, build/UniswapV2Router02.json)
// in @ethereumjs/evm and answers getAmountOut / getAmountIn calls. Driven by gen_uniswap_v2_vectors.py:
// stdin: JSON [[fn, a, reserveIn, reserveOut], ...] (decimal strings)
// stdout: JSON [{"ok": "123"} | {"revert": "reason"}, ...]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createEVM } from "@ethereumjs/evm";
import { keccak_256 } from "@noble/hashes/sha3.js";

const require = createRequire(import.meta.url);
const router = require("@uniswap/v2-periphery/build/UniswapV2Router02.json");

const hex = (b) => Buffer.from(b).toString("hex");
const word = (v) => BigInt(v).toString(16).padStart(64, "0");
const selector = (sig) => hex(keccak_256(new TextEncoder().encode(sig))).slice(0, 8);
const SEL = {
  getAmountOut: selector("getAmountOut(uint256,uint256,uint256)"),
  getAmountIn: selector("getAmountIn(uint256,uint256,uint256)"),
};

function decodeRevert(buf) {
  const h = hex(buf);
  if (h.startsWith("08c379a0")) {  // Error(string)
    const len = parseInt(h.slice(8 + 64, 8 + 128), 16);
    return Buffer.from(h.slice(8 + 128, 8 + 128 + 2 * len), "hex").toString("utf8");
  }
  return h.length ? `raw:${h}` : "";  // no reason (e.g. division by zero: invalid opcode in 0.6.6)
}

const evm = await createEVM();
// constructor(address _factory, address _WETH): any two addresses, the quote functions are pure
const init = router.bytecode + word(0x1111) + word(0x2222);
const deployed = await evm.runCall({ data: Buffer.from(init, "hex"), gasLimit: 30_000_000n });
if (deployed.execResult.exceptionError) throw new Error("deploy failed");
const to = deployed.createdAddress;

const cases = JSON.parse(readFileSync(0, "utf8"));
const out = [];
for (const [fn, a, rIn, rOut] of cases) {
  const data = Buffer.from(SEL[fn] + word(a) + word(rIn) + word(rOut), "hex");
  const res = await evm.runCall({ to, data, gasLimit: 10_000_000n });
  const r = res.execResult;
  if (r.exceptionError) out.push({ revert: decodeRevert(r.returnValue), error: String(r.exceptionError.error) });
  else out.push({ ok: BigInt("0x" + hex(r.returnValue)).toString() });
}
process.stdout.write(JSON.stringify(out));
