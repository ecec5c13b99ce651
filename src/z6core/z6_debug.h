/* Invariant checks for the compiled core, shared by every module.

   Z6_CHECK(cond, what): compiled in by the debug build (Z6_DEBUG=1, see
   setup.py), nothing at all in the release build. A broken invariant prints
   its name and place and aborts: it is a bug in the core, never a user error.
   Z6_DEBUG_BUILD is 1 in the debug build (z6core.DEBUG_BUILD says which). */
#ifndef Z6_DEBUG_H
#define Z6_DEBUG_H

#include <stdio.h>
#include <stdlib.h>

#ifdef Z6_DEBUG
#define Z6_CHECK(cond, what) do { if (!(cond)) { \
    fprintf(stderr, "z6core: invariant failed: %s (%s:%d)\n", (what), __FILE__, __LINE__); \
    abort(); } } while (0)
#define Z6_DEBUG_BUILD 1
#else
#define Z6_CHECK(cond, what) ((void)0)
#define Z6_DEBUG_BUILD 0
#endif

#endif
