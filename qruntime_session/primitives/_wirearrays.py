"""Arrays off the wire, bounded: ``ndarray`` envelopes (base64 → zlib → ``.npy``) and plain-JSON
hex samples, decoded straight into numpy arrays with every size checked before it is allocated.

- An envelope's base64 is decoded a few MiB at a time and fed to ``zlib.decompressobj`` with
  ``max_length``, so neither the compressed bytes nor the inflation ever exceed what the
  ``.npy`` header declares — and that declaration (shape x itemsize) is checked against the
  [`DecodeLimits`][qruntime_session.primitives.DecodeLimits] budget before the one output buffer is
  allocated. numpy's own ``numpy.lib.format`` reads the header (object arrays are refused: no
  pickles).
- Hex samples (``"0x1f"``) become packed big-endian bytes with a lookup table over one
  ASCII buffer, grouped by digit count; no Python integer per shot.

Anything malformed raises `WireArrayError` (the decoder turns it into
``ResultDecodeError``).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._bitops import min_num_bytes

__all__ = [
    "DecodeLimits",
    "WireArrayError",
    "get_decode_limits",
    "hex_samples",
    "read_ndarray",
    "set_decode_limits",
]

# Work buffers are about 1/16 of what they stream (64 KiB to 1 MiB), so decoding peaks near
# the array's own size.
_MIN_CHUNK = 1 << 16
_MAX_CHUNK = 1 << 20
_HEADER_PROBE = 1 << 16  # the .npy header is read from at most this many inflated bytes
_MAX_DIM = 1 << 40


class WireArrayError(ValueError):
    """Internal: an array on the wire is malformed or over a limit."""


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Bounds on what one result body may make the decoder allocate.

    Raise them for results bigger than these
    ([`set_decode_limits`][qruntime_session.primitives.set_decode_limits]): a body over a bound
    raises [`ResultDecodeError`][qruntime_session.errors.ResultDecodeError] before anything of
    that size is allocated.

    Args:
        max_array_bytes: Total bytes of all arrays in one body (declared shape x itemsize, and
            plain-JSON samples x bytes per shot); 128 MiB holds 8 million 127-bit shots.
        max_num_bits: The widest register, in bits.
        max_pubs: The most pub results in one body.

    Raises:
        ValueError: A bound is not a positive integer.
    """

    max_array_bytes: int = 128 << 20
    max_num_bits: int = 1 << 16
    max_pubs: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_array_bytes", "max_num_bits", "max_pubs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")


_limits = DecodeLimits()


def get_decode_limits() -> DecodeLimits:
    """The limits ``Job.result()`` and ``decode_primitive_result`` use by default.

    Returns:
        The process-wide default limits.
    """
    return _limits


def set_decode_limits(limits: DecodeLimits) -> DecodeLimits:
    """Set the process-wide default [`DecodeLimits`][qruntime_session.primitives.DecodeLimits].

    Args:
        limits: The new default limits.

    Returns:
        The previous default limits (to restore them later).

    Raises:
        TypeError: ``limits`` is not a [`DecodeLimits`][qruntime_session.primitives.DecodeLimits].
    """
    global _limits
    if not isinstance(limits, DecodeLimits):
        raise TypeError(f"expected DecodeLimits, not {type(limits).__name__}")
    previous, _limits = _limits, limits
    return previous


class Budget:
    """Bytes one body may still allocate for arrays."""

    __slots__ = ("left", "limits")

    def __init__(self, limits: DecodeLimits) -> None:
        self.limits = limits
        self.left = limits.max_array_bytes

    def take(self, nbytes: int, what: str) -> None:
        if nbytes > self.left:
            raise WireArrayError(
                f"{what} needs {nbytes} bytes, over the {self.limits.max_array_bytes}-byte "
                "limit for one result (raise DecodeLimits.max_array_bytes to read it)"
            )
        self.left -= nbytes


# -- ndarray envelopes --------------------------------------------------------------------


