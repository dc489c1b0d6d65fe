/* internal.h - definitions shared by the files of allocator/. */
#ifndef MS_ALLOCATOR_INTERNAL_H
#define MS_ALLOCATOR_INTERNAL_H

/* Entry points a program may call; everything else stays hidden. */
#define MS_EXPORT __attribute__((visibility("default")))

/*
 * Thread-local state uses the initial-exec model: no call into the dynamic
 * linker (which may allocate) on first touch, one instruction to reach it.
 */
#define MS_TLS_MODEL __attribute__((tls_model("initial-exec")))

#endif
