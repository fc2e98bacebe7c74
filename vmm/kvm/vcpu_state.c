// SPDX-License-Identifier: Apache-2.0
/*
 * Per-vCPU KVM state get/set for snapshots. The KVM structs are stored as
 * length-prefixed blobs: they are kernel UAPI (fixed layout on x86_64), and
 * the length check on load turns a file from another layout into an error
 * instead of garbage in a register.
 */
#include "vmm/kvm/vcpu_state.h"
#include "vmm/base/log.h"
#include "vmm/kvm/vcpu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_IA32_TSC	 0x00000010
#define MSR_IA32_MCG_CTL 0x0000017b

/* TSC frequencies closer than this (parts per million) need no scaling, as Firecracker. */
#define TSC_KHZ_TOLERANCE_PPM 250

struct msr_range {
	uint32_t base, count;
};

/*
 * Firecracker's SERIALIZABLE_MSR_RANGES (arch/x86_64/msr.rs), by value from
 * Linux's msr-index.h: architectural and model-specific state a guest may
 * rely on, the x2APIC range, KVM's paravirtual MSRs and the syscall MSRs.
 */
static const struct msr_range serializable_msrs[] = {
    {0x00000000, 1},	 /* IA32_P5_MC_ADDR */
    {0x00000001, 1},	 /* IA32_P5_MC_TYPE */
    {0x00000010, 1},	 /* IA32_TSC */
    {0x00000017, 1},	 /* IA32_PLATFORM_ID */
    {0x0000001b, 1},	 /* IA32_APICBASE */
    {0x0000002a, 1},	 /* IA32_EBL_CR_POWERON */
    {0x0000002c, 1},	 /* EBC_FREQUENCY_ID */
    {0x00000034, 1},	 /* SMI_COUNT */
    {0x0000003a, 1},	 /* IA32_FEAT_CTL */
    {0x0000003b, 1},	 /* IA32_TSC_ADJUST */
    {0x00000048, 1},	 /* IA32_SPEC_CTRL */
    {0x00000049, 1},	 /* IA32_PRED_CMD */
    {0x00000079, 1},	 /* IA32_UCODE_WRITE */
    {0x0000008b, 1},	 /* IA32_UCODE_REV */
    {0x0000009e, 1},	 /* IA32_SMBASE */
    {0x000000cd, 1},	 /* FSB_FREQ */
    {0x000000ce, 1},	 /* PLATFORM_INFO */
    {0x000000e2, 1},	 /* PKG_CST_CONFIG_CONTROL */
    {0x000000e7, 1},	 /* IA32_MPERF */
    {0x000000e8, 1},	 /* IA32_APERF */
    {0x000000fe, 1},	 /* MTRRcap */
    {0x0000011e, 1},	 /* IA32_BBL_CR_CTL3 */
    {0x00000122, 1},	 /* IA32_TSX_CTRL */
    {0x00000174, 3},	 /* IA32_SYSENTER_CS/ESP/EIP */
    {0x00000179, 3},	 /* IA32_MCG_CAP/STATUS/CTL */
    {0x00000198, 1},	 /* IA32_PERF_STATUS */
    {0x000001a0, 1},	 /* IA32_MISC_ENABLE */
    {0x000001a4, 1},	 /* MISC_FEATURE_CONTROL */
    {0x000001aa, 1},	 /* MISC_PWR_MGMT */
    {0x000001ad, 2},	 /* TURBO_RATIO_LIMIT, TURBO_RATIO_LIMIT1 */
    {0x000001d9, 1},	 /* IA32_DEBUGCTL */
    {0x000001db, 4},	 /* LASTBRANCH/LASTINT FROM/TO IP */
    {0x000001fc, 1},	 /* IA32_POWER_CTL */
    {0x00000200, 0x100}, /* MTRR physbase/mask, fixed ranges, PAT, MTRR_DEF_TYPE */
    {0x000003fc, 3},	 /* CORE_C3/C6/C7_RESIDENCY */
    {0x00000400, 0x80},	 /* IA32_MC0_CTL.. machine-check banks */
    {0x00000606, 1},	 /* RAPL_POWER_UNIT */
    {0x0000060a, 3},	 /* PKGC3/6/7_IRTL */
    {0x00000610, 2},	 /* PKG_POWER_LIMIT, PKG_ENERGY_STATUS */
    {0x00000613, 2},	 /* PKG_PERF_STATUS, PKG_POWER_INFO */
    {0x00000618, 2},	 /* DRAM_POWER_LIMIT, DRAM_ENERGY_STATUS */
    {0x0000061b, 2},	 /* DRAM_PERF_STATUS, DRAM_POWER_INFO */
    {0x00000648, 5},	 /* CONFIG_TDP_*, TURBO_ACTIVATION_RATIO */
    {0x000006e0, 1},	 /* IA32_TSC_DEADLINE */
    {0x00000800, 0x400}, /* x2APIC */
    {0x4b564d00, 7},	 /* KVM wall clock, system time, async PF, steal time, PV EOI, ... */
    {0xc0000080, 5},	 /* EFER, STAR, LSTAR, CSTAR, SYSCALL_MASK */
    {0xc0000100, 4},	 /* FS_BASE, GS_BASE, KERNEL_GS_BASE, TSC_AUX */
    {0xc0000140, 1},	 /* MISC_FEATURES_ENABLES */
    {0xc0010015, 1},	 /* K7_HWCR */
};

