"""The NEAR tie-in: audit attestations a NEAR wallet can sign, registry anchors on a NEAR
contract, and Ref Finance pools as plugin input.

    from plugin_host.near import NearRpc, NearSigner, RefPoolSource, anchor, submit_anchor, verify_anchor
    with NearRpc("https://rpc.testnet.near.org") as rpc:
        tx = anchor(registry, "anchors.testnet", NearSigner.from_file(creds), rpc=rpc)
        submit_anchor(rpc, tx)
        verify_anchor(registry, "anchors.testnet", rpc).ok
        RefPoolSource(rpc, REF_TESTNET).pool(0).pool_state()

The NEAR client is py-near, an optional extra (``pip install 'plugin-host[near]'``). It is
imported only when a transaction is signed or a node is called; NEP-413 signing and key
resolution from pinned keys need only PyNaCl. ``import plugin_host`` never imports this package.
"""

from ..errors import NearError, NearRpcError, NearTransactionFailed, NearUnavailable
from ._anchor import (
    ANCHOR_METHOD,
    VIEW_METHOD,
    AnchorCheck,
    AnchorEntry,
    AnchorTx,
    AnchorVerification,
    OnChainAnchor,
    anchor,
    anchor_entries,
    submit_anchor,
    verify_anchor,
)
from ._nep413 import attestation_from_wallet, sign_message, verify_message, wallet_request
from ._ref import REF_MAINNET, REF_TESTNET, Quote, RefPool, RefPoolSource
from ._resolve import KeyResolver, PinnedKeys, RpcKeys, verify_attestation
from ._rpc import AccessKey, NearRpc, ViewResult
from ._tx import DEFAULT_GAS, NearSigner, SignedTx, TxOutcome, sign_function_call, submit

__all__ = [
    # NEP-413 attestations and whose keys they are
    "attestation_from_wallet",
    "wallet_request",
    "sign_message",
    "verify_message",
    "KeyResolver",
    "PinnedKeys",
    "RpcKeys",
    "verify_attestation",
    # talking to NEAR
    "NearRpc",
    "ViewResult",
    "AccessKey",
    "NearSigner",
    "SignedTx",
    "TxOutcome",
    "sign_function_call",
    "submit",
    "DEFAULT_GAS",
    # registry anchors
    "AnchorEntry",
    "OnChainAnchor",
    "AnchorTx",
    "AnchorCheck",
    "AnchorVerification",
    "anchor_entries",
    "anchor",
    "submit_anchor",
    "verify_anchor",
    "ANCHOR_METHOD",
    "VIEW_METHOD",
    # Ref Finance
    "RefPoolSource",
    "RefPool",
    "Quote",
    "REF_MAINNET",
    "REF_TESTNET",
    # errors
    "NearError",
    "NearUnavailable",
    "NearRpcError",
    "NearTransactionFailed",
]
