// Golden bytes for plugin_host.near, made by an independent implementation: near-api-js (npm).
// CI never runs this; it reads the JSON this prints (tests/vectors/near_golden.json).
//
//   npm install --prefix /tmp/near-golden near-api-js@7.3.1
//   NEAR_API_JS=/tmp/near-golden/node_modules node tests/vectors/near_golden.mjs > tests/vectors/near_golden.json
//
// Every input is fixed (the test key is derived from a public seed: it guards nothing), so a re-run
// reproduces the file byte for byte. The anchor arguments are built here from the entries with
// JSON.stringify, keys in sorted order: the same bytes plugin_host.near must produce on its own.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const dir = process.env.NEAR_API_JS;
if (!dir) throw new Error("set NEAR_API_JS to a node_modules directory holding near-api-js");
const require = createRequire(join(dir, "noop.js"));
const { KeyPair, KeyPairSigner, actions, baseDecode, baseEncode, createTransaction } = require("near-api-js");
const VERSION = JSON.parse(readFileSync(join(dir, "near-api-js", "package.json"), "utf8")).version;

const sha256 = (text) => createHash("sha256").update(text).digest();
const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const hex = (bytes) => Buffer.from(bytes).toString("hex");

// NEAR's text format of a secret key is seed || public key. near-api-js derives the public key from
// the seed alone and keeps the text as given, so derive it first, then build the consistent key.
const seed = sha256("plugin-host near golden key");
const derived = KeyPair.fromString("ed25519:" + baseEncode(Buffer.concat([seed, Buffer.alloc(32)]))).getPublicKey();
const keyPair = KeyPair.fromString("ed25519:" + baseEncode(Buffer.concat([seed, Buffer.from(derived.data)])));
const secretKey = keyPair.toString();
const publicKey = keyPair.getPublicKey();
const signer = new KeyPairSigner(keyPair);

function anchorArgs(entries) {
  const sorted = entries.map((e) => ({
    attestations: e.attestations,
    plugin: e.plugin,
    plugin_sha256: e.plugin_sha256,
    runtime_sha256: e.runtime_sha256,
  }));
  return Buffer.from(JSON.stringify({ entries: sorted }), "utf8");
}

const entriesA = [
  { attestations: [hex(sha256("att 1")), hex(sha256("att 2"))], plugin: "curve-stable-swap@1.0.0",
    plugin_sha256: hex(sha256("plugin A")), runtime_sha256: hex(sha256("runtime")) },
  { attestations: [], plugin: "uniswap-v2@1.0.0", plugin_sha256: hex(sha256("plugin B")),
    runtime_sha256: hex(sha256("runtime")) },
];
const entriesB = [
  { attestations: [hex(sha256("att 3"))], plugin: "solidly@1.0.0", plugin_sha256: hex(sha256("plugin C")),
    runtime_sha256: hex(sha256("runtime 2")) },
];

const txCases = [
  { name: "anchor, two plugins", signer_id: "registry.testnet", receiver_id: "anchors.testnet", nonce: "7",
    block_hash: baseEncode(sha256("block 1")), method: "anchor", entries: entriesA,
    gas: "30000000000000", deposit: "0" },
  { name: "anchor, 64-bit nonce, deposit, implicit signer", signer_id: hex(publicKey.data),
    receiver_id: "plugin-anchors.near", nonce: "9007199254740993", block_hash: baseEncode(sha256("block 2")),
    method: "anchor", entries: entriesB, gas: "300000000000000", deposit: "1250000000000000000000" },
];

const transactions = [];
for (const c of txCases) {
  const args = anchorArgs(c.entries);
  const tx = createTransaction(c.signer_id, publicKey, c.receiver_id, BigInt(c.nonce),
    [actions.functionCall(c.method, args, BigInt(c.gas), BigInt(c.deposit))],
    Buffer.from(baseDecode(c.block_hash)));
  const { txHash, signedTransaction } = await signer.signTransaction(tx);
  transactions.push({ ...c, args_base64: b64(args), expected: {
    signed_tx_base64: b64(signedTransaction.encode()), tx_hash: baseEncode(txHash) } });
}

const messageCases = [
  { name: "ascii statement", message: '{"auditor":"alice.near","verdict":"approved"}', recipient: "plugin-host",
    nonce: sha256("nonce 1") },
  { name: "utf-8 message", message: "audit: approuvé ✓ — ok", recipient: "plugin-host", nonce: sha256("nonce 2") },
  { name: "with callback url", message: "hello", recipient: "myapp.near", nonce: Buffer.alloc(32, 7),
    callbackUrl: "https://example.org/cb" },
];
const messages = [];
for (const m of messageCases) {
  const payload = { message: m.message, recipient: m.recipient, nonce: new Uint8Array(m.nonce) };
  if (m.callbackUrl !== undefined) payload.callbackUrl = m.callbackUrl;
  const signed = await signer.signNep413Message("alice.near", payload);
  messages.push({ name: m.name, message: m.message, recipient: m.recipient, nonce_base64: b64(m.nonce),
    callback_url: m.callbackUrl ?? null, expected: { public_key: signed.publicKey.toString(),
      signature_base64: b64(signed.signature) } });
}

process.stdout.write(JSON.stringify({
  generator: `tests/vectors/near_golden.mjs with near-api-js ${VERSION} (npm), node ${process.version}`,
  secret_key: secretKey, public_key: publicKey.toString(), transactions, nep413: messages,
}, null, 2) + "\n");
