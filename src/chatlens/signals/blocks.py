"""Feature matrices kept as column blocks when only their product with a vector is needed.

Why: the learned tiers score a batch as ``x @ coef``; stacking their sparse blocks (dense
features, hashed n-grams) into one matrix first copies every non-zero once more per batch.
Training still stacks (scikit-learn needs one matrix).
"""

from __future__ import annotations

from typing import Any

import numpy as np


class BlockMatrix:
    """Column blocks of a feature matrix (same rows), multiplied by a vector block by block.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> x = BlockMatrix([sparse.csr_matrix(np.eye(2)), sparse.csr_matrix(np.ones((2, 1)))])
    >>> x.shape, (x @ np.array([1.0, 2.0, 10.0])).tolist()
    ((2, 3), [11.0, 12.0])
    """

    def __init__(self, blocks: list[Any]) -> None:
        self.blocks = blocks
        self.shape = (blocks[0].shape[0], sum(b.shape[1] for b in blocks))

    def __matmul__(self, v: np.ndarray) -> np.ndarray:
        out, start = np.zeros(self.shape[0]), 0
        for b in self.blocks:
            out += np.asarray(b @ v[start:start + b.shape[1]]).ravel()
            start += b.shape[1]
        return out
