/*
 * elfplain.c - a copy of an ELF file with its compressed sections
 * inflated, for the symbol cache (symcache.c: ms_symcache_plain), so that
 * libdw reads a debug file's DWARF in place instead of inflating it in
 * every process that names an address in it.
 *
 * The copy is the file's bytes with each compressed section's range left
 * as a hole, its inflated bytes appended, then the section headers moved
 * to the end (compression flag off, offsets and sizes those of the
 * inflated data). Made only when every compressed section is zlib
 * (ELFCOMPRESS_ZLIB) in a 64-bit ELF of this machine's byte order: any
 * other file is left to libdw as it is. The file is read as untrusted
 * input: headers that do not fit the file, sizes past PLAIN_MAX, an
 * inflated section of another size than its header says: no copy.
 */
#include <dlfcn.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "elfplain.h"

#define PLAIN_MAX   (1ull << 30)    /* inflated bytes, at most */
#define PLAIN_SHNUM 4096            /* section headers, at most */

int
ms_elfplain_layout(int fd, ms_elfplain_t *pl)
{
    struct stat st;
    memset(pl, 0, sizeof(*pl));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (uint64_t)st.st_size < sizeof(Elf64_Ehdr) ||
        (uint64_t)st.st_size > PLAIN_MAX ||
        ms_fd_pread(fd, &pl->eh, sizeof(pl->eh), 0) != 0)
        return -1;
    const Elf64_Ehdr *e = &pl->eh;
    pl->size = (uint64_t)st.st_size;
    if (memcmp(e->e_ident, ELFMAG, SELFMAG) != 0 ||
        e->e_ident[EI_CLASS] != ELFCLASS64 ||
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        e->e_ident[EI_DATA] != ELFDATA2LSB ||
#else
        e->e_ident[EI_DATA] != ELFDATA2MSB ||
#endif
        e->e_shentsize != sizeof(Elf64_Shdr) || e->e_shnum == 0 ||
        e->e_shnum > PLAIN_SHNUM || e->e_shoff > pl->size ||
        (uint64_t)e->e_shnum * sizeof(Elf64_Shdr) > pl->size - e->e_shoff)
        return -1;
    size_t n = e->e_shnum, bytes = n * sizeof(Elf64_Shdr);
    pl->from = ms_tmalloc(bytes);
    pl->to = ms_tmalloc(bytes);
    if (pl->from == NULL || pl->to == NULL ||
        ms_fd_pread(fd, pl->from, bytes, e->e_shoff) != 0)
        goto no;
    memcpy(pl->to, pl->from, bytes);
    uint64_t at = (pl->size + 15) & ~15ull, inflated = 0;
    for (size_t i = 0; i < n; i++) {
        Elf64_Shdr *f = &pl->from[i], *t = &pl->to[i];
        if (!(f->sh_flags & SHF_COMPRESSED))
            continue;
        Elf64_Chdr ch;
        if (f->sh_type == SHT_NOBITS || f->sh_size < sizeof(ch) ||
            f->sh_offset > pl->size || f->sh_size > pl->size - f->sh_offset ||
            ms_fd_pread(fd, &ch, sizeof(ch), f->sh_offset) != 0 ||
            ch.ch_type != ELFCOMPRESS_ZLIB || ch.ch_size > PLAIN_MAX ||
            (ch.ch_addralign & (ch.ch_addralign - 1)) != 0 ||
            ch.ch_addralign > 4096 ||
            (inflated += ch.ch_size) > PLAIN_MAX)
            goto no;
        uint64_t align = ch.ch_addralign ? ch.ch_addralign : 1;
        at = (at + align - 1) & ~(align - 1);
        t->sh_flags &= ~(uint64_t)SHF_COMPRESSED;
        t->sh_offset = at;
        t->sh_size = ch.ch_size;
        t->sh_addralign = align;
        at += ch.ch_size;
        pl->packed++;
    }
    if (pl->packed == 0)
        goto no;
    pl->eh.e_shoff = (at + 7) & ~7ull;
    pl->total = pl->eh.e_shoff + bytes;
    return 0;
no:
    ms_elfplain_free(pl);
    return -1;
}

