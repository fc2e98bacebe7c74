# Ember: build, test, bench, demo, install.
#   make            build/ember, build/ember-jailer, the test guest
#   make test       every test (unit + integration, normal and ASan/UBSan builds)
#   make bench      benchmarks -> table + build/bench.json
#   make demo       boot a real Linux guest through the API (in the nested
#                   KVM host when this machine's /dev/kvm cannot run Linux)
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
SAN     ?=

CC      ?= gcc
PKGS    := libmicrohttpd jansson libseccomp liburing nettle
# pkg-config name -> Debian package that provides it
DEB_libmicrohttpd := libmicrohttpd-dev
DEB_jansson       := libjansson-dev
DEB_libseccomp    := libseccomp-dev
DEB_liburing      := liburing-dev
DEB_nettle        := nettle-dev
DEB_cmocka        := libcmocka-dev
DEB_libcurl       := libcurl4-openssl-dev
TEST_PKGS  := cmocka libcurl

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# The ember binary links every library that has a static archive statically:
# libmicrohttpd's Debian build drags in GnuTLS and eight more shared objects,
# and loading them costs ~1 ms of every start (3 ms -> 2 ms for --version).
# A library with no archive (p11-kit, libunistring) stays shared.
lib_link = $(if $(wildcard $(shell $(CC) -print-file-name=lib$(1).a)),-Wl$(comma)-Bstatic -l$(1) -Wl$(comma)-Bdynamic,$\
	$(if $(wildcard $(shell $(CC) -print-file-name=lib$(1).so)),-l$(1),$\
	-l:$(notdir $(firstword $(wildcard /usr/lib/*/lib$(1).so.* /lib/*/lib$(1).so.*)))))
comma := ,
EMBER_LIBS := $(foreach l,$(shell pkg-config --static --libs $(PKGS) 2>/dev/null),$\
	$(if $(filter -l%,$(l)),$(call lib_link,$(patsubst -l%,%,$(l))),$(l)))
# MMDS's HTTP parser (Debian's libhttp-parser-dev) has no pkg-config file.
HTTP_PARSER_LIBS := -lhttp_parser
EMBER_LIBS += $(call lib_link,http_parser)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
CURL_LIBS   := $(shell pkg-config --libs libcurl 2>/dev/null)
# Static, HTTPS-free ember/ember-jailer (STATIC=1, the default; STATIC=0: dynamic).
include mk/static.mk

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -MMD -MP \
	   -I. $(PKG_CFLAGS)
LDFLAGS += -pthread
LDLIBS  += $(PKG_LIBS) $(HTTP_PARSER_LIBS)

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# The built-in seccomp filters are compiled to BPF at build time: a tool made
# from this build's own seccomp objects (so an ASan build gets the sanitizer
# rules) runs libseccomp on the policies and writes a C file of arrays, part
# of vmm/seccomp, that ember links; ember needs libseccomp at run time only
# for --seccomp-filter FILE.
SECCOMP_GEN_SRC := vmm/seccomp/gen_filters.c
SECCOMP_GEN     := $(BUILD)/tools/gen_filters
SECCOMP_GEN_OBJS := $(addprefix $(BUILD)/obj/vmm/seccomp/,gen_filters.o seccomp_policy.o seccomp_compile.o)
SECCOMP_BPF_SRC := $(BUILD)/gen/vmm/seccomp/builtin_bpf.c
SECCOMP_BPF_OBJ := $(BUILD)/obj/gen/vmm/seccomp/builtin_bpf.o

# The parts of the machine, one folder each (see each folder's header comments
# and tests/check_layers.sh for which may include which).
VMM_PARTS  := vmm vmm/base vmm/config vmm/mem vmm/kvm vmm/boot vmm/snapshot vmm/seccomp \
	      vmm/controller api devices devices/legacy devices/virtio devices/mmds devices/acpi