bool vcpu_state_msr_serializable(uint32_t index)
{
	/* Not exported by Linux: reading it fails unless MCG_CAP.CTL_P is set. */
	if (index == MSR_IA32_MCG_CTL)
		return false;
	for (size_t i = 0; i < sizeof(serializable_msrs) / sizeof(serializable_msrs[0]); i++) {
		const struct msr_range *r = &serializable_msrs[i];

		if (index >= r->base && index - r->base < r->count)
			return true;
	}
	return false;
}

int vcpu_state_msr_list(int kvm_fd, struct kvm_msr_list **out)
{
	struct kvm_msr_list probe = {.nmsrs = 0};
	struct kvm_msr_list *list;
	uint32_t n = 0;

	*out = NULL;
	/* The first call fails with E2BIG and reports how many there are. */
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	if (probe.nmsrs > VCPU_STATE_MAX_MSRS)
		return -E2BIG;
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		int ret = -errno;

		free(list);
		return ret;
	}
	for (uint32_t i = 0; i < list->nmsrs; i++)
		if (vcpu_state_msr_serializable(list->indices[i]))
			list->indices[n++] = list->indices[i];
	list->nmsrs = n;
	*out = list;
	return 0;
}

/* ---- capture ------------------------------------------------------------------ */

static struct kvm_msrs *msrs_alloc(uint32_t n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));

	if (m)
		m->nmsrs = n;
	return m;
}

/*
 * KVM_GET_MSRS stops at the first MSR it cannot read and returns how many it
 * read. The index list can name MSRs this vCPU's CPUID hides (PMU, nested
 * VMX): leave those out and carry on after them.
 */
static int capture_msrs(struct vcpu *v, const struct kvm_msr_list *list, struct kvm_msrs **out)
{
	struct kvm_msrs *m = msrs_alloc(list->nmsrs), *chunk;
	uint32_t done = 0, kept = 0;

	if (!m)
		return -ENOMEM;
	while (done < list->nmsrs) {
		uint32_t left = list->nmsrs - done;
		int n;

		chunk = msrs_alloc(left);
		if (!chunk) {
			free(m);
			return -ENOMEM;
		}
		for (uint32_t i = 0; i < left; i++)
			chunk->entries[i].index = list->indices[done + i];
		n = ioctl(v->fd, KVM_GET_MSRS, chunk);
		if (n < 0) {
			n = -errno;
			free(chunk);
			free(m);
			return n;
		}
		memcpy(&m->entries[kept], chunk->entries, (size_t)n * sizeof(chunk->entries[0]));
		kept += (uint32_t)n;
		done += (uint32_t)n;
		if (done < list->nmsrs) {
			log_debug("vcpu %u: MSR %#x is not readable; not saved", v->id,
				  list->indices[done]);
			done++;
		}
		free(chunk);
	}
	m->nmsrs = kept;
	*out = m;
	return 0;
}

