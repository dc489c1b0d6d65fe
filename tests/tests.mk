# tests.mk - `make check`: Check unit tests, then integration scripts.
#
# tests/unit/test_*.c      Check suites, one binary each, linked against the
#                          shared library (so the program's malloc is ours).
# tests/programs/*.c|*.cc  helper programs the integration scripts run.
# tests/integration/*.sh   scripts; exit 0 = pass, 77 = skipped
#                          (dashboard_logic.sh runs tests/web/*.test.js,
#                          the dashboard's logic, under node --test).
# tests/run.sh runs them all, then fails checkout/clean if the run left any
# file in the checkout outside the build tree.

TEST_CFLAGS  := -std=gnu11 -O1 -g -Wall -Wextra -Werror -Iinclude -D_GNU_SOURCE \
                -fno-builtin -pthread $(if $(SANITIZE),-fsanitize=undefined -fno-sanitize-recover=all)
TEST_CXXFLAGS := -std=c++17 -O1 -g -Wall -Wextra -Werror -Iinclude -pthread
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)
RPATH        := -Wl,-rpath,$(abspath $(BUILD))

UNIT_SRCS    := $(wildcard tests/unit/test_*.c)
UNIT_BINS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
PROG_C       := $(wildcard tests/programs/*.c)
PROG_CXX     := $(wildcard tests/programs/*.cc)
PROG_BINS    := $(patsubst tests/programs/%.c,$(BUILD)/tests/prog/%,$(PROG_C)) \
                $(patsubst tests/programs/%.cc,$(BUILD)/tests/prog/%,$(PROG_CXX))

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(SO)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< -L$(BUILD) $(RPATH) -lmemscope_malloc $(CHECK_LIBS)

# Helper programs link nothing of ours: scripts preload the library or not.
# abi_*: programs of another allocator's ABI, linked with it.
$(BUILD)/tests/prog/abi_jemalloc: PROG_LIBS := -ljemalloc
$(BUILD)/tests/prog/%: tests/programs/%.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< -ldl $(PROG_LIBS)

$(BUILD)/tests/prog/%: tests/programs/%.cc
	@mkdir -p $(@D)
	$(CXX) $(TEST_CXXFLAGS) -o $@ $<

.PHONY: check-build
check-build: all $(UNIT_BINS) $(PROG_BINS)

# Installs what is missing first (make deps), as the README promises; the
# build itself (check-build) never installs.
check: ## Install what is missing, build, run every test (unit, integration, real programs)
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory check-build
	@BUILD=$(abspath $(BUILD)) tests/run.sh
