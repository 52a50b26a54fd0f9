"""The encoder weights file's stored tensors, read without torch.

Why a module of its own: the weights file is checked when it is loaded (``refusal_encoder``,
which must not need torch) and decoded into the model when an encoder runs (``_encoder_torch``);
both read the same storage format through :func:`stored_arrays`, which
:func:`~chatlens.signals._encoder_torch.encode_tensors` writes.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np

#: The stored value type of each tensor encoding (an int8 delta also stores one float32 scale per
#: row, and its bytes are zlib-compressed): read by :func:`stored_arrays` and, through it, by the
#: load check and the decoder alike.
ENCODING_DTYPES = {"float16": np.float16, "int8-delta": np.int8}


def stored_arrays(spec: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """A stored tensor's values as a flat array of its encoding's dtype, and its per-row scales
    (float32; int8 deltas only, else None): base64 decoded, an int8 delta decompressed. Without
    torch, so the weights file can be checked where the encoder cannot run."""
    dtype = ENCODING_DTYPES[spec.get("encoding", "float16")]
    raw = base64.b64decode(spec["data"], validate=True)
    if dtype is np.int8:
        scale = np.frombuffer(base64.b64decode(spec["scale"], validate=True), dtype=np.float32)
        return np.frombuffer(zlib.decompress(raw), dtype=np.int8), scale
    return np.frombuffer(raw, dtype=dtype), None
