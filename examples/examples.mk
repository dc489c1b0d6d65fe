# examples.mk - the four seed examples, linked against the library.
EX_NAMES := basic_usage complex_multithread_showcase \
            comprehensive_async_showcase enhanced_30_thread_demo
EX_BINS  := $(addprefix $(BUILD)/examples/,$(EX_NAMES))
EX_CFLAGS := -std=gnu11 -O1 -g -fno-omit-frame-pointer $(WARN) -Iinclude -pthread

.PHONY: examples demo
examples: $(EX_BINS) ## Build the examples in examples/

$(BUILD)/examples/comprehensive_async_showcase: EX_LIBS := -luv
$(BUILD)/examples/%: examples/%.c include/memscope.h $(SO)
	@mkdir -p $(@D)
	@echo "  CCLD    $@"
	$(Q)$(CC) $(EX_CFLAGS) -o $@ $< -L$(BUILD) -Wl,-rpath,$(abspath $(BUILD)) \
	    -lmemscope_malloc $(EX_LIBS)

demo: ## Install what is missing, build, trace the basic_usage example, write its reports
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all $(BUILD)/examples/basic_usage
	$(BUILD)/examples/basic_usage
	@echo
	@echo "Reports of basic_usage:"
	@ls -1 MemoryAnalysis/basic_usage.* | sed 's/^/  /'
	@echo "Open MemoryAnalysis/basic_usage.html in a browser; read MemoryAnalysis/basic_usage.md here."
