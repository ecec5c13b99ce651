"""The value stream of templates, modelled independently of the core (an oracle
for tests): xorshift64* from splitmix64(splitmix64(seed, vu), 1), and Lemire's
bounded draw written out in Python integers."""

from __future__ import annotations

import z6core


class ValueStream:
    """The value stream modelled independently: xorshift64* from
    splitmix64(splitmix64(seed, vu), 1), Lemire's bounded draw."""

    def __init__(self, seed: int, vu: int) -> None:
        s = z6core.splitmix64(z6core.splitmix64(seed, vu), 1) or 0x853C49E6748FEA9B
        self.rng = z6core.Xorshift64Star.from_state(s)

    def below(self, n: int) -> int:
        m = self.rng.next_u64() * n
        lo, hi = m & (2**64 - 1), m >> 64
        if lo < n:
            threshold = (2**64 - n) % n
            while lo < threshold:
                m = self.rng.next_u64() * n
                lo, hi = m & (2**64 - 1), m >> 64
        return hi
