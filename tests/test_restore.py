"""What the host copies back before a call: the stack a call used and the writable statics and
heap, never the read-only data between them (plugin_host/_realm.py, runtime/harness/ph.h).

conftest sets PLUGIN_HOST_VERIFY_RESTORE, which compares the whole memory with the snapshot
after every restore: a call that wrote anywhere the host did not restore fails there. These
tests check that the split is in effect, and that it holds after calls that use much of the
engine (regexps, strings, JSON, BigInt, typed arrays, sorting, exceptions)."""

import pytest

from plugin_host import FrozenRealm, PluginException, _realm

BUSY = r"""
export function busy({ n }) {
  const words = ("lorem ipsum dolor sit amet " + String(n)).repeat(20).split(/\s+/u);
  const big = words.reduce((acc, w) => acc * 31n + BigInt(w.length), 7n);
  const json = JSON.parse(JSON.stringify({ words, big: big.toString(), d: [1.5, -0, 1e300] }));
  const sorted = [...json.words].sort().map((w) => w.toUpperCase().normalize("NFD"));
  const f = new Float64Array(64).map((_, i) => Math.sin(i * Number(n)));
  let caught = "";
  try { null.x; } catch (e) { caught = String(e) + e.stack; }
  return { n: big % 1000003n, s: sorted.join("").length, f: f.reduce((a, b) => a + b, 0), caught };
}
export function boom() { throw new RangeError("no"); }
"""


def test_read_only_data_is_never_restored_nor_written(engine):
    realm = FrozenRealm(BUSY, engine=engine)
    stack_top, data_low = realm._stack_top, realm._data_low
    assert data_low - stack_top >= 64 * 1024  # .rodata is ~100 KiB: the split skips it
    before = bytes(realm._inst.memory()[stack_top:data_low])
    low = realm._snap_low  # the snapshot holds memory from there up
    assert before == realm._snapshot[stack_top - low:data_low - low]
    for n in range(1, 6):
        realm.call("busy", {"n": n})
        lo, hi, _ = realm._dirty
        assert lo < stack_top <= data_low < hi
        with pytest.raises(PluginException):
            realm.call("boom")
    assert bytes(realm._inst.memory()[stack_top:data_low]) == before


def test_a_report_that_disagrees_with_the_snapshot_gets_a_fresh_instance(engine, monkeypatch):
    realm = FrozenRealm(BUSY, engine=engine)
    realm.call("busy", {"n": 1})
    assert realm._dirty is not _realm._BROKEN
    first = realm._inst
    monkeypatch.setattr(realm, "_data_low", realm._data_low + 8)  # the guest still reports its own
    realm.call("busy", {"n": 2})
    assert realm._dirty is _realm._BROKEN
    monkeypatch.undo()
    assert realm.call("busy", {"n": 3}).output == FrozenRealm(BUSY, engine=engine).call("busy", {"n": 3}).output
    assert realm._inst is not first


def test_a_call_deeper_than_the_load_restores_the_stack_below_the_image(engine):
    """The image starts at the lowest stack page the load wrote; a call that recurses deeper
    writes below it, and the restore zeroes that part (the suite verifies every restore
    against the whole snapshot)."""
    realm = FrozenRealm("export function deep({n}) { const f = (k) => k ? 1 + f(k - 1) : 0; return f(Number(n)); }",
                        engine=engine)
    assert 0 < realm._snap_low < realm._stack_top
    assert realm.call("deep", {"n": 300}).output == 300
    assert realm._dirty[0] < realm._snap_low  # the call's stack went below the image
    assert realm.call("deep", {"n": 3}).output == 3
    assert bytes(realm._inst.memory()[:realm._snap_low]) == bytes(realm._snap_low)
