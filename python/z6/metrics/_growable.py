"""A numpy column that grows by appending: one contiguous array, never a list of pieces.

The exact summary keeps a few values per response for the whole run. Kept as one
array per chunk, the pieces are small heap blocks: concatenating them at the end
needs a second copy, and the freed pieces stay resident (the allocator keeps them),
so the run's peak is twice the values. One contiguous array that doubles its
capacity when full costs a copy of the part already filled at each doubling; its
untouched capacity is not resident (large arrays are fresh pages), and `view()`
hands out the values with no copy at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["GrowableArray"]

_FIRST_CAPACITY = 1 << 16


class GrowableArray:
    """Values appended in order; ``view()`` is the filled part.

    ``ceiling`` caps the capacity a doubling asks for (a caller that never holds
    more than ``ceiling`` values then never allocates more); an append beyond it
    still fits, growing to exactly what is needed.
    """

    def __init__(self, dtype: Any, ceiling: int) -> None:
        self.dtype = np.dtype(dtype)
        self.ceiling = max(int(ceiling), 1)
        self._data = np.empty(0, self.dtype)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, values: np.ndarray) -> None:
        needed = self._size + int(values.size)
        if needed > self._data.size:
            capacity = max(needed, min(max(2 * self._data.size, _FIRST_CAPACITY), self.ceiling))
            grown = np.empty(capacity, self.dtype)
            grown[:self._size] = self._data[:self._size]
            self._data = grown
        self._data[self._size:needed] = values
        self._size = needed

    def view(self) -> np.ndarray:
        """The values appended so far (a view: valid until the next append)."""
        return self._data[:self._size]

    def clear(self) -> None:
        """Forget every value and free the memory."""
        self._data = np.empty(0, self.dtype)
        self._size = 0
