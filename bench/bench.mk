# bench.mk - `make bench`: overhead, scaling, export and memory figures of
# memscope against plain jemalloc, glibc and heaptrack, in one run
# (docs/performance.md explains every figure).
#
#   make bench                     the full run (9 to 11 minutes on 2 cores)
#   make bench QUICK=1             less work, 3 counted runs (about 65 s)
#   make bench QUICK=1 SMOKE=1     one short run of each cell: proves the harness
#   make bench THREADS=1,2,4,8,16  the small churn on these thread counts
#   make bench WORKLOADS=churn CONFIGS=jemalloc,exact1 RUNS=7   a subset
#   make bench QUICK=1 WORKLOADS=short   only the 50 short processes under
#                                  memscope run --follow-children
#
# Results: a markdown report on stdout and in bench/results/latest.md, the
# raw numbers in bench/results/latest.json (BENCH_OUT=DIR writes them to DIR
# instead: tests/integration/bench_smoke.sh keeps the real ones intact).

BENCH_DIR    := $(BUILD)/bench
BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -pthread \
                -fno-builtin -fno-omit-frame-pointer
BENCH_PROGS  := churn xthread owners realloc_growth mixed short_threads spawn
BENCH_BINS   := $(addprefix $(BENCH_DIR)/,$(BENCH_PROGS) export_bench)

$(BENCH_DIR)/%: bench/%.c bench/common.h
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(BENCH_CFLAGS) -o $@ $<

# Linked with the library (its malloc is ours, no preload needed). Each of
# its 10^4 generated call sites must stay a distinct function with its own
# return address: no identical-code folding, no tail call into malloc.
$(BENCH_DIR)/export_bench: bench/export_bench.c bench/common.h include/memscope.h $(SO)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(BENCH_CFLAGS) -Iinclude -fno-ipa-icf -fno-optimize-sibling-calls \
	    -o $@ $< -L$(BUILD) -Wl,-rpath,$(abspath $(BUILD)) -lmemscope_malloc

# The library, and the tool for the short-process bench (`memscope run`).
.PHONY: bench-build
bench-build: $(SO) $(TOOL) $(BENCH_BINS)

bench: bench-build ## Print overhead figures vs jemalloc, glibc, heaptrack (QUICK=1, SMOKE=1, THREADS=1,2,4)
	@/usr/bin/python3 bench/run.py --build $(BUILD) \
	    --quick "$(QUICK)" --smoke "$(SMOKE)" --threads "$(THREADS)" \
	    --runs "$(RUNS)" --workloads "$(WORKLOADS)" --configs "$(CONFIGS)" \
	    --out "$(or $(BENCH_OUT),bench/results)"
