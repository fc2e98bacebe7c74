// SPDX-License-Identifier: Apache-2.0
/*
 * Fuzz target: --config-file. The input is the file's text: it is decoded
 * (config_file_parse(), every section through its API parser) and the
 * requests it makes are applied in order to the real controller with a VM
 * that does nothing (fuzz_api.h), then InstanceStart, as ember does at
 * start-up, up to the first refusal. Host paths in the requests are confined
 * to FUZZ_API_DIR.
 *
 * Checked, beyond the sanitizers: a refusal has a message; requests are
 * made only by a successful parse; a config file that is accepted whole
 * leaves the controller answering GET /vm/config.
 */
#include <stdint.h>

#include "api/config_file.h"
#include "tests/fuzz/fuzz_api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int initialised;
	struct vmm_request *reqs = NULL, get = {.type = REQ_GET_VM_CONFIG};
	struct vmm_request start = {.type = REQ_INSTANCE_START};
	struct vmm_response resp;
	char err[FAULT_MESSAGE_MAX] = "", *text;
	size_t nr = 0, applied = 0;
	int ret;

	if (!initialised) {
		fz_api_init();
		initialised = 1;
	}
	fz_api_reset();
	/* The file is read as a C string: what follows a NUL is not seen. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	ret = config_file_parse(text, &reqs, &nr, err, sizeof(err));
	free(text);
	if (ret) {
		if (reqs || nr || !err[0])
			abort();
		return 0;
	}
	for (; applied <= nr; applied++) {
		fz_handle(NULL, applied < nr ? &reqs[applied] : &start, &resp);
		vmm_response_free(&resp);
		if (resp.status >= 400) {
			if (!resp.fault_message[0])
				abort();
			break;
		}
	}
	for (size_t i = 0; i < nr; i++)
		vmm_request_free(&reqs[i]);
	free(reqs);
	if (applied > nr) {
		controller_handle(&fz_ctrl, &get, &resp);
		if (resp.status != 200)
			abort();
		vmm_response_free(&resp);
	}
	return 0;
}
