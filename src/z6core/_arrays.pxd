# cython: language_level=3
"""numpy arrays at the core's Python boundary."""


cdef inline void* cnp_data(arr):
    # Address of a C-contiguous numpy array's first element (the caller keeps
    # the array alive and has checked its dtype and contiguity).
    return <void*><size_t>arr.ctypes.data
