"""The reference DEX: an immutable protocol whose pools are priced by sandboxed plugins.

    from plugin_host import ExtensibleDex
    dex = ExtensibleDex(":memory:", owner="dex.near")
    dex.install_plugin("dex.near", open("plugins/uniswap-v2.js").read(), "univ2")
    dex.create_pool("dex.near", "weth-usdc", plugin_id="univ2", tokens=["WETH", "USDC"],
                    fee_treatment="kept", params={"feeBps": 30}, balances_key="reserves")
    dex.swap_with_plugin("alice", "univ2", "weth-usdc", "WETH", "USDC", 10**18, min_amount_out=...)
    dex.replay(swap_id)

Plugins compute; the protocol validates every answer (plugin_host.validation) and keeps control
of the funds: quote, validate and settle happen in one SQLite transaction.
"""

from ._dex import DEFAULT_ROYALTY_BPS, ExtensibleDex
from ._records import DexPlugin, Hop, Liquidity, PluginStats, Pool, Rejection, Replay, SwapRecord
from ._store import SCHEMA_VERSION

__all__ = [
    "ExtensibleDex",
    "DexPlugin",
    "Pool",
    "Liquidity",
    "Hop",
    "SwapRecord",
    "Rejection",
    "Replay",
    "PluginStats",
    "DEFAULT_ROYALTY_BPS",
    "SCHEMA_VERSION",
]
