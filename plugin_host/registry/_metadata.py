"""What a plugin says about itself (``export const metadata``), checked once, at install.

The plugin's own realm reads the metadata, so what is stored is exactly what the code exports.
Unknown extra fields are kept (a plugin may document more) but only these are relied on.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Optional, Union

import msgspec

from .._codec import sha256_hex
from .._realm import CAPABILITIES, FrozenRealm
from ..errors import InvalidMetadata, PluginSyntaxError, SourceTooLarge

__all__ = ["Metadata", "Inspected", "inspect", "source_bytes", "semver_key"]

# semver.org's regex, verbatim
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
# lowercase, like npm; no "@" so that "name@version" parses
NAME = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$")
KIND = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_SPDX_ID = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.-]+:)?(?:LicenseRef-)?[A-Za-z0-9][A-Za-z0-9.-]*\+?$")

_HINTS = {
    "name": "a lowercase name like 'uniswap-v2' (letters, digits, '.', '_', '-'; at most 64)",
    "version": "a semantic version like '1.0.0'",
    "license": "an SPDX license identifier or expression like 'MIT' or 'MIT OR Apache-2.0'",
    "capabilities": f"a list of capability names from {sorted(CAPABILITIES)}",
    "kind": "a lowercase word like 'amm'",
}


class Metadata(msgspec.Struct, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    version: Annotated[str, msgspec.Meta(min_length=5, max_length=128)]
    author: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    license: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    capabilities: tuple[str, ...] = ()
    kind: Optional[str] = None


class Inspected(msgspec.Struct, frozen=True):
    """A plugin loaded and checked, not yet stored anywhere."""

    source: bytes
    sha256: str
    metadata: Metadata
    raw_metadata: dict  # everything the plugin exported as metadata
    exports: tuple[str, ...]
    runtime_sha256: str


def source_bytes(source: Union[str, bytes], limit: int) -> bytes:
    if isinstance(source, str):
        data = source.encode("utf-8", "surrogatepass")
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        raise PluginSyntaxError(f"the source must be str or bytes, not {type(source).__name__}")
    if len(data) > limit:
        raise SourceTooLarge(f"the source is {len(data)} bytes, over the registry's {limit}-byte limit", limit=limit)
    return data


def _spdx_ok(expr: str) -> bool:
    """A small recursive-descent check of an SPDX license expression's syntax."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expr)
    pos = 0

    def term() -> bool:
        nonlocal pos
        if pos < len(tokens) and tokens[pos] == "(":
            pos += 1
            if not expression() or pos >= len(tokens) or tokens[pos] != ")":
                return False
            pos += 1
            return True
        if pos >= len(tokens) or not _SPDX_ID.match(tokens[pos]) or tokens[pos] in ("AND", "OR", "WITH"):
            return False
        pos += 1
        if pos < len(tokens) and tokens[pos] == "WITH":
            pos += 1
            if pos >= len(tokens) or not _SPDX_ID.match(tokens[pos]):
                return False
            pos += 1
        return True

    def expression() -> bool:
        nonlocal pos
        if not term():
            return False
        while pos < len(tokens) and tokens[pos] in ("AND", "OR"):
            pos += 1
            if not term():
                return False
        return True

    # NONE and NOASSERTION are valid SPDX but say "no license": not enough to run someone's code
    return bool(tokens) and expression() and pos == len(tokens) and expr not in ("NONE", "NOASSERTION")


def validate(raw: Any) -> Metadata:
    """The plugin's metadata as a Metadata, or InvalidMetadata saying what is wrong."""
    if not isinstance(raw, dict) or not raw:
        raise InvalidMetadata("the plugin has no metadata: add `export const metadata = { name, version, "
                              "author, license, description }`")
    try:
        meta = msgspec.convert(raw, Metadata)
    except msgspec.ValidationError as e:
        field = re.search(r"`\$\.(\w+)", str(e)) or re.search(r"field `(\w+)`", str(e))
        hint = _HINTS.get(field.group(1), "") if field else ""
        raise InvalidMetadata(f"invalid metadata: {e}" + (f" (expected {hint})" if hint else "")) from None
    problems = []
    if not NAME.match(meta.name):
        problems.append(f"name {meta.name!r} is not {_HINTS['name']}")
    if not SEMVER.match(meta.version):
        problems.append(f"version {meta.version!r} is not {_HINTS['version']}")
    if not _spdx_ok(meta.license):
        problems.append(f"license {meta.license!r} is not {_HINTS['license']}")
    unknown = sorted(set(meta.capabilities) - CAPABILITIES)
    if unknown:
        problems.append(f"capabilities {unknown} are unknown to this host; {_HINTS['capabilities']}")
    if len(set(meta.capabilities)) != len(meta.capabilities):
        problems.append("capabilities lists a name twice")
    if meta.kind is not None and not KIND.match(meta.kind):
        problems.append(f"kind {meta.kind!r} is not {_HINTS['kind']}")
    if problems:
        raise InvalidMetadata("invalid metadata: " + "; ".join(problems))
    return msgspec.structs.replace(meta, capabilities=tuple(sorted(meta.capabilities)))


def inspect(source: bytes, *, engine: str = "wasmer") -> Inspected:
    """Load ``source`` in a capability-free realm and check its metadata. Raises the realm's
    PluginError (PluginSyntaxError, PluginException, ...) or InvalidMetadata."""
    realm = FrozenRealm(source, engine=engine)
    raw = realm.metadata
    return Inspected(source=source, sha256=sha256_hex(source), metadata=validate(raw), raw_metadata=raw,
                     exports=tuple(realm.exports), runtime_sha256=realm.runtime_sha256)


def semver_key(version: str) -> tuple:
    """Sort key by semver precedence (build metadata ignored; unparsable versions sort last)."""
    m = SEMVER.match(version)
    if not m:
        return (1, version)
    pre = m.group(4)
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")) if pre else ()
    return (0, int(m.group(1)), int(m.group(2)), int(m.group(3)), 0 if pre else 1, ids)
