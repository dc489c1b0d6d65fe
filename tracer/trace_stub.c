#include "trace.h"
#include "../allocator/engine.h"
#include <memscope.h>
#include <string.h>
int ms_trace_on;
void ms_trace_alloc(void *p, size_t req, ms_kind_t kind, void *ra, void *fp)
{ (void)p; (void)req; (void)kind; (void)ra; (void)fp; }
int ms_trace_free(void *p, ms_free_kind_t kind, void *ra, void *fp)
{ (void)p; (void)kind; (void)ra; (void)fp; return 0; }
void *ms_trace_realloc(void *old, size_t req, void *ra, void *fp)
{ (void)ra; (void)fp; return ms_je_realloc(old, req); }
__attribute__((visibility("default"))) const char *memscope_version(void) { return MEMSCOPE_VERSION_STRING; }
__attribute__((visibility("default"))) int memscope_is_tracing(void) { return ms_trace_on; }
__attribute__((visibility("default"))) const char *memscope_strerror(int e) { return e == 0 ? "success" : strerror(-e); }
