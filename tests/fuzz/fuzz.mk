# Fuzzing and sanitizer builds; included by the main Makefile.
#
#   make fuzz-build     the libFuzzer targets in $(BUILD)/fuzz/
#   make fuzz           long runs: FUZZ_SECONDS (default 600) per target;
#                       new inputs go to $(BUILD)/fuzz/work/<target>, crashes
#                       to $(BUILD)/fuzz/artifacts/<target>/.  The committed
#                       corpus (tests/fuzz/corpus/) is read, never written.
#   make fuzz-smoke     replay corpus + regressions, then FUZZ_SMOKE_SECONDS
#                       (default 20) per target; prints TAP (tests/fuzz/smoke.sh)
#   make fuzz-seeds     regenerate the fuzz_state seeds (real state blobs)
#   make check-asan     the whole test suite against an ASan+UBSan build
#
# Targets: fuzz_engine, fuzz_mssim, fuzz_state, fuzz_tlog (FUZZ_TARGETS to pick some).

FUZZ_CC        ?= clang
FUZZ_SECONDS   ?= 600
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_TARGETS   ?= fuzz_engine fuzz_mssim fuzz_state fuzz_tlog
FUZZ_JOBS      ?= 1
FUZZ_FLAGS     ?=
FUZZ_DIR       := $(BUILD)/fuzz
# UBSan is recoverable so that FUZZ_UBSAN_SUPP (a UBSan suppressions file)
# can mute a known report while exploring; halt_on_error=1 (also compiled
# into the targets, fuzz_common.h) makes every other report a crash.
FUZZ_SAN       := -fsanitize=address,undefined -fsanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS    := -std=c11 -D_DEFAULT_SOURCE -g -O1 -Wall -Wextra -Wno-missing-field-initializers \
                  -Iinclude -Isrc -Itests/fuzz $(FUZZ_SAN)
FUZZ_LIB_OBJ   := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS      := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
FUZZ_HEADERS   := $(HEADERS) tests/fuzz/fuzz_common.h

# sanitizer reports abort (so the fuzzer / test sees a crash)
FUZZ_UBSAN_SUPP ?=
FUZZ_ENV := ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:halt_on_error=1:allocator_may_return_null=1 \
            UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1$(if $(FUZZ_UBSAN_SUPP),:suppressions=$(abspath $(FUZZ_UBSAN_SUPP)))

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-seeds check-asan asan-build

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/libvitrum-fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# fuzz_engine keeps the RSA keys it made (fuzz_engine.c, "RSA cache").
FUZZ_LDFLAGS_fuzz_engine := -Wl,--wrap=vt_rsa_generate

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libvitrum-fuzz.a $(FUZZ_HEADERS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libvitrum-fuzz.a \
	  $(FUZZ_LDFLAGS_fuzz_$*) $(LDLIBS)

# A plain (gcc, uninstrumented) tool that writes real state blobs.
$(FUZZ_DIR)/gen_state_seeds: tests/fuzz/gen_state_seeds.c tests/fuzz/fuzz_common.h $(BUILD)/libvitrum.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz -o $@ $< $(BUILD)/libvitrum.a $(LDLIBS)

fuzz-seeds: $(FUZZ_DIR)/gen_state_seeds
	@mkdir -p tests/fuzz/corpus/fuzz_state
	$(FUZZ_DIR)/gen_state_seeds tests/fuzz/corpus/fuzz_state
	python3 tests/fuzz/gen_corpus.py

# Long runs, one target after another.  -jobs=N with FUZZ_JOBS>1.
fuzz: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/work/$$t $(FUZZ_DIR)/artifacts/$$t tests/fuzz/regressions/$$t; \
	  echo "== $$t: $(FUZZ_SECONDS) s"; \
	  dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	  $(FUZZ_ENV) $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 $$dict -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t/ \
	    $$( [ $(FUZZ_JOBS) -gt 1 ] && echo -fork=$(FUZZ_JOBS) ) $(FUZZ_FLAGS) \
	    $(FUZZ_DIR)/work/$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t; \
	done

fuzz-smoke:
	@BUILD=$(BUILD) FUZZ_CC=$(FUZZ_CC) FUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) \
	  FUZZ_TARGETS="$(FUZZ_TARGETS)" MAKE="$(MAKE)" tests/fuzz/smoke.sh

# ---- the whole test suite under ASan + UBSan ----
ASAN_DIR    := $(BUILD)/asan
ASAN_CFLAGS := $(filter-out -D_FORTIFY_SOURCE=2 -O2,$(CFLAGS)) -O1 \
               -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_OBJ    := $(LIB_SRC:%.c=$(ASAN_DIR)/obj/%.o)
ASAN_UNIT   := $(UNIT_SRC:tests/unit/%.c=$(ASAN_DIR)/tests/%)
ASAN_REPORTS := $(abspath $(ASAN_DIR))/reports

$(ASAN_DIR)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -c -o $@ $<

$(ASAN_DIR)/libvitrum.a: $(ASAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(ASAN_DIR)/vitrum: $(ASAN_DIR)/obj/tools/vitrum.o $(ASAN_DIR)/libvitrum.a
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LDLIBS)

$(ASAN_DIR)/tests/%: tests/unit/%.c tests/unit/helpers.h $(ASAN_DIR)/libvitrum.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -Itests/unit -o $@ $< $(ASAN_DIR)/libvitrum.a -lcmocka $(LDLIBS)

asan-build: $(ASAN_DIR)/vitrum $(ASAN_UNIT)

# Reports go to $(ASAN_DIR)/reports/ (one file per process, kept after the
# run; the lead's test scripts can show $$VT_SANITIZER_REPORTS) and make the
# target fail even when the process that hit them was killed by a signal
# the test expected.
check-asan: asan-build
	@rm -rf $(ASAN_REPORTS); mkdir -p $(ASAN_REPORTS)
	@status=0; \
	ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=1:log_path=$(ASAN_REPORTS)/asan:log_exe_name=1 \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$(ASAN_REPORTS)/ubsan:log_exe_name=1 \
	VT_SANITIZER_REPORTS=$(ASAN_REPORTS) \
	BUILD=$(ASAN_DIR) VITRUM_BIN=$(abspath $(ASAN_DIR))/vitrum tests/run.sh || status=$$?; \
	if [ -n "$$(ls -A $(ASAN_REPORTS) 2>/dev/null)" ]; then \
	  echo "sanitizer reports in $(ASAN_REPORTS):"; \
	  for r in $(ASAN_REPORTS)/*; do echo "# --- $$r"; sed -n '1,60p' "$$r" | sed 's/^/# /'; done; \
	  status=1; \
	fi; \
	exit $$status