static int capture_cpuid(struct vcpu *v, struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + VCPU_STATE_MAX_CPUID * sizeof(c->entries[0]));

	if (!c)
		return -ENOMEM;
	c->nent = VCPU_STATE_MAX_CPUID;
	if (ioctl(v->fd, KVM_GET_CPUID2, c) < 0) {
		int ret = -errno;

		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* XSAVE covers the FPU and every extended state; the legacy FPU ioctl only where XSAVE is absent.
 */
static int capture_fpu(struct vcpu *v, struct vcpu_saved_state *s)
{
	s->xsave = calloc(1, sizeof(*s->xsave));
	if (!s->xsave)
		return -ENOMEM;
	if (ioctl(v->fd, KVM_GET_XSAVE, s->xsave) == 0) {
		s->has_xsave = true;
		s->xsave_size = sizeof(*s->xsave);
		return 0;
	}
	free(s->xsave);
	s->xsave = NULL;
	return ioctl(v->fd, KVM_GET_FPU, &s->fpu) < 0 ? -errno : 0;
}

static int get(struct vcpu *v, unsigned long req, void *arg)
{
	return ioctl(v->fd, req, arg) < 0 ? -errno : 0;
}

int vcpu_state_capture(struct vcpu *v, const struct kvm_msr_list *msrs, struct vcpu_saved_state *s)
{
	int ret, khz;

	memset(s, 0, sizeof(*s));
	ret = get(v, KVM_GET_MP_STATE, &s->mp_state);
	if (!ret)
		ret = get(v, KVM_GET_REGS, &s->regs);
	if (!ret)
		ret = get(v, KVM_GET_SREGS, &s->sregs);
	if (!ret)
		ret = capture_fpu(v, s);
	if (!ret)
		s->has_xcrs = get(v, KVM_GET_XCRS, &s->xcrs) == 0; /* absent without XSAVE */
	if (!ret)
		ret = get(v, KVM_GET_DEBUGREGS, &s->debugregs);
	if (!ret)
		ret = get(v, KVM_GET_LAPIC, &s->lapic);
	if (!ret) {
		khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
		s->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
		ret = capture_cpuid(v, &s->cpuid);
	}
	if (!ret)
		ret = capture_msrs(v, msrs, &s->msrs);
	if (!ret)
		ret = get(v, KVM_GET_VCPU_EVENTS, &s->events);
	if (ret)
		vcpu_state_free(s);
	return ret;
}

void vcpu_state_free(struct vcpu_saved_state *s)
{
	free(s->xsave);
	free(s->cpuid);
	free(s->msrs);
	s->xsave = NULL;
	s->cpuid = NULL;
	s->msrs = NULL;
}

/* ---- encoding ----------------------------------------------------------------- */

void vcpu_state_encode(const struct vcpu_saved_state *s, uint32_t id, struct vmstate_writer *w)
{
	vmstate_section_begin(w, VCPU_STATE_TAG, id);
	vmstate_put_blob(w, &s->mp_state, sizeof(s->mp_state));
	vmstate_put_blob(w, &s->regs, sizeof(s->regs));
	vmstate_put_blob(w, &s->sregs, sizeof(s->sregs));
	vmstate_put_bool(w, s->has_xsave);
	if (s->has_xsave)
		vmstate_put_blob(w, s->xsave, s->xsave_size);
	else
		vmstate_put_blob(w, &s->fpu, sizeof(s->fpu));
	vmstate_put_bool(w, s->has_xcrs);
	vmstate_put_blob(w, &s->xcrs, sizeof(s->xcrs));
	vmstate_put_blob(w, &s->debugregs, sizeof(s->debugregs));
	vmstate_put_blob(w, &s->lapic, sizeof(s->lapic));
	vmstate_put_blob(w, &s->events, sizeof(s->events));
	vmstate_put_u32(w, s->tsc_khz);
	vmstate_put_u32(w, s->cpuid->nent);
	vmstate_put_blob(w, s->cpuid->entries, s->cpuid->nent * sizeof(s->cpuid->entries[0]));
	vmstate_put_u32(w, s->msrs->nmsrs);
	vmstate_put_blob(w, s->msrs->entries, s->msrs->nmsrs * sizeof(s->msrs->entries[0]));
	vmstate_section_end(w);
}

static int decode_xsave(struct vmstate_reader *r, struct vcpu_saved_state *s)
{
	size_t len;
	const void *p = vmstate_get_blob_ref(r, &len);

	if (!p)
		return r->err;
	/* KVM_SET_XSAVE takes exactly struct kvm_xsave (XSAVE2 layouts are larger). */
	if (len != sizeof(*s->xsave))
		return -EINVAL;
	s->xsave = malloc(len);
	if (!s->xsave)
		return -ENOMEM;
	memcpy(s->xsave, p, len);
	s->xsave_size = len;
	return 0;
}

static int decode_cpuid(struct vmstate_reader *r, struct vcpu_saved_state *s)
{
	uint32_t nent = vmstate_get_u32(r);

	if (r->err)
		return r->err;
	if (nent > VCPU_STATE_MAX_CPUID)
		return -EINVAL;
	s->cpuid = calloc(1, sizeof(*s->cpuid) + nent * sizeof(s->cpuid->entries[0]));
	if (!s->cpuid)
		return -ENOMEM;
	s->cpuid->nent = nent;
	vmstate_get_blob(r, s->cpuid->entries, nent * sizeof(s->cpuid->entries[0]));
	return r->err;
}

static int decode_msrs(struct vmstate_reader *r, struct vcpu_saved_state *s)
{
	uint32_t nmsrs = vmstate_get_u32(r);

	if (r->err)
		return r->err;
	if (nmsrs > VCPU_STATE_MAX_MSRS)
		return -EINVAL;
	s->msrs = msrs_alloc(nmsrs);
	if (!s->msrs)
		return -ENOMEM;
	vmstate_get_blob(r, s->msrs->entries, nmsrs * sizeof(s->msrs->entries[0]));
	return r->err;
}

int vcpu_state_decode(struct vmstate_reader *r, struct vcpu_saved_state *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	vmstate_get_blob(r, &s->mp_state, sizeof(s->mp_state));
	vmstate_get_blob(r, &s->regs, sizeof(s->regs));
	vmstate_get_blob(r, &s->sregs, sizeof(s->sregs));
	s->has_xsave = vmstate_get_bool(r);
	if (r->err)
		return r->err;
	if (s->has_xsave) {
		ret = decode_xsave(r, s);
	} else {
		vmstate_get_blob(r, &s->fpu, sizeof(s->fpu));
		ret = r->err;
	}
	s->has_xcrs = vmstate_get_bool(r);
	vmstate_get_blob(r, &s->xcrs, sizeof(s->xcrs));
	vmstate_get_blob(r, &s->debugregs, sizeof(s->debugregs));
	vmstate_get_blob(r, &s->lapic, sizeof(s->lapic));
	vmstate_get_blob(r, &s->events, sizeof(s->events));
	s->tsc_khz = vmstate_get_u32(r);
	if (!ret)
		ret = decode_cpuid(r, s);
	if (!ret)
		ret = decode_msrs(r, s);
	if (!ret)
		ret = vmstate_reader_end(r);
	if (ret)
		vcpu_state_free(s);
	return ret;
}

/* ---- apply -------------------------------------------------------------------- */

static int set(struct vcpu *v, unsigned long req, const void *arg, const char *what, char *err,
	       size_t errlen)
{
	if (ioctl(v->fd, req, arg) == 0)
		return 0;
	snprintf(err, errlen, "vCPU %u: %s failed: %s", v->id, what, strerror(errno));
	return -errno;
}

/* Another host (or a different TSC): scale the guest TSC to the saved frequency. */
static void apply_tsc_khz(struct vcpu *v, uint32_t saved)
{
	int cur = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	uint64_t diff;

	if (!saved || cur <= 0)
		return;
	diff = saved > (uint32_t)cur ? saved - (uint32_t)cur : (uint32_t)cur - saved;
	if (diff * 1000000 <= (uint64_t)saved * TSC_KHZ_TOLERANCE_PPM)
		return;
	if (ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)saved) < 0)
		log_warn("vcpu %u: cannot scale the TSC from %d to %u kHz: %s", v->id, cur, saved,
			 strerror(errno));
}

