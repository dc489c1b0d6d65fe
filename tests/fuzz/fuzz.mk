# fuzz.mk - fuzzing the binary report reader (cli/bin_read.c), and
# the writers behind it (pprof's gzip checked by zlib), with libFuzzer,
# under ASan and UBSan. Needs clang and its fuzzer runtime
# (Debian: clang, libclang-rt-14-dev).
#
#   make fuzz          fuzz for FUZZ_TIME seconds (default 600), keeping what
#                      it finds in tests/fuzz/corpus-run (not committed)
#   make fuzz-smoke    about 20 s, as make check runs it
#   make fuzz-build    the harness and the seed corpus only
#
# The seeds are made at build time: reports of a real run of the workload
# (exact and sampled) and hand-made edge cases (tests/fuzz/mkseeds.c). A
# crash leaves its input as $(BUILD)/fuzz/crash-*. -malloc_limit_mb fails
# any single allocation over 128 MiB: the reader must bound what it
# allocates by the size of its input (at most 64 KiB here).

FUZZ_CC     ?= clang
FUZZ_TIME   ?= 600
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_BIN    := $(FUZZ_DIR)/fuzz_bin_read
FUZZ_SEEDS  := $(FUZZ_DIR)/seeds
FUZZ_CORPUS ?= tests/fuzz/corpus-run
FUZZ_SRCS   := tests/fuzz/fuzz_bin_read.c cli/xalloc.c cli/bin_read.c $(wildcard exporters/*.c)
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Iinclude -I$(BUILD)/gen -D_GNU_SOURCE \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_OPTS   := -rss_limit_mb=1024 -malloc_limit_mb=128 -max_len=65536 \
               -timeout=10 -dict=tests/fuzz/bin.dict \
               -artifact_prefix=$(FUZZ_DIR)/crash-
SEED_SRCS   := tests/fuzz/mkseeds.c cli/xalloc.c exporters/bin.c exporters/writer.c \
               exporters/report.c

.PHONY: fuzz fuzz-build fuzz-smoke

$(FUZZ_BIN): $(FUZZ_SRCS) $(wildcard exporters/*.h) $(HTML_ASSETS) | deps-present
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRCS) -lcmark -lm -lz

$(FUZZ_DIR)/mkseeds: $(SEED_SRCS) $(wildcard exporters/*.h) | deps-present
	@mkdir -p $(@D)
	$(Q)$(CC) $(TOOL_CFLAGS) -o $@ $(SEED_SRCS) -lm

$(FUZZ_SEEDS)/.done: $(FUZZ_DIR)/mkseeds $(SO) $(BUILD)/tests/prog/ms_workload
	@rm -rf $(FUZZ_SEEDS) && mkdir -p $(FUZZ_SEEDS)
	$(Q)$(FUZZ_DIR)/mkseeds $(FUZZ_SEEDS)
	$(Q)for s in 0 512; do \
	    LD_PRELOAD=$(abspath $(SO)) MEMSCOPE_OUT=$(abspath $(FUZZ_SEEDS)) \
	    MEMSCOPE_NAME=run-$$s MEMSCOPE_SAMPLE=$$s MEMSCOPE_FORMATS=bin \
	    MEMSCOPE_STACK_DEPTH=3 $(BUILD)/tests/prog/ms_workload run || exit 1; done
	@touch $@

fuzz-build: $(FUZZ_BIN) $(FUZZ_SEEDS)/.done ## The fuzzing harness and its seed corpus

fuzz: fuzz-build ## Fuzz the .bin reader for FUZZ_TIME seconds (default 600)
	@mkdir -p $(FUZZ_CORPUS)
	@start=$$(date +%s); rc=0; \
	$(FUZZ_BIN) $(FUZZ_OPTS) -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    $(FUZZ_CORPUS) $(FUZZ_SEEDS) || rc=$$?; \
	echo "make fuzz: fuzzed for $$(( $$(date +%s) - start )) s (FUZZ_TIME=$(FUZZ_TIME));" \
	    "corpus $(FUZZ_CORPUS): $$(ls $(FUZZ_CORPUS) | wc -l) inputs; exit status $$rc"; \
	exit $$rc

fuzz-smoke: fuzz-build ## About 20 s of fuzzing, as make check runs it
	@BUILD=$(abspath $(BUILD)) bash tests/integration/fuzz_smoke.sh
