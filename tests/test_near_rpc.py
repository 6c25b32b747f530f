"""NearRpc, the synchronous client on py-near's provider: what it decodes itself and why, and
how each kind of failure surfaces."""

import asyncio

import pytest
from near_support import ANCHORS, needs_py_near, node, rpc  # noqa: F401  (fixtures)

from plugin_host.near import NearRpcError

pytestmark = needs_py_near
TEXT = {"report": "approuvé ✓ — 监督", "n": 1}


@pytest.fixture
def echo(node):
    from near_loopback import AnchorContract

    node.deploy(ANCHORS, AnchorContract("owner.test"))
    return node


def test_view_results_are_decoded_as_utf8(echo, rpc):
    view = rpc.view(ANCHORS, "echo", TEXT)
    assert view.value == TEXT and view.block_height == echo.height and view.block_hash == echo.blocks[-1]
    sent = echo.requests[-1]["params"]
    assert sent["request_type"] == "call_function" and sent["finality"] == "final"


def test_py_near_view_function_garbles_utf8(echo):
    """Why NearRpc.view decodes NEAR's byte array itself: py-near joins chr() of each byte."""
    from py_near.account import Account

    async def view():
        account = Account(rpc_addr=echo.url)
        try:
            return (await account.view_function(ANCHORS, "echo", TEXT)).result
        finally:
            await account.shutdown()

    garbled = asyncio.run(view())
    assert garbled != TEXT and garbled["n"] == 1 and garbled["report"].encode("latin-1").decode() == TEXT["report"]


def test_contract_panics_old_and_new_shapes(echo, rpc):
    with pytest.raises(NearRpcError, match="MethodNotFound: nope") as e:
        rpc.view(ANCHORS, "nope")
    assert e.value.cause == "CONTRACT_EXECUTION_ERROR"
    echo.legacy_view_errors = True  # older nodes put the error inside the result
    with pytest.raises(NearRpcError, match="MethodNotFound: nope") as e:
        rpc.view(ANCHORS, "nope")
    assert e.value.cause == "CONTRACT_EXECUTION_ERROR"


def test_transport_failures(echo, rpc):
    echo.http_failure = (503, b"upstream overloaded")
    with pytest.raises(NearRpcError, match="HTTP 503") as e:
        rpc.status()
    assert e.value.cause == "HTTP_503"
    echo.http_failure = (200, b"{\"jsonrpc\": \"2.0\"}")  # neither result nor error
    with pytest.raises(NearRpcError, match="HTTP 200"):
        rpc.status()
    with pytest.raises(NearRpcError) as e:
        rpc.call("no_such_method", [])
    assert e.value.cause == "METHOD_NOT_FOUND"
    with pytest.raises(NearRpcError) as e:
        rpc.view("nobody.test", "get")
    assert e.value.cause == "UNKNOWN_ACCOUNT"
    assert rpc.status()["chain_id"] == "localnet"  # the client is still usable afterwards
