# vitrum — GNU Make build (no autotools).  `make`, `make run`, `make check`.
CC      ?= cc
CFLAGS  ?= -O2 -g
CC_IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
CFLAGS  += -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
           -Wno-missing-field-initializers -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
           -Iinclude -Isrc
# Error lines that name a long path may be cut short on purpose.
CFLAGS  += $(if $(CC_IS_CLANG),,-Wno-format-truncation)
LDLIBS  += -ltss2-sys -ltss2-tctildr -ltss2-mu -lcrypto -lseccomp -lpthread
BUILD   ?= build

ENGINE_SRC := $(wildcard src/engine/*.c src/engine/cmd/*.c src/crypto/*.c src/tlog/*.c)
HOST_SRC   := $(wildcard src/store/*.c src/platform/*.c src/server/*.c)
# `vitrum state` and `vitrum manufacture` live in the library so every build of the vitrum binary
# (plain, ASan, coverage) links it with tools/vitrum.o alone.
HOST_SRC   += tools/state_cmd.c tools/manufacture.c tools/config.c tools/status.c tools/swtpm_cli.c
HOST_SRC   += tools/release_cmd.c tools/log_cmd.c tools/witness_cmd.c tools/tlog_io.c
HOST_SRC   += tools/vendor_client.c tools/owner_cmd.c
HOST_SRC   += tools/update_cmd.c tools/verify_cmd.c tools/eventlog.c tools/fw_host.c tools/launcher.c
LIB_SRC    := $(ENGINE_SRC) $(HOST_SRC)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
HEADERS    := $(wildcard include/vitrum/*.h src/*/*.h src/engine/cmd/*.h tools/*.h)

.PHONY: all run check check-quick soak clean deps test-deps
all: $(BUILD)/vitrum

# V=1 shows the full command lines.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libvitrum.a: $(LIB_OBJ)
	$(Q)ar rcs $@ $^

$(BUILD)/vitrum: $(BUILD)/tools/vitrum.o $(BUILD)/libvitrum.a
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ---- setup (Debian 12) ----
deps:
	@scripts/bootstrap.sh build

test-deps:
	@scripts/bootstrap.sh test

run: deps
	$(MAKE) all
	$(BUILD)/vitrum serve

# ---- tests ----
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/helpers.h $(BUILD)/libvitrum.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libvitrum.a -lcmocka $(LDLIBS)

# vitrum vs swtpm 0.7 over swtpm's protocol (QEMU vTPM, issue #7): ops,
# start-up, memory of idle vTPMs.  Options: make bench-swtpm SWTPM_BENCH_ARGS="--quick".
.PHONY: bench-swtpm
bench-swtpm: $(BUILD)/vitrum
	VITRUM=$(BUILD)/vitrum bench/swtpm.sh $(SWTPM_BENCH_ARGS)

# In-process session benchmark / profiling driver (bench/engine_session_bench.c).
# With libtpms-dev installed it can also run the ops on libtpms, swtpm's engine.
LIBTPMS_BENCH := $(if $(shell pkg-config --exists libtpms 2>/dev/null && echo y),-DWITH_LIBTPMS)
$(BUILD)/bench/engine_session_bench: bench/engine_session_bench.c $(BUILD)/libvitrum.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(LIBTPMS_BENCH) -o $@ $< $(BUILD)/libvitrum.a -ltss2-esys -ltss2-rc $(if $(LIBTPMS_BENCH),-ltpms) $(LDLIBS)

# Transparency log: 1 million appends, proofs, bundle verification
# (bench/tlog.sh; options: make bench-tlog TLOG_BENCH_ARGS="--entries 100000").
.PHONY: bench-tlog
$(BUILD)/bench/tlog_bench: bench/tlog_bench.c $(BUILD)/libvitrum.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itools -o $@ $< $(BUILD)/libvitrum.a $(LDLIBS)
bench-tlog: $(BUILD)/vitrum $(BUILD)/bench/tlog_bench
	BUILD=$(BUILD) bench/tlog.sh $(TLOG_BENCH_ARGS)

# Every test: unit, integration (tpm2-tools), the same again against an
# ASan+UBSan build, static checks, a short fuzzing run.  Last line:
# "N passed, N failed".
check: test-deps
	$(MAKE) all $(UNIT_BIN) asan-build
	VT_ASAN_BUILD=$(BUILD)/asan VITRUM_BIN=$(BUILD)/vitrum tests/run.sh

# The long crash test: 500 kill -9 of a server under a stream of durable
# changes (make check runs 20).
soak: all
	CRASH_KILLS=$${CRASH_KILLS:-500} VT_TEST_TIMEOUT=3600 VITRUM_BIN=$(BUILD)/vitrum tests/run.sh integration/test_crash

# Only the plain build (quicker while developing).
check-quick: all $(UNIT_BIN)
	tests/run.sh

clean:
	rm -rf $(BUILD)

# fuzzing and sanitizer builds (tests/fuzz/fuzz.mk), coverage (tests/coverage.mk)
-include tests/fuzz/fuzz.mk
-include packaging/install.mk
-include tests/coverage.mk
