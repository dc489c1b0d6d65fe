/*
 * elfplain.h - a copy of an ELF file with its compressed sections
 * inflated (elfplain.c), for the symbol cache's copies of debug files.
 */
#ifndef MS_TRACER_ELFPLAIN_H
#define MS_TRACER_ELFPLAIN_H

#include <elf.h>
#include <stdint.h>

/* What the copy of one file will be. */
typedef struct {
    Elf64_Ehdr eh;              /* the copy's ELF header */
    Elf64_Shdr *from, *to;      /* the original's headers, the copy's */
    uint64_t size, total;       /* the original's size, the copy's */
    int packed;                 /* compressed sections */
} ms_elfplain_t;

/* Reads into pl the layout of the copy of the ELF file at fd; 0, or -1
 * when no copy is to be made (not an ELF file of this machine, nothing
 * compressed, a compression other than zlib, bad headers). */
int ms_elfplain_layout(int fd, ms_elfplain_t *pl);
/* Writes the copy pl describes of the file at fd to out (a new file);
 * 0, or -1 (out is then to be removed). */
int ms_elfplain_write(int fd, const ms_elfplain_t *pl, int out);
/* Frees what ms_elfplain_layout took (again: nothing). */
void ms_elfplain_free(ms_elfplain_t *pl);

#endif
