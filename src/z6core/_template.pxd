# cython: language_level=3
"""Request templates as flat C data (declarations only; `z6_tmpl.h` renders).

`TemplateTables` is the one checked loader of a compiled template set
(`z6.live.wire_templates`): segments, per-request ranges, literal bytes, choice
lists and the data files' read-only arenas; it fills a `z6_tmpl_t` whose
pointers stay valid while the `TemplateTables` lives. The live driver holds one
and renders with `z6_tmpl_render`, without the GIL.
"""

from libc.stdint cimport int64_t, uint32_t, uint64_t

cdef extern from "z6_tmpl.h" nogil:
    enum:
        Z6_SEG_LITERAL
        Z6_SEG_VU
        Z6_SEG_ITERATION
        Z6_SEG_DATA
        Z6_SEG_RANDOM_INT
        Z6_SEG_CHOICE
        Z6_SEG_UUID
        Z6_SEG_HEX
        Z6_SEG_VAR
        Z6_SEG_KINDS
        Z6_CTX_RAW
        Z6_CTX_PATH
        Z6_CTX_HEADER
        Z6_PICK_PER_VU
        Z6_PICK_SEQUENTIAL
        Z6_PICK_UNIQUE
        Z6_PICK_RANDOM
    const uint32_t Z6_TMPL_CL_MAX
    const uint64_t Z6_FNV_OFFSET
    const uint32_t Z6_VAR_UNSET
    const int64_t Z6_RENDER_BAD_HEADER
    const int64_t Z6_RENDER_UNSET
    ctypedef struct z6_seg_t:
        uint32_t kind
        uint32_t ctx
        uint64_t a
        uint64_t b
    ctypedef struct z6_treq_t:
        uint32_t head_first
        uint32_t head_count
        uint32_t body_first
        uint32_t body_count
        uint32_t content_length
        uint32_t bound
        uint32_t has_var
    ctypedef struct z6_data_t:
        uint64_t n_rows
        uint32_t n_cols
        uint32_t pick
        const uint32_t* cell
        const char* bytes
    ctypedef struct z6_tmpl_t:
        const z6_seg_t* segs
        const z6_treq_t* reqs
        const char* lit
        const uint32_t* choice
        const z6_data_t* data
        uint32_t n_data
        uint32_t n_reqs
        uint64_t total_vus
        uint64_t pass_len
        uint32_t max_bound
        uint32_t n_vars
        const uint32_t* var_max
        const uint32_t* var_default
    ctypedef struct z6_tvar_t:
        char* p
        uint32_t len
        uint32_t cap
    ctypedef struct z6_tvu_t:
        uint64_t rng
        uint64_t digest
        uint64_t rows_iter
        char* buf
        uint32_t len
        uint32_t cap
        z6_tvar_t* vars
    uint64_t z6_tmpl_stream_seed(uint64_t seed, uint64_t vu_id, uint64_t stream)
    void z6_tmpl_vu_init(z6_tvu_t* st, uint64_t seed, uint32_t vu_id)
    int z6_tmpl_reserve(z6_tvu_t* st, uint32_t need)
    int64_t z6_tmpl_render(const z6_tmpl_t* t, uint32_t req, uint32_t vu_id, uint64_t seq, z6_tvu_t* st,
                           uint64_t* rows)
    int64_t z6_tmpl_render_placeholder(const z6_tmpl_t* t, uint32_t req, uint32_t vu_id, uint64_t seq,
                                       z6_tvu_t* st, uint64_t* rows)
    void z6_tmpl_vars_clear(z6_tvar_t* vars, uint32_t n)
    char* z6_tmpl_var_room(z6_tvar_t* v, size_t n)


cdef class TemplateTables:
    """Checked template tables: ``TemplateTables(wire, n_requests)``."""
    cdef z6_tmpl_t t
    cdef z6_data_t* data
    cdef list _keep


# The per-VU render state of a run: one z6_tvu_t, n_data row slots and n_vars
# variables per VU.
ctypedef struct tmpl_run_t:
    z6_tmpl_t t
    z6_tvu_t* vus
    uint64_t* rows
    z6_tvar_t* vars
    uint32_t n_vus
    bint on


cdef int tmpl_run_init(tmpl_run_t* run, object tables, uint64_t seed, uint32_t first_vu_id, uint32_t vu_id_step,
                       uint32_t n_vus) except -1
cdef void tmpl_run_free(tmpl_run_t* run) noexcept nogil
