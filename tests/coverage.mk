# Line coverage of the engine by the test suite plus the fuzz corpus.
#   make coverage      builds with gcc --coverage into $(BUILD)/cov, runs the
#                      unit and integration tests against it, replays every
#                      fuzz corpus (committed, regressions, and
#                      $(BUILD)/fuzz/work if a long run left one), then prints
#                      per-file and total line coverage of src/engine.
COV_DIR    := $(BUILD)/cov
COV_CFLAGS := $(filter-out -O2 -D_FORTIFY_SOURCE=2,$(CFLAGS)) -O0 --coverage -DVT_COVERAGE_BUILD
COV_OBJ    := $(LIB_SRC:%.c=$(COV_DIR)/obj/%.o)
COV_UNIT   := $(UNIT_SRC:tests/unit/%.c=$(COV_DIR)/tests/%)
COV_FUZZ   := $(COV_DIR)/replay/fuzz_engine $(COV_DIR)/replay/fuzz_mssim $(COV_DIR)/replay/fuzz_state

$(COV_DIR)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(COV_CFLAGS) -c -o $@ $<

$(COV_DIR)/libvitrum.a: $(COV_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(COV_DIR)/vitrum: $(COV_DIR)/obj/tools/vitrum.o $(COV_DIR)/libvitrum.a
	$(Q)$(CC) $(COV_CFLAGS) -o $@ $^ $(LDLIBS)

$(COV_DIR)/tests/%: tests/unit/%.c tests/unit/helpers.h $(COV_DIR)/libvitrum.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(COV_CFLAGS) -Itests/unit -o $@ $< $(COV_DIR)/libvitrum.a -lcmocka $(LDLIBS)

$(COV_DIR)/replay/%: tests/fuzz/%.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h $(COV_DIR)/libvitrum.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(filter-out -Werror,$(COV_CFLAGS)) -Itests/fuzz -o $@ $< tests/fuzz/replay_main.c $(COV_DIR)/libvitrum.a $(LDLIBS)

.PHONY: coverage
coverage: $(COV_DIR)/vitrum $(COV_UNIT) $(COV_FUZZ)
	@find $(COV_DIR) -name '*.gcda' -delete
	-BUILD=$(COV_DIR) VITRUM_BIN=$(abspath $(COV_DIR))/vitrum tests/run.sh unit
	-BUILD=$(COV_DIR) VITRUM_BIN=$(abspath $(COV_DIR))/vitrum tests/run.sh integration
	@for t in fuzz_engine fuzz_mssim fuzz_state; do \
	  $(COV_DIR)/replay/$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t $(BUILD)/fuzz/work/$$t; \
	done
	@tests/coverage.sh $(COV_DIR)/obj src/engine src/engine/cmd
