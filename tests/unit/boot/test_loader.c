// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel and initrd loader: fake bzImages and ELF vmlinux images built here
 * byte by byte, loaded into real guest memory and compared byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/mem/guest_mem.h"
#include "vmm/mem/layout.h"
#include "vmm/boot/loader.h"

#define RAM_128M (128 * MIB)

/* ---- byte helpers ------------------------------------------------------- */

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = v & 0xff;
	p[off + 1] = v >> 8;
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[off + i] = (v >> (8 * i)) & 0xff;
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[off + i] = (v >> (8 * i)) & 0xff;
}

static int fd_from_bytes(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int fd = memfd_create("fixture", MFD_CLOEXEC);

	assert_true(fd >= 0);
	while (len) {
		ssize_t n = write(fd, p, len);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
	return fd;
}

static uint8_t *guest(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_translate(mem, gpa, len);

	assert_non_null(p);
	return p;
}

/* ---- bzImage fixture ---------------------------------------------------- */

struct bz_opts {
	uint8_t setup_sects; /* as stored; 0 means 4 */
	uint8_t jump;	     /* header ends at 0x202 + jump */
	uint16_t version;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint32_t code32_start;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t pm_size; /* protected-mode kernel bytes */
	uint32_t syssize; /* 0: pm_size / 16 */
};

static const struct bz_opts bz_default = {
    .setup_sects = 4,
    .jump = 0x6a, /* header to 0x26c, protocol 2.15 */
    .version = 0x020f,
    .xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
    .relocatable = 1,
    .code32_start = 0x100000,
    .initrd_addr_max = 0x7fffffff,
    .kernel_alignment = 0x200000,
    .pref_address = 0x1000000,
    .init_size = 0x800000,
    .pm_size = 8192,
};

static uint8_t pm_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static size_t bz_setup_size(const struct bz_opts *o)
{
	return ((o->setup_sects ? o->setup_sects : 4) + 1) * 512;
}

/* Setup code is filled with 0x5a so a wrong load offset shows. */
static uint8_t *build_bzimage(const struct bz_opts *o, size_t *len)
{
	size_t setup = bz_setup_size(o);
	uint8_t *img = malloc(setup + o->pm_size);

	assert_non_null(img);
	memset(img, 0x5a, setup);
	memset(img + 0x1f1, 0, 0x80);
	img[0x1f1] = o->setup_sects;
	put32(img, 0x1f4, o->syssize ? o->syssize : o->pm_size / 16);
	put16(img, 0x1fa, 0xffff); /* vid_mode NORMAL_VGA */
	put16(img, 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = o->jump;
	memcpy(img + 0x202, "HdrS", 4);
	put16(img, 0x206, o->version);
	put16(img, 0x20e, 0x1234); /* kernel_version */
	img[0x211] = LOADED_HIGH;
	put32(img, 0x214, o->code32_start);
	put32(img, 0x22c, o->initrd_addr_max);
	put32(img, 0x230, o->kernel_alignment);
	img[0x234] = o->relocatable;
	img[0x235] = 21; /* min_alignment */
	put16(img, 0x236, o->xloadflags);
	put32(img, 0x238, 2047);   /* cmdline_size */
	put32(img, 0x248, 0x3c0);  /* payload_offset */
	put32(img, 0x24c, 0x1000); /* payload_length */
	put64(img, 0x258, o->pref_address);
	put32(img, 0x260, o->init_size);
	put32(img, 0x268, 0x7777); /* kernel_info_offset */
	for (size_t i = 0; i < o->pm_size; i++)
		img[setup + i] = pm_byte(i);
	*len = setup + o->pm_size;
	return img;
}

/* Load @img into fresh RAM of @ram bytes; returns the loader's result. */
static int load_image(struct guest_mem *mem, uint64_t ram, const uint8_t *img, size_t len,
		      struct kernel_info *ki, char *err, size_t errlen)
{
	int fd, ret;

	assert_int_equal(guest_mem_create(mem, ram), 0);
	fd = fd_from_bytes(img, len);
	ret = loader_load_kernel(mem, fd, ki, err, errlen);
	close(fd);
	return ret;
}

static int load_bz(const struct bz_opts *o, uint64_t ram, struct guest_mem *mem,
		   struct kernel_info *ki, char *err, size_t errlen)
{
	size_t len;
	uint8_t *img = build_bzimage(o, &len);
	int ret = load_image(mem, ram, img, len, ki, err, errlen);

	free(img);
	return ret;
}

static void test_bzimage_loads_at_1mib(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	uint8_t *p;

	(void)state;
	assert_int_equal(load_bz(&bz_default, RAM_128M, &mem, &ki, err, sizeof(err)), 0);
	assert_int_equal(ki.format, KERNEL_FORMAT_BZIMAGE);
	assert_int_equal(ki.entry, 0x100200);
	assert_int_equal(ki.load_addr, 0x100000);
	assert_int_equal(ki.load_end, 0x100000 + 8192);
	/* Relocatable: runs at max(align_up(1 MiB, 2 MiB), pref 16 MiB) for init_size. */
	assert_int_equal(ki.kernel_end, 0x1000000 + 0x800000);
	assert_false(ki.has_pvh_entry);

	p = guest(&mem, 0x100000, 8192 + 16);
	for (size_t i = 0; i < 8192; i++)
		assert_int_equal(p[i], pm_byte(i));
	for (size_t i = 8192; i < 8192 + 16; i++)
		assert_int_equal(p[i], 0);
	/* Nothing of the setup code (0x5a) below 1 MiB either. */
	assert_int_equal(*guest(&mem, 0x100000 - 1, 1), 0);
	guest_mem_destroy(&mem);
}

static void test_bzimage_header_copied(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	const uint8_t *h = (const uint8_t *)&ki.hdr;

	(void)state;
	assert_int_equal(load_bz(&bz_default, RAM_128M, &mem, &ki, err, sizeof(err)), 0);
	/* Byte offsets relative to 0x1f1, as in boot.rst. */
	assert_int_equal(h[0x1f1 - 0x1f1], 4);
	assert_int_equal(h[0x1fe - 0x1f1], 0x55);
	assert_int_equal(h[0x1ff - 0x1f1], 0xaa);
	assert_memory_equal(h + 0x202 - 0x1f1, "HdrS", 4);
	assert_int_equal(ki.hdr.syssize, 512);
	assert_int_equal(ki.hdr.vid_mode, 0xffff);
	assert_int_equal(ki.hdr.version, 0x020f);
	assert_int_equal(ki.hdr.kernel_version, 0x1234);
	assert_int_equal(ki.hdr.code32_start, 0x100000);
	assert_int_equal(ki.hdr.initrd_addr_max, 0x7fffffff);
	assert_int_equal(ki.hdr.kernel_alignment, 0x200000);
	assert_int_equal(ki.hdr.relocatable_kernel, 1);
	assert_int_equal(ki.hdr.min_alignment, 21);
	assert_int_equal(ki.hdr.xloadflags, 3);
	assert_int_equal(ki.hdr.cmdline_size, 2047);
	assert_int_equal(ki.hdr.payload_offset, 0x3c0);
	assert_int_equal(ki.hdr.pref_address, 0x1000000);
	assert_int_equal(ki.hdr.init_size, 0x800000);
	assert_int_equal(ki.hdr.kernel_info_offset, 0x7777);
	guest_mem_destroy(&mem);
}

/* Fields past 0x202 + jump are not part of this kernel's header. */
static void test_bzimage_header_extent(void **state)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";

	(void)state;
	o.jump = 0x66; /* ends at 0x268: kernel_info_offset excluded */
	assert_int_equal(load_bz(&o, RAM_128M, &mem, &ki, err, sizeof(err)), 0);
	assert_int_equal(ki.hdr.init_size, 0x800000);
	assert_int_equal(ki.hdr.kernel_info_offset, 0);
	guest_mem_destroy(&mem);
}

static void test_bzimage_setup_sects_zero_means_4(void **state)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	uint8_t *p;

	(void)state;
	o.setup_sects = 0;
	assert_int_equal(load_bz(&o, RAM_128M, &mem, &ki, err, sizeof(err)), 0);
	p = guest(&mem, 0x100000, 8192);
	for (size_t i = 0; i < 8192; i++)
		assert_int_equal(p[i], pm_byte(i));
	guest_mem_destroy(&mem);
}

