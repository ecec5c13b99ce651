"""z6core: the compiled core of z6 (Cython over fixed C structs).

Public surface: the simulated `Engine` (and `OpenEngine`, for arrival-rate plans), the live HTTP driver
`LiveEngine` (and `expected_requests`, a live VU's request sequence), request templates
(`TemplateTables`, `rendered_requests`, `expected_digests`, `value_stream_seed`,
`unique_iterations`), the event and VU dtypes read
off the C structs, the outcome rule (`OUTCOME_KINDS`, `FAILURE_STATUS_MIN`,
`outcome_mask`, `failed_mask`), the HDR histograms, the summary's accumulator
(`SummaryAccumulator`), and the PRNG helpers used by
tests and tools. See `z6` for the user-facing API.
"""

from z6core._engine import (
    DEBUG_BUILD,
    EVENT_DTYPE,
    CLOCK_LIMIT_NS,
    ITER_UNLIMITED,
    PROFILE_DEFAULT,
    PROFILE_ORIGINAL,
    VU_DTYPE,
    Engine,
)
from z6core._open import ARRIVALS_CONSTANT, ARRIVALS_POISSON, OpenEngine
from z6core._hdr import DEFAULT_HIGHEST_NS, HdrHistogram, RequestHistograms
from z6core._summary import KIND_SLOTS, SERIES_DTYPE, SummaryAccumulator
from z6core._outcomes import FAILURE_STATUS_MIN, OUTCOME_KINDS, failed_mask, outcome_mask
from z6core._live import OPENSSL_VERSION, POLLER, PROGRESS_INTERVAL_NS, LiveEngine, expected_requests
from z6core._plan import posix_regex_groups, unique_iterations
from z6core._template import (
    CONTEXTS,
    DIGEST_START,
    MAX_HEX_DIGITS,
    PICKS,
    RENDER_OK,
    RENDER_PLAIN,
    RENDER_REFUSED,
    RENDER_VARIABLES,
    SEGMENT_DTYPE,
    SEGMENT_KINDS,
    TEMPLATE_REQUEST_DTYPE,
    VAR_UNSET,
    TemplateTables,
    expected_digests,
    rendered_requests,
    value_stream_seed,
)
from z6core._random import (
    Xorshift64Star,
    sample_duration_ns,
    sample_original_f32,
    sample_weighted,
    splitmix64,
    vu_stream_seed,
)

# Distribution kinds, as numbered in _draw.pxd (dist_kind_t).
DIST_CONSTANT = 0
DIST_UNIFORM = 1
DIST_EXPONENTIAL = 2
DIST_LOGNORMAL = 3

# Names from before "seed" was kept for the PRNG seed alone (the original
# engine's profile and pick were named after the seed trace they reproduce).
PROFILE_SEED = PROFILE_ORIGINAL
sample_seed_f32 = sample_original_f32

__all__ = [
    "Engine",
    "OpenEngine",
    "ARRIVALS_CONSTANT",
    "ARRIVALS_POISSON",
    "LiveEngine",
    "HdrHistogram",
    "RequestHistograms",
    "SummaryAccumulator",
    "KIND_SLOTS",
    "SERIES_DTYPE",
    "DEFAULT_HIGHEST_NS",
    "expected_requests",
    "TemplateTables",
    "rendered_requests",
    "expected_digests",
    "value_stream_seed",
    "unique_iterations",
    "posix_regex_groups",
    "SEGMENT_DTYPE",
    "TEMPLATE_REQUEST_DTYPE",
    "SEGMENT_KINDS",
    "CONTEXTS",
    "PICKS",
    "RENDER_PLAIN",
    "RENDER_OK",
    "RENDER_REFUSED",
    "RENDER_VARIABLES",
    "VAR_UNSET",
    "DIGEST_START",
    "MAX_HEX_DIGITS",
    "POLLER",
    "OPENSSL_VERSION",
    "PROGRESS_INTERVAL_NS",
    "DEBUG_BUILD",
    "EVENT_DTYPE",
    "VU_DTYPE",
    "PROFILE_DEFAULT",
    "PROFILE_ORIGINAL",
    "PROFILE_SEED",
    "ITER_UNLIMITED",
    "CLOCK_LIMIT_NS",
    "OUTCOME_KINDS",
    "FAILURE_STATUS_MIN",
    "outcome_mask",
    "failed_mask",
    "DIST_CONSTANT",
    "DIST_UNIFORM",
    "DIST_EXPONENTIAL",
    "DIST_LOGNORMAL",
    "Xorshift64Star",
    "splitmix64",
    "vu_stream_seed",
    "sample_weighted",
    "sample_original_f32",
    "sample_seed_f32",
    "sample_duration_ns",
]
