/*
 * cfi.h - the unwind rule of a return address, read from its module's
 * DWARF call frame information (cfi.c). unwind.c keeps the rules in its
 * cache and walks stacks with them.
 */
#ifndef MS_CFI_H
#define MS_CFI_H

#include <stdint.h>

/* A rule: how to find the caller's registers from a frame's. */
enum {
    MS_R_EMPTY = 0, /* cache slot unused */
    MS_R_SP,        /* CFA = rsp + off */
    MS_R_BP,        /* CFA = rbp + off */
    MS_R_END,       /* the outermost frame: return address undefined */
    MS_R_SIGNAL,    /* a signal frame: registers in the ucontext at rsp */
    MS_R_CUT        /* no usable rule: the stack ends here, cut */
};
#define MS_BP_SAME  0           /* rbp is unchanged in the caller */
#define MS_BP_LOST  (-512)      /* rbp's rule is not one we follow */

typedef struct {
    int kind;
    int64_t cfa_off;
    int64_t bp_off;     /* MS_BP_SAME, MS_BP_LOST, or rbp at CFA + bp_off */
} ms_rule_t;

/* The rule for pc, from the CFI of its module (MS_R_CUT when it has none
 * this code understands). Takes no lock and allocates nothing: safe in a
 * signal handler and in a forked child. */
void ms_cfi_rule(uintptr_t pc, ms_rule_t *out);

#endif