static void test_bzimage_non_relocatable_uses_code32_start(void **state)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";

	(void)state;
	o.relocatable = 0;
	o.code32_start = 0x200000;
	assert_int_equal(load_bz(&o, RAM_128M, &mem, &ki, err, sizeof(err)), 0);
	assert_int_equal(ki.load_addr, 0x200000);
	assert_int_equal(ki.entry, 0x200200);
	assert_int_equal(*guest(&mem, 0x200000, 1), pm_byte(0));
	assert_int_equal(*guest(&mem, 0x100000, 1), 0);
	/* Non-relocatable runs at pref_address. */
	assert_int_equal(ki.kernel_end, 0x1000000 + 0x800000);
	guest_mem_destroy(&mem);

	o.code32_start = 0x10000;
	assert_int_equal(load_bz(&o, RAM_128M, &mem, &ki, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "below 1 MiB"));
	guest_mem_destroy(&mem);
}

static void test_bzimage_old_protocol(void **state)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";

	(void)state;
	o.version = 0x0205;
	assert_int_equal(load_bz(&o, RAM_128M, &mem, &ki, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "2.05"));
	assert_non_null(strstr(err, "2.06"));
	/* Nothing loaded. */
	assert_int_equal(*guest(&mem, 0x100000, 1), 0);
	guest_mem_destroy(&mem);

	o.version = 0x0206;
	assert_int_equal(load_bz(&o, RAM_128M, &mem, &ki, err, sizeof(err)), 0);
	guest_mem_destroy(&mem);
}