void
ms_elfplain_free(ms_elfplain_t *pl)
{
    ms_tfree(pl->from);
    ms_tfree(pl->to);
    pl->from = pl->to = NULL;
}

/* zlib's one-shot inflate (libdw's libelf links zlib: loaded already) */
typedef int (*uncompress_fn)(unsigned char *, unsigned long *,
    const unsigned char *, unsigned long);

static int
copy_range(int from, int to, uint64_t off, uint64_t len, char *buf,
    size_t buflen)
{
    while (len > 0) {
        size_t n = len < buflen ? (size_t)len : buflen;
        if (ms_fd_pread(from, buf, n, off) != 0 ||
            ms_fd_pwrite(to, buf, n, off) != 0)
            return -1;
        off += n;
        len -= n;
    }
    return 0;
}

static int
range_cmp(const void *a, const void *b)
{
    const Elf64_Shdr *x = *(Elf64_Shdr *const *)a, *y = *(Elf64_Shdr *const *)b;
    return x->sh_offset < y->sh_offset ? -1 : x->sh_offset > y->sh_offset;
}

int
ms_elfplain_write(int fd, const ms_elfplain_t *pl, int out)
{
    static uncompress_fn inflate_all;
    if (inflate_all == NULL) {
        void *z = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
        if (z == NULL ||
            (*(void **)&inflate_all = dlsym(z, "uncompress")) == NULL)
            return -1;
    }
    size_t n = pl->eh.e_shnum, buflen = 1u << 20;
    const Elf64_Shdr **packed = ms_tmalloc((size_t)pl->packed * sizeof(*packed));
    char *buf = ms_tmalloc(buflen);
    unsigned char *src = NULL, *dst = NULL;
    int ok = packed != NULL && buf != NULL &&
        ftruncate(out, (off_t)pl->total) == 0;
    /* the original's bytes but for the compressed ranges (holes) */
    int k = 0;
    for (size_t i = 0; ok && i < n; i++)
        if (pl->from[i].sh_flags & SHF_COMPRESSED)
            packed[k++] = &pl->from[i];
    if (ok)
        qsort(packed, (size_t)k, sizeof(*packed), range_cmp);
    uint64_t at = 0;
    for (int i = 0; ok && i < k; i++) {
        if (packed[i]->sh_offset > at)
            ok = copy_range(fd, out, at, packed[i]->sh_offset - at, buf,
                buflen) == 0;
        uint64_t end = packed[i]->sh_offset + packed[i]->sh_size;
        at = end > at ? end : at;
    }
    if (ok && pl->size > at)
        ok = copy_range(fd, out, at, pl->size - at, buf, buflen) == 0;
    /* each compressed section inflated, at its new place */
    for (size_t i = 0; ok && i < n; i++) {
        const Elf64_Shdr *f = &pl->from[i], *t = &pl->to[i];
        if (!(f->sh_flags & SHF_COMPRESSED))
            continue;
        size_t clen = (size_t)(f->sh_size - sizeof(Elf64_Chdr));
        unsigned long got = (unsigned long)t->sh_size;
        src = ms_tmalloc(clen ? clen : 1);
        dst = ms_tmalloc(t->sh_size ? (size_t)t->sh_size : 1);
        ok = src != NULL && dst != NULL &&
            ms_fd_pread(fd, src, clen, f->sh_offset + sizeof(Elf64_Chdr)) == 0 &&
            inflate_all(dst, &got, src, (unsigned long)clen) == 0 &&
            got == t->sh_size &&
            ms_fd_pwrite(out, dst, (size_t)t->sh_size, t->sh_offset) == 0;
        ms_tfree(src);
        ms_tfree(dst);
    }
    /* the headers: the section headers at the end, the ELF header's
     * pointer to them */
    if (ok)
        ok = ms_fd_pwrite(out, pl->to, n * sizeof(Elf64_Shdr), pl->eh.e_shoff) == 0 &&
            ms_fd_pwrite(out, &pl->eh, sizeof(pl->eh), 0) == 0;
    ms_tfree(packed);
    ms_tfree(buf);
    return ok ? 0 : -1;
}

