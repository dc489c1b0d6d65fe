/*
 * cfi.c - the rule of a return address from its module's .eh_frame, the
 * DWARF call frame information every module carries for C++ exceptions.
 *
 * The module is found with glibc's _dl_find_object (no lock, nothing
 * allocated), its FDE by a binary search of .eh_frame_hdr's table, and
 * the rule by interpreting the CIE's and then the FDE's CFA program up to
 * the pc. Every read is bounded to the entry it reads (a cursor with an
 * end); anything malformed or outside what the walk follows (a CFA by
 * expression, a return address not at CFA-8) gives MS_R_CUT: a stack
 * ends there rather than going on from a guess. x86-64 only.
 */
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "internal.h"
#include "cfi.h"

/* A cursor over bytes of a mapped module, bounded. */
typedef struct {
    const uint8_t *p, *end;
    int bad;
} cur_t;

static inline uint8_t
rd_u8(cur_t *c)
{
    if (c->p >= c->end) {
        c->bad = 1;
        return 0;
    }
    return *c->p++;
}

static uint64_t
rd_uleb(cur_t *c)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b = rd_u8(c);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->bad = 1;
    return 0;
}

static int64_t
rd_sleb(cur_t *c)
{
    int64_t v = 0;
    int shift = 0;
    uint8_t b;
    do {
        b = rd_u8(c);
        if (shift < 64)
            v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
    } while ((b & 0x80) && !c->bad && shift < 70);
    if (shift < 64 && (b & 0x40))
        v |= -((int64_t)1 << shift);
    return v;
}

static uint64_t
rd_fixed(cur_t *c, int n)
{
    if (c->end - c->p < n) {
        c->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, c->p, (size_t)n);
    c->p += n;
    return v;
}

/* A pointer in DW_EH_PE encoding enc; datarel is relative to base. */
static uint64_t
rd_enc(cur_t *c, uint8_t enc, uintptr_t base)
{
    if (enc == 0xff)                /* DW_EH_PE_omit */
        return 0;
    uintptr_t at = (uintptr_t)c->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case 0x00: v = rd_fixed(c, 8); break;
    case 0x01: v = rd_uleb(c); break;
    case 0x02: v = rd_fixed(c, 2); break;
    case 0x03: v = rd_fixed(c, 4); break;
    case 0x04: v = rd_fixed(c, 8); break;
    case 0x09: v = (uint64_t)rd_sleb(c); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_fixed(c, 2); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_fixed(c, 4); break;
    case 0x0c: v = rd_fixed(c, 8); break;
    default: c->bad = 1; return 0;
    }
    switch (enc & 0x70) {
    case 0x00: break;
    case 0x10: v += at; break;      /* pcrel */
    case 0x30: v += base; break;    /* datarel */
    default: c->bad = 1; return 0;
    }
    if (enc & 0x80)                 /* indirect: through a mapped word */
        c->bad = 1;                 /* not in .eh_frame of our interest */
    return v;
}

/* The FDE covering pc, by binary search of .eh_frame_hdr's table. */
static const uint8_t *
find_fde(const uint8_t *hdr, uintptr_t pc)
{
    if (hdr == NULL || hdr[0] != 1)
        return NULL;
    uint8_t ptr_enc = hdr[1], count_enc = hdr[2], table_enc = hdr[3];
    cur_t c = { hdr + 4, hdr + 4 + 16, 0 };
    rd_enc(&c, ptr_enc, (uintptr_t)hdr);
    uint64_t count = rd_enc(&c, count_enc, (uintptr_t)hdr);
    if (c.bad || table_enc != 0x3b || count == 0 || count > (1u << 26))
        return NULL;
    const int32_t *t = (const int32_t *)c.p;    /* (start, fde) pairs */
    uintptr_t base = (uintptr_t)hdr;
    uint64_t lo = 0, hi = count;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (base + (intptr_t)t[2 * mid] <= pc)
            lo = mid;
        else
            hi = mid;
    }
    if (base + (intptr_t)t[2 * lo] > pc)
        return NULL;
    return (const uint8_t *)(base + (intptr_t)t[2 * lo + 1]);
}