static void test_bzimage_not_64bit(void **state)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";

	(void)state;
	o.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	assert_int_equal(load_bz(&o, RAM_128M, &mem, &ki, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "XLF_KERNEL_64"));
	guest_mem_destroy(&mem);
}

static void test_bzimage_bad_alignment(void **state)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";

	(void)state;
	o.kernel_alignment = 0x300000;
	assert_int_equal(load_bz(&o, RAM_128M, &mem, &ki, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "kernel_alignment"));
	guest_mem_destroy(&mem);
}

static void test_bzimage_truncated(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	size_t len;
	uint8_t *img = build_bzimage(&bz_default, &len);

	(void)state;
	/* Cut inside the protected-mode kernel: syssize says more. */
	assert_int_equal(load_image(&mem, RAM_128M, img, len - 16, &ki, err, sizeof(err)),
			 -ENOEXEC);
	assert_non_null(strstr(err, "truncated"));
	guest_mem_destroy(&mem);

	/* Only the setup code and a bit: no 64-bit entry. */
	assert_int_equal(load_image(&mem, RAM_128M, img, 2560 + 0x100, &ki, err, sizeof(err)),
			 -ENOEXEC);
	assert_non_null(strstr(err, "truncated"));
	guest_mem_destroy(&mem);

	/* Cut before the magic: not recognisable at all. */
	assert_int_equal(load_image(&mem, RAM_128M, img, 0x204, &ki, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "neither ELF nor bzImage"));
	guest_mem_destroy(&mem);

	/* Empty file. */
	assert_int_equal(load_image(&mem, RAM_128M, img, 0, &ki, err, sizeof(err)), -ENOEXEC);
	guest_mem_destroy(&mem);
	free(img);
}

static void test_bad_magic(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	size_t len;
	uint8_t *img = build_bzimage(&bz_default, &len);

	(void)state;
	memcpy(img + 0x202, "HdrZ", 4);
	assert_int_equal(load_image(&mem, RAM_128M, img, len, &ki, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "neither ELF nor bzImage"));
	guest_mem_destroy(&mem);
	free(img);
}

static void test_bzimage_does_not_fit(void **state)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";

	(void)state;
	/* 16 MiB of RAM: the kernel runs at 16 MiB and needs 8 MiB there. */
	assert_int_equal(load_bz(&o, 16 * MIB, &mem, &ki, err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "init_size"));
	guest_mem_destroy(&mem);

	/* 1 MiB of RAM: not even the image fits. */
	assert_int_equal(load_bz(&o, 1 * MIB, &mem, &ki, err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "does not fit"));
	guest_mem_destroy(&mem);
}