LIB_SRCS   := $(filter-out vmm/main.c $(SECCOMP_GEN_SRC),$(foreach d,$(VMM_PARTS),$(wildcard $(d)/*.c)))
LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(SECCOMP_BPF_OBJ)
JAILER_SRCS := $(wildcard jailer/*.c)
JAILER_OBJS := $(JAILER_SRCS:%.c=$(BUILD)/obj/%.o)
# Unit tests live in tests/unit/<part>/, next to nothing but the part they test;
# their binaries are flat: $(BUILD)/tests/unit/test_<name>.
UNIT_SRCS  := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS  := $(addprefix $(BUILD)/tests/unit/,$(basename $(notdir $(UNIT_SRCS))))
UNIT_HELPER_SRCS := $(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*/*.c))
UNIT_HELPER_OBJS := $(UNIT_HELPER_SRCS:%.c=$(BUILD)/obj/%.o)
ITEST_SRCS := $(wildcard tests/integration/*.c)
ITEST_BINS := $(ITEST_SRCS:tests/integration/%.c=$(BUILD)/tests/integration/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%) $(BUILD)/bench/floor_listener

BINS := $(BUILD)/ember $(if $(JAILER_SRCS),$(BUILD)/ember-jailer)

.PHONY: all deps test unit-tests test-bins bench demo install clean check-format format fuzz
all: $(BINS) guest

# ---- dependencies -----------------------------------------------------------
# Installs what is missing with apt-get when root, else prints the command.
# Tools as command:Debian package: the build, the API tests (curl, node for
# the OpenAPI check), network tests (ip), ACPI table checks (iasl).
DEPS_TOOLS := gcc:gcc make:make pkg-config:pkg-config curl:curl node:nodejs npm:npm \
	      ip:iproute2 python3:python3 iasl:acpica-tools
# Debian packages checked by name (a tool's name alone can mislead: a dynamic
# busybox answers too): the nested KVM host and the Linux guest's artefacts.
DEPS_DEBS = $(sort $(VMHOST_DEBS) $(LINUX_DEBS) libhttp-parser-dev)
deps:
	@missing=""; \
	for p in $(PKGS) $(TEST_PKGS); do \
	  pkg-config --exists $$p 2>/dev/null || case $$p in \
	    libmicrohttpd) missing="$$missing $(DEB_libmicrohttpd)";; \
	    jansson) missing="$$missing $(DEB_jansson)";; \
	    libseccomp) missing="$$missing $(DEB_libseccomp)";; \
	    liburing) missing="$$missing $(DEB_liburing)";; \
	    nettle) missing="$$missing $(DEB_nettle)";; \
	    cmocka) missing="$$missing $(DEB_cmocka)";; \
	    libcurl) missing="$$missing $(DEB_libcurl)";; esac; \
	done; \
	for t in $(DEPS_TOOLS) $(STATIC_DEPS_TOOLS); do \
	  command -v $${t%%:*} >/dev/null || missing="$$missing $${t#*:}"; done; \
	for d in $(DEPS_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$d 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$d"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) >/dev/null || \
	      { echo "deps: apt-get install failed; run: apt-get install $$missing"; exit 1; }; \
	  else \
	    echo "deps: missing$$missing; run as root: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@$(STATIC_DEPS_FETCH)
	@tests/vmhost/kernel.sh >/dev/null  # Debian's stock kernel: the Linux guest and the nested host

# A missing library is one clear message naming the Debian package.
check-libs:
	@for p in $(PKGS); do pkg-config --exists $$p || { \
	  case $$p in libmicrohttpd) d=$(DEB_libmicrohttpd);; jansson) d=$(DEB_jansson);; \
	    libseccomp) d=$(DEB_libseccomp);; liburing) d=$(DEB_liburing);; \
	    nettle) d=$(DEB_nettle);; esac; \
	  echo "error: library '$$p' not found by pkg-config: install the Debian package $$d (or run 'make deps')"; exit 1; }; done
.PHONY: check-libs

# ---- binaries ---------------------------------------------------------------
$(BUILD)/obj/%.o: %.c | check-libs
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(SECCOMP_GEN): $(SECCOMP_GEN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libseccomp 2>/dev/null)

$(SECCOMP_BPF_SRC): $(SECCOMP_GEN)
	@mkdir -p $(dir $@)
	$(SECCOMP_GEN) $@.tmp && mv $@.tmp $@

$(SECCOMP_BPF_OBJ): $(SECCOMP_BPF_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libember.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# gmtime.o is named, not left to the archive: where a shared library comes
# first in the link (libasan in SAN builds), its gmtime_r would satisfy the
# reference and glibc's, which reads /etc/localtime, would run on the
# filtered API thread (libmicrohttpd's Date header).
$(BUILD)/ember: $(BUILD)/obj/vmm/main.o $(BUILD)/obj/vmm/base/gmtime.o $(BUILD)/libember.a
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(EMBER_LIBS)

$(BUILD)/ember-jailer: $(JAILER_OBJS) $(BUILD)/libember.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

define unit_rule
$(BUILD)/tests/unit/$(basename $(notdir $(1))): $(BUILD)/obj/$(1:.c=.o) $(UNIT_HELPER_OBJS) $(BUILD)/libember.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$(CMOCKA_LIBS)
endef
$(foreach t,$(UNIT_SRCS),$(eval $(call unit_rule,$(t))))

$(BUILD)/tests/integration/%: $(BUILD)/obj/tests/integration/%.o $(BUILD)/libember.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CURL_LIBS)

# Static like ember (STATIC=1): the spawn floor bench compares them with.
$(BUILD)/bench/floor_listener: bench/floor/listener.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -static -s -o $@ $<

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libember.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CURL_LIBS)

test-bins: $(BINS) $(UNIT_BINS) $(ITEST_BINS) guest

# ---- the test guest (freestanding, built with the system gcc) ---------------
-include tests/guest/guest.mk
# ---- the real Linux guest and the nested KVM host ---------------------------
include tests/vmhost/vmhost.mk
include tests/linux/linux.mk
include tests/sdk/sdk.mk

# ---- tests / bench / demo ---------------------------------------------------
# Every test: unit + integration on the normal build, then again on an
# ASan+UBSan build. The runner prints one closing "N passed, N failed" line.
test: deps
	@$(MAKE) --no-print-directory test-bins linux-guest
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 test-bins linux-guest
	@tests/run.sh build build/asan

unit-tests: $(UNIT_BINS)
	@tests/run.sh --unit-only $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS) linux-guest
	@bench/run.sh $(BUILD)

# A real Linux guest wherever one can boot: directly on a /dev/kvm that runs
# Linux, else inside the nested KVM host; the test guest only when neither can.
demo: deps
	@$(MAKE) --no-print-directory all linux-guest
	@mode=$$(tests/kvm_mode.sh --for linux); case $$mode in \
	direct) tests/linux/demo.sh $(BUILD) ;; \
	nested) echo "demo: this machine's /dev/kvm cannot run a Linux kernel (or there is none):"; \
		echo "demo: running inside the nested KVM host (tests/vmhost: QEMU emulating an AMD CPU with SVM)."; \
		echo "demo: guest code is emulated there, so the times shown are not Ember's speed."; \
		tests/vmhost/vmhost.sh run --timeout 3000 -- tests/linux/demo.sh $(BUILD) ;; \
	*) echo "demo: no KVM that can run Linux ($$mode): booting the bundled test guest instead"; \
		tests/integration/demo.sh $(BUILD) ;; esac

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

# Fuzz the virtqueue/descriptor walker and the device request parsers (virtq:
# blk + rng through the walker; net tx/rx; vsock tx/rx; rng) for FUZZ_SECONDS
# each (libFuzzer with clang), starting from the checked-in corpus
# (tests/fuzz/gen_corpus.py), then replay each corpus through the gcc+ASan
# build as a regression check.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := virtq net vsock rng http config mmds_frame
FUZZ_DEV_SRCS := $(wildcard devices/virtio/*.c devices/mmds/*.c) vmm/mem/guest_mem.c vmm/base/log.c vmm/base/event_loop.c \
		 vmm/base/metrics.c vmm/base/vmstate.c vmm/base/crc64.c vmm/base/sort.c tests/fuzz/fuzz_dev.c \
		 $(filter-out api/api_server.c,$(wildcard api/*.c vmm/controller/*.c vmm/config/*.c))
# Leaks in libraries, not in Ember, each with its reproduction (see the file).
FUZZ_LSAN_OPTIONS := suppressions=$(abspath tests/fuzz/lsan.supp):print_suppressions=0
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -I. -g \
	       -fno-sanitize-recover=undefined
fuzz: deps
	@command -v clang >/dev/null || { echo "fuzz: needs clang with libFuzzer: apt-get install clang"; exit 1; }
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/work/$$t; \
		clang $(FUZZ_CFLAGS) -O1 -fsanitize=fuzzer,address,undefined -o build/fuzz/fuzz_$$t \
			tests/fuzz/fuzz_$$t.c $(FUZZ_DEV_SRCS) $(PKG_LIBS) $(HTTP_PARSER_LIBS); \
		LSAN_OPTIONS=$(FUZZ_LSAN_OPTIONS) \
		build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=48000 -print_final_stats=1 \
			build/fuzz/work/$$t tests/fuzz/corpus/$$t; \
		$(CC) $(FUZZ_CFLAGS) -Wall -Wextra -Werror -fsanitize=address,undefined \
			-o build/fuzz/fuzz_$${t}_run tests/fuzz/fuzz_main.c tests/fuzz/fuzz_$$t.c \
			$(FUZZ_DEV_SRCS) $(PKG_LIBS) $(HTTP_PARSER_LIBS); \
		LSAN_OPTIONS=$(FUZZ_LSAN_OPTIONS) build/fuzz/fuzz_$${t}_run tests/fuzz/corpus/$$t; \
	done; \
	rm -rf /tmp/ember-fuzz-vsock-*  # the vsock harness's socket dirs (libFuzzer never exits cleanly)

# Replay every corpus through its gcc+ASan/UBSan replayer (no clang needed):
# one PASS:/FAIL: line per target after a PLAN line (tests/run.sh counts them).
# An empty or missing corpus, a corpus dir with no target, or fewer inputs run
# than the corpus holds is a FAIL. FUZZ_CORPUS=DIR replays another corpus tree.
FUZZ_CORPUS ?= tests/fuzz/corpus
FUZZ_RUN_DEPS := tests/fuzz/fuzz_main.c $(FUZZ_DEV_SRCS) $(wildcard tests/fuzz/*.h devices/*.h \
		 devices/virtio/*.h devices/mmds/*.h vmm/base/*.h vmm/mem/*.h vmm/config/*.h)
# virtio-balloon against a hostile guest and the host's moves (fuzz_balloon.c).
FUZZ_TARGETS  += balloon
# The kernel image (fuzz_kernel.c): the loaders, the PVH note parser and the boot tables.
FUZZ_TARGETS  += kernel
FUZZ_DEV_SRCS += $(addprefix vmm/boot/,loader.c elf_notes.c pvh.c e820.c x86_boot.c) \
		 vmm/base/errmsg.c
FUZZ_RUN_DEPS += $(addprefix vmm/boot/,loader.c elf_notes.c pvh.c e820.c x86_boot.c) \
		 vmm/base/errmsg.c $(wildcard vmm/boot/*.h)
# The log's per call site rate limit, which every log_warn() goes through.
FUZZ_DEV_SRCS += vmm/base/log_limit.c
FUZZ_RUN_DEPS += vmm/base/log_limit.c
# VMGenID's and VMClock's snapshot sections and their post-restore writes (fuzz_acpi_state.c).
FUZZ_TARGETS  += acpi_state
FUZZ_DEV_SRCS += $(wildcard devices/acpi/*.c)
FUZZ_RUN_DEPS += $(wildcard devices/acpi/*.[ch])
.PHONY: fuzz-replay
fuzz-replay:
	@echo "PLAN: fuzz $(words $(FUZZ_TARGETS)) $(FUZZ_TARGETS)"; bad=0; \
	for d in $(FUZZ_CORPUS)/*/; do t=$$(basename "$$d"); \
	  case " $(FUZZ_TARGETS) " in *" $$t "*) ;; \
	  *) echo "FAIL: fuzz/corpus-$$t: corpus dir $$d has no target in FUZZ_TARGETS"; bad=1;; esac; done; \
	for t in $(FUZZ_TARGETS); do \
	  n=$$(find $(FUZZ_CORPUS)/$$t -maxdepth 1 -type f 2>/dev/null | wc -l); \
	  if [ "$$n" -eq 0 ]; then echo "FAIL: fuzz/$$t: empty or missing corpus $(FUZZ_CORPUS)/$$t"; bad=1; continue; fi; \
	  if ! out=$$($(MAKE) --no-print-directory -s build/fuzz/fuzz_$${t}_run 2>&1); then \
	    echo "$$out"; echo "FAIL: fuzz/$$t: replayer build failed"; bad=1; continue; fi; \
	  out=$$(ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=$(FUZZ_LSAN_OPTIONS) \
	    build/fuzz/fuzz_$${t}_run $(FUZZ_CORPUS)/$$t 2>&1); rc=$$?; \
	  if [ $$rc -eq 0 ] && [ "$$out" = "$$n inputs ran" ]; then echo "PASS: fuzz/$$t ($$n inputs)"; \
	  else echo "$$out" | tail -n 30; echo "FAIL: fuzz/$$t: replay exit $$rc, expected '$$n inputs ran'"; bad=1; fi; \
	done; rm -rf /tmp/ember-fuzz-vsock-*; exit $$bad

