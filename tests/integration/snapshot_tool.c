// SPDX-License-Identifier: Apache-2.0
/*
 * Helper for test_snapshot.sh and the snapshot benchmark:
 *
 *   snapshot_tool merge BASE DIFF
 *	copy every data extent of the sparse Diff memory file DIFF onto BASE at
 *	the same offsets (what Firecracker's rebase-snap does): BASE becomes
 *	the full memory of the Diff snapshot.
 *   snapshot_tool set-version STATE MAJOR MINOR PATCH
 *	rewrite the format version of a vmstate file and recompute its CRC,
 *	to produce a well-formed file of another version.
 *   snapshot_tool poke STATE TAG OFFSET BYTE
 *	set byte OFFSET of the payload of the first section tagged TAG (four
 *	characters) to BYTE and recompute the CRC: a well-formed file whose
 *	section says something else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/base/crc64.h"
#include "vmm/base/vmstate.h"

static int copy_range(int in, int out, off_t start, off_t end)
{
	static char buf[1 << 20];

	while (start < end) {
		size_t want =
		    (size_t)(end - start) < sizeof(buf) ? (size_t)(end - start) : sizeof(buf);
		ssize_t n = pread(in, buf, want, start);

		if (n <= 0 || pwrite(out, buf, (size_t)n, start) != n)
			return -1;
		start += n;
	}
	return 0;
}

static int merge(const char *base, const char *diff)
{
	int out = open(base, O_WRONLY), in = open(diff, O_RDONLY);
	struct stat sb, sd;
	off_t data = 0, hole, copied = 0;

	if (in < 0 || out < 0 || fstat(in, &sd) || fstat(out, &sb)) {
		perror("merge: open");
		return 1;
	}
	if (sb.st_size != sd.st_size) {
		fprintf(stderr, "merge: %s is %lld bytes, %s %lld\n", base, (long long)sb.st_size,
			diff, (long long)sd.st_size);
		return 1;
	}
	while ((data = lseek(in, data, SEEK_DATA)) >= 0) {
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || copy_range(in, out, data, hole)) {
			perror("merge: copy");
			return 1;
		}
		copied += hole - data;
		data = hole;
	}
	if (errno != ENXIO || fsync(out)) {
		perror("merge: seek");
		return 1;
	}
	printf("merged %lld bytes\n", (long long)copied);
	return 0;
}

/* The whole vmstate file at @path (at least a header and a CRC), or NULL. */
static uint8_t *read_state(const char *path, FILE **f, size_t *len)
{
	uint8_t *data;
	long n;

	*f = fopen(path, "r+b");
	if (!*f || fseek(*f, 0, SEEK_END) || (n = ftell(*f)) < VMSTATE_HEADER_SIZE + 8) {
		fprintf(stderr, "snapshot_tool: cannot use %s\n", path);
		return NULL;
	}
	data = malloc((size_t)n);
	rewind(*f);
	if (!data || fread(data, 1, (size_t)n, *f) != (size_t)n)
		return NULL;
	*len = (size_t)n;
	return data;
}

/* Seal the CRC and write the file back. */
static int write_state(FILE *f, uint8_t *data, size_t len)
{
	uint64_t crc = crc64(0, data, len - 8);

	for (int i = 0; i < 8; i++)
		data[len - 8 + i] = (uint8_t)(crc >> (8 * i));
	rewind(f);
	if (fwrite(data, 1, len, f) != len || fclose(f))
		return 1;
	free(data);
	return 0;
}

static int set_version(const char *path, int argc, char **argv)
{
	size_t len;
	FILE *f;
	uint8_t *data = read_state(path, &f, &len);

	if (!data)
		return 1;
	for (int i = 0; i < 3 && i < argc; i++) {
		unsigned long v = strtoul(argv[i], NULL, 10);

		data[8 + 2 * i] = (uint8_t)v;
		data[9 + 2 * i] = (uint8_t)(v >> 8);
	}
	return write_state(f, data, len);
}

static uint64_t get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int poke(const char *path, const char *tag, const char *offset, const char *byte)
{
	size_t len, pos = VMSTATE_HEADER_SIZE, off = strtoul(offset, NULL, 0);
	FILE *f;
	uint8_t *data = read_state(path, &f, &len);

	if (!data || strlen(tag) != 4)
		return 1;
	while (pos + VMSTATE_SECTION_HDR <= len - 8) {
		uint64_t n = get_le(data + pos + 8, 8);

		if (n > len - 8 - pos - VMSTATE_SECTION_HDR)
			break;
		if (!memcmp(data + pos, tag, 4) && off < n) {
			data[pos + VMSTATE_SECTION_HDR + off] = (uint8_t)strtoul(byte, NULL, 0);
			return write_state(f, data, len);
		}
		pos += VMSTATE_SECTION_HDR + n;
	}
	fprintf(stderr, "poke: no section %s with a byte %zu in %s\n", tag, off, path);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "merge"))
		return merge(argv[2], argv[3]);
	if (argc == 6 && !strcmp(argv[1], "set-version"))
		return set_version(argv[2], argc - 3, argv + 3);
	if (argc == 6 && !strcmp(argv[1], "poke"))
		return poke(argv[2], argv[3], argv[4], argv[5]);
	fprintf(stderr,
		"usage: %s merge BASE DIFF | set-version STATE MAJOR MINOR PATCH | "
		"poke STATE TAG OFFSET BYTE\n",
		argv[0]);
	return 2;
}