static void test_not_regular_file(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	int fds[2];

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_128M), 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(loader_load_kernel(&mem, fds[0], &ki, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	close(fds[0]);
	close(fds[1]);
	guest_mem_destroy(&mem);
}

/* ---- ELF fixture -------------------------------------------------------- */

#define ELF_SEG0_OFF	0x1000
#define ELF_SEG0_ADDR	0x1000000ULL
#define ELF_SEG0_FILESZ 0x2000
#define ELF_SEG0_MEMSZ	0x3000
#define ELF_SEG1_OFF	0x3000
#define ELF_SEG1_ADDR	0x1400000ULL
#define ELF_SEG1_SZ	0x800
#define ELF_NOTE_OFF	0x200
#define ELF_FILE_SIZE	0x3800
#define ELF_PVH_ENTRY	0x1000123

static uint8_t elf_byte(size_t i)
{
	return (uint8_t)(i * 13 + 1);
}

static size_t put_note(uint8_t *p, size_t off, const char *name, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;

	put32(p, off, namesz);
	put32(p, off + 4, descsz);
	put32(p, off + 8, type);
	off += 12;
	memcpy(p + off, name, namesz);
	off += (namesz + 3) & ~3U;
	memcpy(p + off, desc, descsz);
	return off + ((descsz + 3) & ~3U);
}

static void put_phdr(uint8_t *img, unsigned int i, uint32_t type, uint64_t off, uint64_t addr,
		     uint64_t filesz, uint64_t memsz)
{
	size_t ph = 64 + i * 56;

	put32(img, ph + 0, type);
	put32(img, ph + 4, PF_R | PF_X);
	put64(img, ph + 8, off);
	put64(img, ph + 16, addr | 0xffffffff80000000ULL); /* p_vaddr: kernel map */
	put64(img, ph + 24, addr);
	put64(img, ph + 32, filesz);
	put64(img, ph + 40, memsz);
	put64(img, ph + 48, 0x200000);
}

/* Two PT_LOADs (one with bss) and a PT_NOTE holding a GNU note and the PVH note. */
static uint8_t *build_elf(size_t *len)
{
	uint8_t *img = calloc(1, ELF_FILE_SIZE);
	uint8_t build_id[20];
	uint64_t pvh = ELF_PVH_ENTRY;
	size_t note_end;

	assert_non_null(img);
	memcpy(img, ELFMAG, SELFMAG);
	img[EI_CLASS] = ELFCLASS64;
	img[EI_DATA] = ELFDATA2LSB;
	img[EI_VERSION] = EV_CURRENT;
	put16(img, 16, ET_EXEC);
	put16(img, 18, EM_X86_64);
	put32(img, 20, EV_CURRENT);
	put64(img, 24, ELF_SEG0_ADDR); /* e_entry: physical startup_64 */
	put64(img, 32, 64);	       /* e_phoff */
	put16(img, 52, 64);	       /* e_ehsize */
	put16(img, 54, 56);	       /* e_phentsize */
	put16(img, 56, 3);	       /* e_phnum */

	memset(build_id, 0xab, sizeof(build_id));
	note_end = put_note(img, ELF_NOTE_OFF, "GNU", NT_GNU_BUILD_ID, build_id, 20);
	note_end = put_note(img, note_end, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &pvh, 8);

	put_phdr(img, 0, PT_LOAD, ELF_SEG0_OFF, ELF_SEG0_ADDR, ELF_SEG0_FILESZ, ELF_SEG0_MEMSZ);
	put_phdr(img, 1, PT_NOTE, ELF_NOTE_OFF, 0, note_end - ELF_NOTE_OFF,
		 note_end - ELF_NOTE_OFF);
	put64(img, 64 + 56 + 48, 4); /* p_align of the notes, as in vmlinux */
	put_phdr(img, 2, PT_LOAD, ELF_SEG1_OFF, ELF_SEG1_ADDR, ELF_SEG1_SZ, ELF_SEG1_SZ);
	for (size_t i = ELF_SEG0_OFF; i < ELF_FILE_SIZE; i++)
		img[i] = elf_byte(i);
	*len = ELF_FILE_SIZE;
	return img;
}

static void test_elf_loads_segments(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	size_t len;
	uint8_t *img = build_elf(&len);
	uint8_t *p;
	int fd;

	(void)state;
	assert_int_equal(guest_mem_create(&mem, RAM_128M), 0);
	/* Stale bytes where the bss goes: the loader must zero them. */
	memset(guest(&mem, ELF_SEG0_ADDR, ELF_SEG0_MEMSZ), 0xcc, ELF_SEG0_MEMSZ);
	fd = fd_from_bytes(img, len);
	assert_int_equal(loader_load_kernel(&mem, fd, &ki, err, sizeof(err)), 0);
	close(fd);

	assert_int_equal(ki.format, KERNEL_FORMAT_ELF);
	assert_int_equal(ki.entry, ELF_SEG0_ADDR);
	assert_int_equal(ki.load_addr, ELF_SEG0_ADDR);
	assert_int_equal(ki.load_end, ELF_SEG1_ADDR + ELF_SEG1_SZ);
	assert_int_equal(ki.kernel_end, ELF_SEG1_ADDR + ELF_SEG1_SZ);
	assert_true(ki.has_pvh_entry);
	assert_int_equal(ki.pvh_entry, ELF_PVH_ENTRY);

	p = guest(&mem, ELF_SEG0_ADDR, ELF_SEG0_MEMSZ);
	for (size_t i = 0; i < ELF_SEG0_FILESZ; i++)
		assert_int_equal(p[i], elf_byte(ELF_SEG0_OFF + i));
	for (size_t i = ELF_SEG0_FILESZ; i < ELF_SEG0_MEMSZ; i++)
		assert_int_equal(p[i], 0);
	p = guest(&mem, ELF_SEG1_ADDR, ELF_SEG1_SZ + 1);
	for (size_t i = 0; i < ELF_SEG1_SZ; i++)
		assert_int_equal(p[i], elf_byte(ELF_SEG1_OFF + i));
	assert_int_equal(p[ELF_SEG1_SZ], 0);
	guest_mem_destroy(&mem);
	free(img);
}

/* Mutate a good ELF with @mutate and expect @ret and @msg. */
static void expect_elf_error(void (*mutate)(uint8_t *img), uint64_t ram, int ret, const char *msg)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	size_t len;
	uint8_t *img = build_elf(&len);

	mutate(img);
	assert_int_equal(load_image(&mem, ram, img, len, &ki, err, sizeof(err)), ret);
	if (!strstr(err, msg))
		fail_msg("error \"%s\" lacks \"%s\"", err, msg);
	/* Validation precedes loading: nothing was written. */
	assert_int_equal(*guest(&mem, ELF_SEG0_ADDR, 1), 0);
	guest_mem_destroy(&mem);
	free(img);
}