def _chunk(total: int) -> int:
    return min(max(total // 16, _MIN_CHUNK), _MAX_CHUNK)


def _base64_chunks(text: str) -> Iterator[bytes]:
    if len(text) % 4:
        raise WireArrayError("ndarray is not base64 (its length is not a multiple of 4)")
    step = _chunk(len(text)) // 4 * 4
    for start in range(0, len(text), step):
        try:
            yield base64.b64decode(text[start : start + step], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WireArrayError(f"ndarray is not base64: {exc}") from exc


class _Inflater:
    """zlib inflation of a base64 stream, never producing more than asked for."""

    def __init__(self, text: str) -> None:
        self._chunks = _base64_chunks(text)
        self._inflater = zlib.decompressobj()
        self._pending = b""
        self._done = False

    def read(self, most: int) -> bytes:
        """Up to ``most`` inflated bytes (fewer only at the end of the stream)."""
        out: list[bytes] = []
        want = most
        while want > 0 and not self._inflater.eof:
            if not self._pending:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending = chunk
            try:
                part = self._inflater.decompress(self._pending, want)
            except zlib.error as exc:
                raise WireArrayError(f"ndarray is not zlib-compressed: {exc}") from exc
            self._pending = self._inflater.unconsumed_tail
            out.append(part)
            want -= len(part)
        return b"".join(out) if len(out) != 1 else out[0]

    def finish(self) -> None:
        """Check the stream ended where the data did (no extra bytes, not truncated)."""
        if self.read(1):
            raise WireArrayError("ndarray inflates to more bytes than its header declares")
        if not self._inflater.eof:
            raise WireArrayError("ndarray's zlib stream is truncated")
        if self._inflater.unused_data or self._pending or next(self._chunks, None):
            raise WireArrayError("ndarray has data after the end of its zlib stream")


def _npy_header(head: bytes) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
    fp = io.BytesIO(head)
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    try:
        version = np.lib.format.read_magic(fp)
    except ValueError as exc:
        raise WireArrayError(f"ndarray is not .npy data: {exc}") from exc
    reader = readers.get(version)
    if reader is None:
        raise WireArrayError(f"ndarray uses .npy version {version}, which is not read")
    try:
        header: tuple[Any, bool, np.dtype[Any]] = reader(fp)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
        raise WireArrayError(f"ndarray is not .npy data: {exc}") from exc
    shape, fortran, dtype = header
    if dtype.hasobject:
        raise WireArrayError("ndarray holds Python objects, which are not read (no pickles)")
    if dtype.itemsize == 0:
        raise WireArrayError(f"ndarray has a zero-size dtype {dtype}")
    if not isinstance(shape, tuple) or not all(
        isinstance(n, int) and 0 <= n < _MAX_DIM for n in shape
    ):
        raise WireArrayError(f"ndarray shape {shape!r} is not a tuple of sizes")
    return tuple(shape), bool(fortran), dtype, fp.tell()


def read_ndarray(text: str, budget: Budget) -> np.ndarray:
    """The array of an ``ndarray`` envelope's ``__value__`` (base64 of zlib-compressed
    ``.npy``), allocated once, after its declared size is checked against ``budget``."""
    inflater = _Inflater(text)
    head = inflater.read(_HEADER_PROBE)
    shape, fortran, dtype, offset = _npy_header(head)
    nbytes = math.prod(shape) * dtype.itemsize
    budget.take(nbytes, f"an ndarray of shape {shape} and dtype {dtype}")
    buffer = np.empty(nbytes, dtype=np.uint8)
    filled = min(len(head) - offset, nbytes)
    if len(head) - offset > nbytes:
        raise WireArrayError("ndarray inflates to more bytes than its header declares")
    buffer[:filled] = np.frombuffer(head, dtype=np.uint8, count=filled, offset=offset)
    step = _chunk(nbytes)
    while filled < nbytes:
        part = inflater.read(min(step, nbytes - filled))
        if not part:
            raise WireArrayError(
                f"ndarray holds {filled} bytes of data, fewer than its shape {shape} needs"
            )
        buffer[filled : filled + len(part)] = np.frombuffer(part, dtype=np.uint8)
        filled += len(part)
    inflater.finish()
    flat = buffer.view(dtype)
    if fortran:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


# -- plain-JSON hex samples ---------------------------------------------------------------

_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate("0123456789abcdef"):
    _HEX[ord(_c)] = _i
    _HEX[ord(_c.upper())] = _i


def hex_samples(
    leaves: list[list[Any]], count: int, num_bits: int | None, budget: Budget
) -> tuple[np.ndarray, int]:
    """Packed rows ``(count, ceil(num_bits / 8))`` from lists of hex strings like ``'0x1f'``
    (``count`` strings in all), and the width (``num_bits``, or the widest sample's when
    ``None``). Rows are decoded a slice at a time into the one output array."""
    if num_bits is None:
        longest = max((max(map(len, leaf), default=3) for leaf in leaves), default=3)
        width_bits = 4 * max(longest - 2, 0)
    else:
        width_bits = num_bits
    nbytes = min_num_bytes(width_bits)
    budget.take(count * nbytes, f"{count} samples of {width_bits} bits")
    out = np.empty((count, nbytes), dtype=np.uint8)
    step = min(max(count // 48, 256), 1 << 15)  # work buffers stay well under the output
    row = 0
    for leaf in leaves:
        for start in range(0, len(leaf), step):
            block = leaf[start : start + step]
            out[row : row + len(block)] = _hex_block(block, nbytes, width_bits)
            row += len(block)
    if row != count:
        raise WireArrayError(f"{row} samples where the shape holds {count}")
    if num_bits is None:
        seen = np.bitwise_or.reduce(out, axis=0) if count else np.zeros(nbytes, np.uint8)
        widest = int.from_bytes(seen.tobytes(), "big").bit_length()
        keep = min_num_bytes(widest)
        return np.ascontiguousarray(out[:, nbytes - keep :]), widest
    return out, num_bits


def _hex_block(flat: list[Any], nbytes: int, num_bits: int) -> np.ndarray:
    count = len(flat)
    if count and set(map(type, flat)) != {str}:
        bad = next(s for s in flat if type(s) is not str)
        raise WireArrayError(f"sample {bad!r:.40} is not a hex string like '0x3'")
    longest = max(map(len, flat), default=3)
    if longest < 3:
        raise WireArrayError("a sample is not a hex string like '0x3'")
    digits = longest - 2
    try:
        raw = np.array(flat, dtype=f"S{longest}")
    except (UnicodeEncodeError, ValueError) as exc:
        raise WireArrayError("a sample is not an ASCII hex string") from exc
    chars = raw.view(np.uint8).reshape(count, longest)
    lengths = np.char.str_len(raw).reshape(count)
    prefix_ok = (chars[:, 0] == ord("0")) & ((chars[:, 1] | 0x20) == ord("x")) & (lengths > 2)
    if not prefix_ok.all():
        bad = flat[int(np.flatnonzero(~prefix_ok)[0])]
        raise WireArrayError(f"sample {bad[:40]!r} is not a hex string like '0x3'")
    span = max(2 * nbytes, digits)
    nibbles = np.zeros((count, span), dtype=np.uint8)
    source = _HEX[chars[:, 2:]]
    ndigits = lengths - 2
    sizes = np.unique(ndigits).tolist()
    for size in sizes:
        rows = np.flatnonzero(ndigits == size) if len(sizes) > 1 else slice(None)
        block = source[rows, :size]
        if (block == 255).any():
            raise WireArrayError("a sample holds a character that is not a hex digit")
        nibbles[rows, span - size :] = block
    if span > 2 * nbytes and nibbles[:, : span - 2 * nbytes].any():
        raise WireArrayError(f"a sample is wider than num_bits={num_bits}")
    tail = nibbles[:, span - 2 * nbytes :]
    packed = (tail[:, 0::2] << 4) | tail[:, 1::2]
    spare = -num_bits % 8
    if spare and nbytes and (packed[:, 0] >> np.uint8(8 - spare)).any():
        raise WireArrayError(f"a sample is wider than num_bits={num_bits}")
    return packed