# PUT /cpu-config bodies: the template parser, the template's application and
# its snapshot section (fuzz_cpu_config.c).
FUZZ_TARGETS  += cpu_config
FUZZ_DEV_SRCS += $(filter-out $(FUZZ_DEV_SRCS),vmm/base/errmsg.c vmm/kvm/cpu_template.c \
		 vmm/kvm/static_templates.c vmm/snapshot/snapshot_cpu_template.c)
# The MMDS HTTP responder against a guest's byte stream (fuzz_mmds_http.c).
FUZZ_TARGETS  += mmds_http
FUZZ_DEV_SRCS += $(filter-out $(FUZZ_DEV_SRCS),$(addprefix devices/mmds/,mmds.c mmds_store.c \
		 mmds_token.c mmds_http.c))
# virtio-pmem's request queue against a hostile guest (fuzz_pmem.c).
FUZZ_TARGETS  += pmem
# virtio-mem's request queue against a hostile guest (fuzz_mem.c).
FUZZ_TARGETS  += mem
# The snapshot state file: framing, the decoders a load runs before KVM, and
# --describe-snapshot (fuzz_snapshot.c).
FUZZ_TARGETS  += snapshot
FUZZ_SNAPSHOT_SRCS := $(addprefix vmm/snapshot/,snapshot_config.c snapshot_mmds.c snapshot_pmem.c \
		      snapshot_hotplug.c snapshot_describe.c) vmm/kvm/vcpu_state.c vmm/kvm/vm_state.c
