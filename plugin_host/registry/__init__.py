"""The plugin registry: install plugins pinned by sha256, audit them, curate them, run them.

    from plugin_host import PluginRegistry, RegistryPolicy
    reg = PluginRegistry(".plugin-host/registry.sqlite")
    rec = reg.install(open("plugins/uniswap-v2.js").read())
    reg.activate(rec)
    reg.call(rec.ref, "getAmountOut", {...}, sha256=rec.sha256)

SQLite holds the code, metadata, auditors' keys, attestations, policy and usage ledger;
attestations are ed25519 signatures (NEAR key format) over a canonical statement.
"""

from ._attest import Attestation, Statement, sign
from ._index import Manifest
from ._keys import generate_key, public_key_of
from ._policy import Decision, RegistryPolicy
from ._registry import AttestationCheck, Auditor, PluginRecord, PluginRegistry, Usage, Verification
from ._store import SCHEMA_VERSION

__all__ = [
    "PluginRegistry",
    "PluginRecord",
    "RegistryPolicy",
    "Attestation",
    "Statement",
    "AttestationCheck",
    "Verification",
    "Decision",
    "Auditor",
    "Usage",
    "Manifest",
    "sign",
    "generate_key",
    "public_key_of",
    "SCHEMA_VERSION",
]
