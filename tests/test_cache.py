"""The on-disk caches stay bounded: least recently used out, a hit counts as a use."""

import os
import time

from plugin_host import FrozenRealm
from plugin_host import _cache


def make(directory, name, size, age):
    path = directory / name
    path.write_bytes(b"x" * size)
    t = time.time() - age
    os.utime(path, (t, t))
    return path


def test_prune_keeps_the_most_recently_used_within_the_budget(tmp_path):
    for i in range(6):
        make(tmp_path, f"{i}.image", 100, age=100 - i)  # 5 is the newest
    make(tmp_path, "other.txt", 10_000, age=1000)
    _cache.prune(tmp_path, ".image", max_bytes=350)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["3.image", "4.image", "5.image", "other.txt"]
    _cache.prune(tmp_path, ".image", max_files=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["5.image", "other.txt"]


def test_realm_images_stay_under_the_budget_and_a_hit_keeps_an_image(tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGIN_HOST_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PLUGIN_HOST_IMAGE_CACHE_MB", "2")  # room for two or three ~0.7 MB images
    realms = tmp_path / "realms"
    first = "export function f() { return 0; }"
    FrozenRealm(first)
    (kept,) = realms.iterdir()
    for i in range(1, 6):
        past = time.time() - 10
        os.utime(kept, (past, past))
        FrozenRealm(first)  # a hit: refreshes the first image, so it is never the oldest
        FrozenRealm(f"export function f() {{ return {i}; }}")
        assert sum(p.stat().st_size for p in realms.iterdir()) <= 2 << 20
        assert kept.exists()
    assert len(list(realms.iterdir())) < 6


def test_compiled_modules_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGIN_HOST_CACHE_DIR", str(tmp_path))
    for i in range(_cache.MODULES_KEPT + 3):
        make(tmp_path, f"m{i}.module", 10, age=100 - i)
    got = _cache.cached_module("new", lambda: "compiled", lambda m: b"bytes", lambda p: None)
    assert got == "compiled"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == _cache.MODULES_KEPT and "new.module" in names and "m0.module" not in names


def test_a_killed_writers_temporary_file_is_removed_and_a_live_ones_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("PLUGIN_HOST_CACHE_DIR", str(tmp_path))
    realms = tmp_path / "realms"
    realms.mkdir()
    make(realms, ".tmp-killed", 786_432, age=_cache.STALE_TMP_SECONDS + 60)
    make(realms, ".tmp-writing", 1000, age=1)  # another process, mid-write
    FrozenRealm("export function f() { return 'a miss, so a write and a prune'; }")
    names = {p.name for p in realms.iterdir()}
    assert ".tmp-killed" not in names and ".tmp-writing" in names


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    _cache._write_atomic(tmp_path / "x.image", b"data")
    assert list(tmp_path.iterdir()) == []