/* Register rules while the CFA program runs. */
typedef struct {
    int cfa_reg;            /* 6 rbp, 7 rsp, -1 other */
    int64_t cfa_off;
    int cfa_expr;
    int bp_kind;            /* 0 same, 1 offset, 2 other */
    int64_t bp_off;
    int ra_kind;            /* 0 same?, 1 offset, 2 other, 3 undefined */
    int64_t ra_off;
} regs_t;

typedef struct {
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_reg;
    uint8_t fde_enc;
    int signal;
    int has_z;
    const uint8_t *insns, *insns_end;
} cie_t;

static int
parse_cie(const uint8_t *p, cie_t *cie)
{
    uint32_t len;
    memcpy(&len, p, 4);
    if (len == 0 || len == 0xffffffffu)
        return -1;
    cur_t c = { p + 4, p + 4 + len, 0 };
    if (rd_fixed(&c, 4) != 0)               /* CIE id */
        return -1;
    uint8_t version = rd_u8(&c);
    const char *aug = (const char *)c.p;
    size_t alen = strnlen(aug, (size_t)(c.end - c.p));
    if (c.p + alen >= c.end)
        return -1;
    c.p += alen + 1;
    if (strstr(aug, "eh") != NULL)
        return -1;
    cie->code_align = rd_uleb(&c);
    cie->data_align = rd_sleb(&c);
    cie->ra_reg = version == 1 ? rd_u8(&c) : rd_uleb(&c);
    cie->fde_enc = 0;
    cie->signal = 0;
    cie->has_z = aug[0] == 'z';
    if (cie->has_z) {
        uint64_t n = rd_uleb(&c);
        if (n > (uint64_t)(c.end - c.p))
            return -1;
        const uint8_t *after = c.p + n;
        /* the letters we know, in order; the rest is skipped whole */
        for (const char *a = aug + 1; *a && !c.bad; a++) {
            if (*a == 'R')
                cie->fde_enc = rd_u8(&c);
            else if (*a == 'L')
                rd_u8(&c);
            else if (*a == 'P')
                rd_enc(&c, rd_u8(&c) & 0x7f, 0);
            else if (*a == 'S')
                cie->signal = 1;
            else
                break;
        }
        c.p = after;
    } else if (aug[0] != '\0') {
        return -1;
    }
    if (c.bad || cie->ra_reg != 16)
        return -1;
    cie->insns = c.p;
    cie->insns_end = c.end;
    return 0;
}

#define STATE_STACK 8

