"""Reading safetensors files (the layout `sdn export` writes) without the
`safetensors` package: json, struct and torch only.

The layout (docs/interop.md): an unsigned 64-bit little-endian header length
N, N bytes of JSON mapping each tensor name to {"dtype", "shape",
"data_offsets": [begin, end]} (byte offsets into the data that follows the
header) plus an optional "__metadata__" object of strings, then the raw
little-endian data of every tensor.
"""
import json
import struct
import sys

import torch

# safetensors dtype names -> torch dtypes (the ones sdn's own reader takes).
DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


class SafetensorsError(ValueError):
    """A file that is not a well-formed safetensors file; the message names
    the file and what is wrong."""


def decode(raw, source="<bytes>"):
    """Parses the bytes of a safetensors file.

    Returns (tensors, metadata): a dict name -> tensor (CPU, contiguous, each
    with its own storage) in the order of their data, and the "__metadata__"
    dict of strings ({} when absent). Raises SafetensorsError, prefixed by
    `source`, for a truncated file, a header that is not a JSON object, a
    missing or mistyped field, an unknown dtype, a shape that does not match
    its byte count, or offsets that overlap, leave gaps or run past the end.
    """
    if sys.byteorder != "little":
        raise SafetensorsError(f"{source}: big-endian hosts are not supported")
    if len(raw) < 8:
        raise SafetensorsError(
            f"{source}: not a safetensors file ({len(raw)} bytes, expected "
            "at least the 8-byte header length)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise SafetensorsError(
            f"{source}: header length {n} runs past the end of the "
            f"{len(raw)}-byte file")
    try:
        header = json.loads(bytes(raw[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise SafetensorsError(f"{source}: the header is not JSON ({e})")
    if not isinstance(header, dict):
        raise SafetensorsError(f"{source}: the header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise SafetensorsError(
            f"{source}: '__metadata__' must be an object of strings")
    data = memoryview(raw)[8 + n:]
    entries = []
    for name, entry in header.items():
        where = f"{source}: tensor '{name}'"
        if (not isinstance(entry, dict) or
                not isinstance(entry.get("dtype"), str) or
                not isinstance(entry.get("shape"), list) or
                not isinstance(entry.get("data_offsets"), list) or
                len(entry["data_offsets"]) != 2):
            raise SafetensorsError(
                f'{where}: expected {{"dtype", "shape", "data_offsets": '
                "[begin, end]}")
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None:
            raise SafetensorsError(
                f"{where}: unknown dtype '{entry['dtype']}'")
        shape = entry["shape"]
        offsets = entry["data_offsets"]
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                   for d in shape + offsets):
            raise SafetensorsError(
                f"{where}: shape and data_offsets must be non-negative "
                "integers")
        # As sdn's reader: each dimension below 2^31 (an empty tensor may
        # not claim [0, 10**30]).
        if any(d >= 2**31 - 1 for d in shape):
            raise SafetensorsError(
                f"{where}: shape entries must be below 2147483647, got "
                f"{shape}")
        begin, end = offsets
        if not begin <= end <= len(data):
            raise SafetensorsError(
                f"{where}: data_offsets [{begin}, {end}] lie outside the "
                f"{len(data)} data bytes")
        numel = 1
        for d in shape:
            numel *= d
        expected = numel * torch.empty((), dtype=dtype).element_size()
        if end - begin != expected:
            raise SafetensorsError(
                f"{where}: {end - begin} bytes for shape {shape} of "
                f"{entry['dtype']}, expected {expected}")
        entries.append((begin, end, name, dtype, shape))
    # By (begin, end): an empty tensor at the offset where another starts
    # comes first, so that the order is the one that covers the data.
    entries.sort(key=lambda e: (e[0], e[1]))
    tensors = {}
    at = 0
    for begin, end, name, dtype, shape in entries:
        if begin != at:
            raise SafetensorsError(
                f"{source}: tensor '{name}' starts at data byte {begin}, "
                f"expected {at} (the tensors must cover the data without "
                "gaps or overlap)")
        at = end
        if end == begin:
            tensors[name] = torch.empty(shape, dtype=dtype)
        else:
            # A copy of its own: aligned for its dtype, writable, and
            # independent of the file's bytes.
            buffer = bytearray(data[begin:end])
            tensors[name] = torch.frombuffer(buffer,
                                             dtype=dtype).reshape(shape)
    if at != len(data):
        raise SafetensorsError(
            f"{source}: {len(data) - at} bytes after the last tensor's data")
    return tensors, metadata


def read(path):
    """decode() of the file at `path` (errors name the path)."""
    with open(path, "rb") as f:
        raw = f.read()
    return decode(raw, str(path))
