# `make install`, `make uninstall`, `make man`, `make deb` (included by the Makefile).
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [UNITDIR=$(PREFIX)/lib/systemd/system]
#                [SYSCONFDIR=/etc] [MANDIR=$(PREFIX)/share/man]
#
# installs bin/vitrum, the man pages, the systemd units (vitrum.service,
# vitrum@.service, pointing at $(BINDIR)/vitrum) and a sample
# $(SYSCONFDIR)/vitrum/vitrum.conf (an existing one is kept).  `make deb`
# builds $(BUILD)/vitrum_VERSION_ARCH.deb with dpkg-deb (packaging/mkdeb.sh).

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
INSTALL    ?= install
SCDOC      ?= scdoc

MAN_SRC   := $(wildcard man/*.scd)
MAN_PAGES := $(MAN_SRC:man/%.scd=$(BUILD)/man/%)
UNITS     := vitrum.service vitrum@.service

.PHONY: install uninstall man deb

man: $(MAN_PAGES)

# man/vitrum-serve.8.scd -> $(BUILD)/man/vitrum-serve.8 (roff)
$(BUILD)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SCDOC   $@")
	$(Q)command -v $(SCDOC) >/dev/null || { echo "scdoc is missing: make deps (or apt-get install scdoc)" >&2; exit 1; }
	$(Q)$(SCDOC) <$< >$@.tmp && mv $@.tmp $@

install: $(BUILD)/vitrum $(MAN_PAGES)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/vitrum
	$(INSTALL) -m 0755 $(BUILD)/vitrum $(DESTDIR)$(BINDIR)/vitrum
	@set -e; for p in $(MAN_PAGES); do \
		s=$${p##*.}; \
		$(INSTALL) -d -m 0755 $(DESTDIR)$(MANDIR)/man$$s; \
		echo "$(INSTALL) -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/"; \
		$(INSTALL) -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/; \
	done
	@set -e; for u in $(UNITS); do \
		echo "sed @BINDIR@ packaging/systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u"; \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/systemd/$$u \
			>$(DESTDIR)$(UNITDIR)/$$u.tmp; \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.tmp; mv $(DESTDIR)$(UNITDIR)/$$u.tmp $(DESTDIR)$(UNITDIR)/$$u; \
	done
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/vitrum/vitrum.conf ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/vitrum/vitrum.conf"; \
	else \
		echo "$(INSTALL) -m 0644 packaging/vitrum.conf $(DESTDIR)$(SYSCONFDIR)/vitrum/vitrum.conf"; \
		$(INSTALL) -m 0644 packaging/vitrum.conf $(DESTDIR)$(SYSCONFDIR)/vitrum/vitrum.conf; \
	fi

# The configuration file is left if it differs from the sample (it was edited).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vitrum
	rm -f $(UNITS:%=$(DESTDIR)$(UNITDIR)/%)
	@set -e; for p in $(MAN_SRC:man/%.scd=%); do \
		s=$${p##*.}; echo "rm -f $(DESTDIR)$(MANDIR)/man$$s/$$p"; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$p; \
	done
	@if cmp -s packaging/vitrum.conf $(DESTDIR)$(SYSCONFDIR)/vitrum/vitrum.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/vitrum/vitrum.conf; \
		rmdir $(DESTDIR)$(SYSCONFDIR)/vitrum 2>/dev/null || true; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/vitrum/vitrum.conf ]; then \
		echo "keeping $(DESTDIR)$(SYSCONFDIR)/vitrum/vitrum.conf (changed from the sample)"; \
	fi

deb: $(BUILD)/vitrum $(MAN_PAGES)
	packaging/mkdeb.sh "$(BUILD)"