/* Runs CFA instructions until the row covering pc; 0 or -1. */
static int
run_cfa(cur_t *c, const cie_t *cie, regs_t *rs, const regs_t *init,
    uintptr_t loc, uintptr_t pc)
{
    regs_t stack[STATE_STACK];
    int sp = 0;
    while (c->p < c->end && !c->bad) {
        uint8_t op = rd_u8(c);
        uint64_t reg, delta = 0;
        int64_t off;
        switch (op >> 6) {
        case 1:                         /* advance_loc */
            delta = (op & 0x3f) * cie->code_align;
            goto advance;
        case 2:                         /* offset */
            reg = op & 0x3f;
            off = (int64_t)rd_uleb(c) * cie->data_align;
            goto set_offset;
        case 3:                         /* restore */
            reg = op & 0x3f;
            goto restore;
        }
        switch (op) {
        case 0x00: break;               /* nop */
        case 0x01:                      /* set_loc */
            {
                uintptr_t n = rd_enc(c, cie->fde_enc, 0);
                if (n > pc)
                    return 0;
                loc = n;
            }
            break;
        case 0x02: delta = rd_fixed(c, 1) * cie->code_align; goto advance;
        case 0x03: delta = rd_fixed(c, 2) * cie->code_align; goto advance;
        case 0x04: delta = rd_fixed(c, 4) * cie->code_align; goto advance;
        case 0x05:                      /* offset_extended */
            reg = rd_uleb(c);
            off = (int64_t)rd_uleb(c) * cie->data_align;
            goto set_offset;
        case 0x06: reg = rd_uleb(c); goto restore;
        case 0x07:                      /* undefined */
            reg = rd_uleb(c);
            if (reg == 16)
                rs->ra_kind = 3;
            else if (reg == 6)
                rs->bp_kind = 2;
            break;
        case 0x08:                      /* same_value */
            reg = rd_uleb(c);
            if (reg == 6)
                rs->bp_kind = 0;
            else if (reg == 16)
                rs->ra_kind = 2;
            break;
        case 0x09:                      /* register */
            reg = rd_uleb(c);
            rd_uleb(c);
            goto lost;
        case 0x0a:                      /* remember_state */
            if (sp == STATE_STACK)
                return -1;
            stack[sp++] = *rs;
            break;
        case 0x0b:                      /* restore_state */
            if (sp == 0)
                return -1;
            *rs = stack[--sp];      /* the whole row, CFA too (as gcc) */
            break;
        case 0x0c:                      /* def_cfa */
            rs->cfa_reg = (int)rd_uleb(c);
            rs->cfa_off = (int64_t)rd_uleb(c);
            rs->cfa_expr = 0;
            break;
        case 0x0d: rs->cfa_reg = (int)rd_uleb(c); rs->cfa_expr = 0; break;
        case 0x0e: rs->cfa_off = (int64_t)rd_uleb(c); break;
        case 0x0f:                      /* def_cfa_expression */
            {
                uint64_t n = rd_uleb(c);
                if (n > (uint64_t)(c->end - c->p))
                    return -1;
                c->p += n;
                rs->cfa_expr = 1;
            }
            break;
        case 0x10:                      /* expression */
        case 0x16:                      /* val_expression */
            {
                reg = rd_uleb(c);
                uint64_t n = rd_uleb(c);
                if (n > (uint64_t)(c->end - c->p))
                    return -1;
                c->p += n;
            }
            goto lost;
        case 0x11:                      /* offset_extended_sf */
            reg = rd_uleb(c);
            off = rd_sleb(c) * cie->data_align;
            goto set_offset;
        case 0x12:                      /* def_cfa_sf */
            rs->cfa_reg = (int)rd_uleb(c);
            rs->cfa_off = rd_sleb(c) * cie->data_align;
            rs->cfa_expr = 0;
            break;
        case 0x13: rs->cfa_off = rd_sleb(c) * cie->data_align; break;
        case 0x14:                      /* val_offset */
            reg = rd_uleb(c);
            rd_uleb(c);
            goto lost;
        case 0x15:                      /* val_offset_sf */
            reg = rd_uleb(c);
            rd_sleb(c);
            goto lost;
        case 0x2e: rd_uleb(c); break;   /* GNU_args_size */
        case 0x2f:                      /* GNU_negative_offset_extended */
            reg = rd_uleb(c);
            off = -(int64_t)rd_uleb(c) * cie->data_align;
            goto set_offset;
        default:
            return -1;
        }
        continue;
    advance:
        if (loc + delta > pc)
            return 0;
        loc += delta;
        continue;
    set_offset:
        if (reg == 6) {
            rs->bp_kind = 1;
            rs->bp_off = off;
        } else if (reg == 16) {
            rs->ra_kind = 1;
            rs->ra_off = off;
        }
        continue;
    restore:
        if (init == NULL)
            return -1;
        if (reg == 6) {
            rs->bp_kind = init->bp_kind;
            rs->bp_off = init->bp_off;
        } else if (reg == 16) {
            rs->ra_kind = init->ra_kind;
            rs->ra_off = init->ra_off;
        }
        continue;
    lost:
        if (reg == 6)
            rs->bp_kind = 2;
        else if (reg == 16)
            rs->ra_kind = 2;
        continue;
    }
    return c->bad ? -1 : 0;
}