FUZZ_DEV_SRCS += $(filter-out $(FUZZ_DEV_SRCS),$(FUZZ_SNAPSHOT_SRCS))
FUZZ_RUN_DEPS += $(FUZZ_SNAPSHOT_SRCS) $(wildcard vmm/snapshot/*.h vmm/kvm/*.h)
# The --seccomp-filter JSON file: parser and libseccomp compilation (fuzz_seccomp_json.c).
FUZZ_TARGETS  += seccomp_json
FUZZ_SECCOMP_SRCS := $(addprefix vmm/seccomp/,seccomp_json.c seccomp_compile.c seccomp_policy.c)
FUZZ_DEV_SRCS += $(filter-out $(FUZZ_DEV_SRCS),$(FUZZ_SECCOMP_SRCS))
FUZZ_RUN_DEPS += $(FUZZ_SECCOMP_SRCS) $(wildcard vmm/seccomp/*.h)

# After every target's sources are added: a pattern rule's prerequisites are
# expanded where it is read, and a replayer must be rebuilt when any changes.
build/fuzz/fuzz_%_run: tests/fuzz/fuzz_%.c $(FUZZ_RUN_DEPS) $(FUZZ_DEV_SRCS)
	@mkdir -p $(dir $@)
	@$(CC) $(FUZZ_CFLAGS) -Wall -Wextra -Werror -fsanitize=address,undefined -o $@ \
		tests/fuzz/fuzz_main.c $< $(FUZZ_DEV_SRCS) $(PKG_LIBS) $(HTTP_PARSER_LIBS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v '^tests/guest/')

check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h' | grep -v '^tests/guest/')

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