static void mut_class32(uint8_t *img)
{
	img[EI_CLASS] = ELFCLASS32;
}

static void mut_big_endian(uint8_t *img)
{
	img[EI_DATA] = ELFDATA2MSB;
}

static void mut_machine(uint8_t *img)
{
	put16(img, 18, EM_AARCH64);
}

static void mut_dyn(uint8_t *img)
{
	put16(img, 16, ET_DYN);
}

static void mut_phentsize(uint8_t *img)
{
	put16(img, 54, 32);
}

static void mut_phoff_past_end(uint8_t *img)
{
	put64(img, 32, ELF_FILE_SIZE - 56);
}

static void mut_phoff_huge(uint8_t *img)
{
	put64(img, 32, UINT64_MAX - 8);
}

static void mut_below_1mib(uint8_t *img)
{
	put64(img, 64 + 24, 0x90000);
}

static void mut_outside_ram(uint8_t *img)
{
	put64(img, 64 + 24, 0x10000000); /* 256 MiB, RAM is 128 MiB */
	put64(img, 24, 0x10000000);
}

static void mut_wraps_address_space(uint8_t *img)
{
	put64(img, 64 + 24, UINT64_MAX - 0xfff);
}

static void mut_offset_overflow(uint8_t *img)
{
	put64(img, 64 + 8, UINT64_MAX - 0xff); /* p_offset + p_filesz wraps */
}

static void mut_filesz_past_end(uint8_t *img)
{
	put64(img, 64 + 32, ELF_FILE_SIZE); /* from 0x1000, file is 0x3800 */
	put64(img, 64 + 40, ELF_FILE_SIZE);
}

static void mut_filesz_gt_memsz(uint8_t *img)
{
	put64(img, 64 + 40, ELF_SEG0_FILESZ - 1);
}

static void mut_entry_outside(uint8_t *img)
{
	put64(img, 24, 0x2000000);
}

static void mut_no_load(uint8_t *img)
{
	put32(img, 64, PT_NULL);
	put32(img, 64 + 2 * 56, PT_NULL);
}