static uint64_t saved_msr(const struct kvm_msrs *m, uint32_t index, bool *found)
{
	for (uint32_t i = 0; i < m->nmsrs; i++) {
		if (m->entries[i].index == index) {
			*found = true;
			return m->entries[i].data;
		}
	}
	*found = false;
	return 0;
}

/*
 * Firecracker's fix_zero_tsc_deadline_msr: a TSC_DEADLINE of 0 means "no
 * timer armed" to KVM, and a guest that armed it just before the snapshot
 * would wait forever. Arm it at the saved TSC instead: it fires at once,
 * which a guest takes as an early (harmless) timer interrupt.
 */
static void fix_zero_tsc_deadline(struct kvm_msrs *m)
{
	bool has_tsc;
	uint64_t tsc = saved_msr(m, MSR_IA32_TSC, &has_tsc);

	for (uint32_t i = 0; has_tsc && i < m->nmsrs; i++)
		if (m->entries[i].index == MSR_IA32_TSC_DEADLINE && m->entries[i].data == 0)
			m->entries[i].data = tsc;
}

/* All saved MSRs; one KVM refuses is logged and skipped (as on capture), not fatal. */
static int apply_msrs(struct vcpu *v, const struct kvm_msrs *saved, char *err, size_t errlen)
{
	struct kvm_msrs *m = msrs_alloc(saved->nmsrs), *chunk;
	uint32_t done = 0;
	int n = 0;

	if (!m)
		return -ENOMEM;
	memcpy(m->entries, saved->entries, saved->nmsrs * sizeof(m->entries[0]));
	fix_zero_tsc_deadline(m);
	while (done < m->nmsrs) {
		chunk = msrs_alloc(m->nmsrs - done);
		if (!chunk) {
			n = -ENOMEM;
			break;
		}
		memcpy(chunk->entries, m->entries + done, chunk->nmsrs * sizeof(m->entries[0]));
		n = ioctl(v->fd, KVM_SET_MSRS, chunk);
		free(chunk);
		if (n < 0) {
			n = -errno;
			snprintf(err, errlen, "vCPU %u: KVM_SET_MSRS failed: %s", v->id,
				 strerror(-n));
			break;
		}
		done += (uint32_t)n;
		if (done < m->nmsrs) {
			log_warn("vcpu %u: KVM refused MSR %#x (%#llx) on restore", v->id,
				 m->entries[done].index, (unsigned long long)m->entries[done].data);
			done++;
		}
	}
	free(m);
	return n < 0 ? n : 0;
}