/* The first address an FDE covers; UINTPTR_MAX when unreadable. */
static uintptr_t
fde_start(const uint8_t *fde)
{
    if (fde == NULL)
        return UINTPTR_MAX;
    uint32_t len;
    memcpy(&len, fde, 4);
    if (len == 0 || len == 0xffffffffu)
        return UINTPTR_MAX;
    cur_t c = { fde + 4, fde + 4 + len, 0 };
    int32_t cie_ptr = (int32_t)rd_fixed(&c, 4);
    cie_t cie;
    if (cie_ptr == 0 || parse_cie(fde + 4 - cie_ptr, &cie) != 0)
        return UINTPTR_MAX;
    uintptr_t start = rd_enc(&c, cie.fde_enc, 0);
    return c.bad ? UINTPTR_MAX : start;
}

void
ms_cfi_rule(uintptr_t pc, ms_rule_t *out)
{
    out->kind = MS_R_CUT;
    out->cfa_off = 0;
    out->bp_off = MS_BP_SAME;
    struct dl_find_object fo;
    if (_dl_find_object((void *)pc, &fo) != 0)
        return;
    const uint8_t *fde = find_fde(fo.dlfo_eh_frame, pc);
    if (fde == NULL)
        return;
    uint32_t len;
    memcpy(&len, fde, 4);
    if (len == 0 || len == 0xffffffffu)
        return;
    cur_t c = { fde + 4, fde + 4 + len, 0 };
    int32_t cie_ptr = (int32_t)rd_fixed(&c, 4);
    if (cie_ptr == 0)
        return;
    cie_t cie;
    if (parse_cie(fde + 4 - cie_ptr, &cie) != 0)
        return;
    uintptr_t start = rd_enc(&c, cie.fde_enc, 0);
    uintptr_t range = rd_enc(&c, cie.fde_enc & 0x0f, 0);
    if (c.bad || pc < start)
        return;
    if (pc - start >= range) {
        /* Between functions. A return address at the very start of one
         * was pushed, not left by a call: makecontext's trampoline
         * (__start_context), where a coroutine's stack begins. */
        if (fde_start(find_fde(fo.dlfo_eh_frame, pc + 1)) == pc + 1)
            out->kind = MS_R_END;
        return;
    }
    if (cie.signal) {
        out->kind = MS_R_SIGNAL;
        return;
    }
    if (cie.has_z) {                /* augmentation data: skipped */
        uint64_t alen = rd_uleb(&c);
        if (c.bad || alen > (uint64_t)(c.end - c.p))
            return;
        c.p += alen;
    }
    regs_t rs = { .cfa_reg = 7, .cfa_off = 8, .ra_kind = 1, .ra_off = -8 };
    cur_t ci = { cie.insns, cie.insns_end, 0 };
    if (run_cfa(&ci, &cie, &rs, NULL, 0, UINTPTR_MAX) != 0)
        return;
    regs_t init = rs;
    if (run_cfa(&c, &cie, &rs, &init, start, pc) != 0)
        return;
    if (rs.ra_kind == 3) {
        out->kind = MS_R_END;
        return;
    }
    if (rs.cfa_expr || (rs.cfa_reg != 6 && rs.cfa_reg != 7) ||
        rs.ra_kind != 1 || rs.ra_off != -8 || rs.cfa_off <= 0)
        return;
    out->kind = rs.cfa_reg == 7 ? MS_R_SP : MS_R_BP;
    out->cfa_off = rs.cfa_off;
    out->bp_off = rs.bp_kind == 0 ? MS_BP_SAME : rs.bp_kind == 1 &&
        rs.bp_off < 0 && rs.bp_off > MS_BP_LOST * 8 ? rs.bp_off : MS_BP_LOST;
}