static void test_elf_errors(void **state)
{
	(void)state;
	expect_elf_error(mut_class32, RAM_128M, -ENOEXEC, "not 64-bit");
	expect_elf_error(mut_big_endian, RAM_128M, -ENOEXEC, "little-endian");
	expect_elf_error(mut_machine, RAM_128M, -ENOEXEC, "not x86-64");
	expect_elf_error(mut_dyn, RAM_128M, -ENOEXEC, "not an executable");
	expect_elf_error(mut_phentsize, RAM_128M, -ENOEXEC, "program header entries");
	expect_elf_error(mut_phoff_past_end, RAM_128M, -ENOEXEC, "beyond the end");
	expect_elf_error(mut_phoff_huge, RAM_128M, -ENOEXEC, "beyond the end");
	expect_elf_error(mut_below_1mib, RAM_128M, -ENOEXEC, "below 1 MiB");
	expect_elf_error(mut_outside_ram, RAM_128M, -ENOMEM, "outside guest RAM");
	expect_elf_error(mut_wraps_address_space, RAM_128M, -ENOMEM, "outside guest RAM");
	expect_elf_error(mut_offset_overflow, RAM_128M, -ENOEXEC, "beyond the end");
	expect_elf_error(mut_filesz_past_end, RAM_128M, -ENOEXEC, "beyond the end");
	expect_elf_error(mut_filesz_gt_memsz, RAM_128M, -ENOEXEC, "exceeds memory size");
	expect_elf_error(mut_entry_outside, RAM_128M, -ENOEXEC, "entry point");
	expect_elf_error(mut_no_load, RAM_128M, -ENOEXEC, "no PT_LOAD");
}

static void test_elf_does_not_fit(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	size_t len;
	uint8_t *img = build_elf(&len);

	(void)state;
	/* 16 MiB of RAM ends exactly where segment 0 starts. */
	assert_int_equal(load_image(&mem, 16 * MIB, img, len, &ki, err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "segment 0"));
	guest_mem_destroy(&mem);
	free(img);
}

static void test_elf_truncated(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	size_t len;
	uint8_t *img = build_elf(&len);

	(void)state;
	assert_int_equal(load_image(&mem, RAM_128M, img, 40, &ki, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "truncated"));
	guest_mem_destroy(&mem);

	/* Program headers present, segment 1's bytes cut off. */
	assert_int_equal(load_image(&mem, RAM_128M, img, 0x3400, &ki, err, sizeof(err)), -ENOEXEC);
	assert_non_null(strstr(err, "segment 2"));
	guest_mem_destroy(&mem);
	free(img);
}

/* ---- PVH entry note ---------------------------------------------------- */

#define ELF_PVH_DESC_OFF (ELF_NOTE_OFF + 36 + 16) /* after the GNU note, header, "Xen" */
#define ELF_NOTE_PHDR	 (64 + 56)

static void test_elf_without_note_boots_linux64(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	size_t len;
	uint8_t *img = build_elf(&len);

	(void)state;
	put32(img, ELF_NOTE_PHDR, PT_NULL); /* no PT_NOTE at all */
	assert_int_equal(load_image(&mem, RAM_128M, img, len, &ki, err, sizeof(err)), 0);
	assert_false(ki.has_pvh_entry);
	assert_int_equal(ki.entry, ELF_SEG0_ADDR);
	guest_mem_destroy(&mem);

	/* An empty PT_NOTE, as ld emits for a PHDRS note with no note sections. */
	put32(img, ELF_NOTE_PHDR, PT_NOTE);
	put64(img, ELF_NOTE_PHDR + 32, 0);
	assert_int_equal(load_image(&mem, RAM_128M, img, len, &ki, err, sizeof(err)), 0);
	assert_false(ki.has_pvh_entry);
	guest_mem_destroy(&mem);

	free(img);
	img = build_elf(&len);
	put32(img, ELF_PVH_DESC_OFF - 8, 17); /* the PVH note, retyped: another Xen note */
	assert_int_equal(load_image(&mem, RAM_128M, img, len, &ki, err, sizeof(err)), 0);
	assert_false(ki.has_pvh_entry);
	guest_mem_destroy(&mem);
	free(img);
}

static void mut_note_namesz_huge(uint8_t *img)
{
	put32(img, ELF_NOTE_OFF, 0xfffffff0); /* namesz far beyond the segment */
}

static void mut_note_truncated(uint8_t *img)
{
	put64(img, ELF_NOTE_PHDR + 32, 36 + 20); /* segment ends inside the PVH note */
}

static void mut_note_desc_size(uint8_t *img)
{
	put32(img, ELF_PVH_DESC_OFF - 12, 2); /* descsz 2: too small for an address */
}

static void mut_note_past_file(uint8_t *img)
{
	put64(img, ELF_NOTE_PHDR + 8, ELF_FILE_SIZE - 16);
}

