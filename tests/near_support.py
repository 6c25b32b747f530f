"""Shared helpers of the NEAR tests (tests/test_near_*.py): the loopback node, an RPC client to
it, the golden vectors, and a small registry with audited plugins."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from plugin_host import PluginRegistry, RegistryPolicy
from plugin_host.registry import generate_key
from registry_support import plugin

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = json.loads((HERE / "vectors" / "near_golden.json").read_text())
HAVE_PY_NEAR = importlib.util.find_spec("py_near") is not None
needs_py_near = pytest.mark.skipif(not HAVE_PY_NEAR, reason="py-near is not installed: pip install 'plugin-host[near]'")

OWNER = "registry.test"  # the account that anchors
ANCHORS = "anchors.test"  # the anchor contract
REF = "ref.test"  # the mock Ref exchange


@pytest.fixture
def node():
    from near_loopback import LoopbackNode

    n = LoopbackNode()
    try:
        yield n
    finally:
        n.close()


@pytest.fixture
def rpc(node):
    if not HAVE_PY_NEAR:
        pytest.skip("py-near is not installed: pip install 'plugin-host[near]'")
    from plugin_host.near import NearRpc

    with NearRpc(node.url, timeout=10) as client:
        yield client


class Audited:
    """A registry with two active plugins (one approved by alice, one with no attestation but
    allowed by an empty policy) and a third, inactive one; keys to sign with."""

    def __init__(self) -> None:
        self.reg = PluginRegistry(":memory:")
        self.alice_secret, self.alice_public = generate_key()
        self.owner_secret, self.owner_public = generate_key()
        self.reg.add_auditor("alice.near", self.alice_public)
        self.a = self.reg.install(plugin("alpha", "1.0.0"))
        self.b = self.reg.install(plugin("beta", "2.1.0"))
        self.c = self.reg.install(plugin("gamma", "0.1.0"))
        self.att = self.reg.attest(self.a, self.alice_secret, auditor="alice.near", verdict="approved",
                                   report="ipfs://report-alpha", timestamp=1_700_000_000)
        self.reg.set_policy(RegistryPolicy(trusted_auditors=["alice.near"], min_approvals=0))
        self.reg.activate(self.a)
        self.reg.activate(self.b)


@pytest.fixture
def audited():
    a = Audited()
    try:
        yield a
    finally:
        a.reg.close()