int vcpu_state_apply(struct vcpu *v, const struct vcpu_saved_state *s, char *err, size_t errlen)
{
	int ret;

	apply_tsc_khz(v, s->tsc_khz);
	ret = set(v, KVM_SET_CPUID2, s->cpuid, "KVM_SET_CPUID2", err, errlen);
	if (!ret)
		ret = set(v, KVM_SET_MP_STATE, &s->mp_state, "KVM_SET_MP_STATE", err, errlen);
	if (!ret)
		ret = set(v, KVM_SET_REGS, &s->regs, "KVM_SET_REGS", err, errlen);
	if (!ret)
		ret = set(v, KVM_SET_SREGS, &s->sregs, "KVM_SET_SREGS", err, errlen);
	if (!ret && s->has_xsave)
		ret = set(v, KVM_SET_XSAVE, s->xsave, "KVM_SET_XSAVE", err, errlen);
	if (!ret && !s->has_xsave)
		ret = set(v, KVM_SET_FPU, &s->fpu, "KVM_SET_FPU", err, errlen);
	if (!ret && s->has_xcrs)
		ret = set(v, KVM_SET_XCRS, &s->xcrs, "KVM_SET_XCRS", err, errlen);
	if (!ret)
		ret = set(v, KVM_SET_DEBUGREGS, &s->debugregs, "KVM_SET_DEBUGREGS", err, errlen);
	if (!ret)
		ret = set(v, KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC", err, errlen);
	if (!ret)
		ret = apply_msrs(v, s->msrs, err, errlen);
	if (!ret)
		ret = set(v, KVM_SET_VCPU_EVENTS, &s->events, "KVM_SET_VCPU_EVENTS", err, errlen);
	return ret;
}