static void mut_note_offset_wraps(uint8_t *img)
{
	put64(img, ELF_NOTE_PHDR + 8, UINT64_MAX - 8);
}

static void mut_note_too_big(uint8_t *img)
{
	put64(img, ELF_NOTE_PHDR + 32, 64 * 1024 + 4); /* refused before the file's size */
}

static void mut_note_align(uint8_t *img)
{
	put64(img, ELF_NOTE_PHDR + 48, 32);
}

static void mut_pvh_entry_in_bss(uint8_t *img)
{
	put32(img, ELF_PVH_DESC_OFF, ELF_SEG0_ADDR + ELF_SEG0_FILESZ + 0x10);
}

static void mut_pvh_entry_outside(uint8_t *img)
{
	put32(img, ELF_PVH_DESC_OFF, 0x2000000);
}

static void mut_pvh_entry_zero(uint8_t *img)
{
	put64(img, ELF_PVH_DESC_OFF, 0);
}

static void mut_pvh_entry_64bit(uint8_t *img)
{
	put64(img, ELF_PVH_DESC_OFF, 0x100000000ULL | ELF_PVH_ENTRY);
}

/* Segment 2 retyped as a second PT_NOTE over the same notes: two PVH notes. */
static void mut_two_note_segments(uint8_t *img)
{
	memcpy(img + 64 + 2 * 56, img + ELF_NOTE_PHDR, 56);
}

/* Malformed notes are errors, as in Firecracker, and found before anything is loaded. */
static void test_elf_pvh_note_errors(void **state)
{
	(void)state;
	expect_elf_error(mut_note_namesz_huge, RAM_128M, -ENOEXEC, "run past the end");
	expect_elf_error(mut_note_truncated, RAM_128M, -ENOEXEC, "run past the end");
	expect_elf_error(mut_note_desc_size, RAM_128M, -ENOEXEC, "2-byte descriptor");
	expect_elf_error(mut_note_past_file, RAM_128M, -ENOEXEC, "note segment 1");
	expect_elf_error(mut_note_offset_wraps, RAM_128M, -ENOEXEC, "beyond the end");
	expect_elf_error(mut_note_too_big, RAM_128M, -ENOEXEC, "more than the 65536");
	expect_elf_error(mut_note_align, RAM_128M, -ENOEXEC, "alignment 32");
	expect_elf_error(mut_pvh_entry_in_bss, RAM_128M, -ENOEXEC, "PVH entry point 0x1002010");
	expect_elf_error(mut_pvh_entry_outside, RAM_128M, -ENOEXEC, "not inside the bytes");
	expect_elf_error(mut_pvh_entry_zero, RAM_128M, -ENOEXEC, "PVH entry point 0 ");
	expect_elf_error(mut_pvh_entry_64bit, RAM_128M, -ENOEXEC, "not a 32-bit address");
	expect_elf_error(mut_two_note_segments, RAM_128M, -ENOEXEC, "more than one PVH");
}

/* A bzImage never boots through PVH: it has no ELF notes to carry the entry. */
static void test_bzimage_has_no_pvh_entry(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";

	(void)state;
	assert_int_equal(load_bz(&bz_default, RAM_128M, &mem, &ki, err, sizeof(err)), 0);
	assert_false(ki.has_pvh_entry);
	guest_mem_destroy(&mem);
}

/* ---- initrd ------------------------------------------------------------- */

static uint8_t initrd_byte(size_t i)
{
	return (uint8_t)(i * 31 + 5);
}

static int load_initrd_bytes(const struct guest_mem *mem, const struct kernel_info *ki, size_t size,
			     uint64_t *addr, uint64_t *len, char *err, size_t errlen)
{
	uint8_t *buf = malloc(size ? size : 1);
	int fd, ret;

	assert_non_null(buf);
	for (size_t i = 0; i < size; i++)
		buf[i] = initrd_byte(i);
	fd = fd_from_bytes(buf, size);
	ret = loader_load_initrd(mem, fd, ki, addr, len, err, errlen);
	close(fd);
	free(buf);
	return ret;
}

static void check_initrd_bytes(const struct guest_mem *mem, uint64_t addr, size_t size)
{
	const uint8_t *p = guest(mem, addr, size);

	for (size_t i = 0; i < size; i++)
		assert_int_equal(p[i], initrd_byte(i));
}

static void test_initrd_top_of_low_ram(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	uint64_t addr = 0, size = 0;

	(void)state;
	assert_int_equal(load_bz(&bz_default, RAM_128M, &mem, &ki, err, sizeof(err)), 0);
	assert_int_equal(load_initrd_bytes(&mem, &ki, 10000, &addr, &size, err, sizeof(err)), 0);
	assert_int_equal(size, 10000);
	assert_int_equal(addr, (RAM_128M - 10000) & ~0xfffULL);
	assert_int_equal(addr % 4096, 0);
	check_initrd_bytes(&mem, addr, 10000);
	guest_mem_destroy(&mem);
}

static void test_initrd_respects_initrd_addr_max(void **state)
{
	struct bz_opts o = bz_default;
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	uint64_t addr = 0, size = 0;

	(void)state;
	o.initrd_addr_max = 0x4ffffff; /* initrd must end at or below 80 MiB */
	assert_int_equal(load_bz(&o, RAM_128M, &mem, &ki, err, sizeof(err)), 0);
	assert_int_equal(load_initrd_bytes(&mem, &ki, 4096, &addr, &size, err, sizeof(err)), 0);
	assert_int_equal(addr, 0x5000000 - 4096);
	check_initrd_bytes(&mem, addr, 4096);
	guest_mem_destroy(&mem);
}

/* ELF: below the end of low RAM, i.e. below the MMIO hole when RAM is larger. */
static void test_initrd_elf_large_ram(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	size_t len;
	uint8_t *img = build_elf(&len);
	uint64_t addr = 0, size = 0;

	(void)state;
	assert_int_equal(load_image(&mem, LAYOUT_4G + 512 * MIB, img, len, &ki, err, sizeof(err)),
			 0);
	assert_int_equal(load_initrd_bytes(&mem, &ki, 5000, &addr, &size, err, sizeof(err)), 0);
	assert_int_equal(addr, (LAYOUT_MMIO_START - 5000) & ~0xfffULL);
	check_initrd_bytes(&mem, addr, 5000);
	guest_mem_destroy(&mem);
	free(img);
}

static void test_initrd_errors(void **state)
{
	struct guest_mem mem;
	struct kernel_info ki;
	char err[256] = "";
	uint64_t addr = 0, size = 0;

	(void)state;
	assert_int_equal(load_bz(&bz_default, 32 * MIB, &mem, &ki, err, sizeof(err)), 0);
	/* Kernel claims up to 24 MiB: 8 MiB + 1 page do not fit above it. */
	assert_int_equal(
	    load_initrd_bytes(&mem, &ki, 8 * MIB + 4096, &addr, &size, err, sizeof(err)), -ENOMEM);
	assert_non_null(strstr(err, "does not fit"));
	/* Exactly 8 MiB does. */
	assert_int_equal(load_initrd_bytes(&mem, &ki, 8 * MIB, &addr, &size, err, sizeof(err)), 0);
	assert_int_equal(addr, 24 * MIB);
	/* Empty. */
	assert_int_equal(load_initrd_bytes(&mem, &ki, 0, &addr, &size, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bzimage_loads_at_1mib),
	    cmocka_unit_test(test_bzimage_header_copied),
	    cmocka_unit_test(test_bzimage_header_extent),
	    cmocka_unit_test(test_bzimage_setup_sects_zero_means_4),
	    cmocka_unit_test(test_bzimage_non_relocatable_uses_code32_start),
	    cmocka_unit_test(test_bzimage_old_protocol),
	    cmocka_unit_test(test_bzimage_not_64bit),
	    cmocka_unit_test(test_bzimage_bad_alignment),
	    cmocka_unit_test(test_bzimage_truncated),
	    cmocka_unit_test(test_bad_magic),
	    cmocka_unit_test(test_bzimage_does_not_fit),
	    cmocka_unit_test(test_not_regular_file),
	    cmocka_unit_test(test_elf_loads_segments),
	    cmocka_unit_test(test_elf_errors),
	    cmocka_unit_test(test_elf_does_not_fit),
	    cmocka_unit_test(test_elf_truncated),
	    cmocka_unit_test(test_elf_without_note_boots_linux64),
	    cmocka_unit_test(test_elf_pvh_note_errors),
	    cmocka_unit_test(test_bzimage_has_no_pvh_entry),
	    cmocka_unit_test(test_initrd_top_of_low_ram),
	    cmocka_unit_test(test_initrd_respects_initrd_addr_max),
	    cmocka_unit_test(test_initrd_elf_large_ram),
	    cmocka_unit_test(test_initrd_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
