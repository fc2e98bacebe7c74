// SPDX-License-Identifier: Apache-2.0
/*
 * The controller's MMDS requests against a fake VM and a real struct mmds:
 * PUT /mmds/config validation in Firecracker's order with its exact texts
 * (link-local address, empty list, unknown interface), "a refused request
 * changes nothing", the configuration as GET /vm/config keeps it (device
 * order, the default address), pre-boot only; PUT/PATCH/GET /mmds before
 * and after boot, 413 over the limit with the store unchanged, PATCH before
 * any PUT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/controller/controller.h"
#include "devices/mmds/mmds.h"
#include "vmm/base/log.h"

#define CFG_ERR "MMMDS config error: "

static int fake_start(void *ctx, const struct vm_config *cfg, char *err, size_t errlen)
{
	(void)ctx;
	(void)cfg;
	(void)err;
	(void)errlen;
	return 0;
}

static const struct vmm_ops fake_ops = {.start = fake_start};

struct fixture {
	struct controller c;
	struct mmds *m;
};

/* A controller with nets eth0, eth1 (configured directly: no taps needed) and a 40-byte store. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *ids[] = {"eth0", "eth1"};

	log_set_level(LOG_OFF);
	assert_non_null(f);
	controller_init(&f->c, "vm-7", &fake_ops, NULL);
	f->m = mmds_create(40, NULL);
	assert_non_null(f->m);
	f->c.mmds = f->m;
	f->c.cfg.nets = calloc(2, sizeof(*f->c.cfg.nets));
	assert_non_null(f->c.cfg.nets);
	for (int i = 0; i < 2; i++) {
		f->c.cfg.nets[i].iface_id = strdup(ids[i]);
		f->c.cfg.nets[i].host_dev_name = strdup("tap");
	}
	f->c.cfg.nr_nets = 2;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	controller_destroy(&f->c);
	mmds_destroy(f->m);
	free(f);
	return 0;
}

static void handle(struct fixture *f, struct vmm_request *req, struct vmm_response *resp)
{
	controller_handle(&f->c, req, resp);
	vmm_request_free(req);
}

/* PUT /mmds/config with IDS; ADDR NULL: no ipv4_address. */
static void put_config(struct fixture *f, const char *const *ids, unsigned int nr, bool v2,
		       const char *addr, struct vmm_response *resp)
{
	struct vmm_request req = {.type = REQ_PUT_MMDS_CONFIG};
	struct mmds_config *mc = &req.u.mmds_config;

	mc->v2 = v2;
	mc->network_interfaces = calloc(nr ? nr : 1, sizeof(char *));
	for (unsigned int i = 0; i < nr; i++)
		mc->network_interfaces[i] = strdup(ids[i]);
	mc->nr_network_interfaces = nr;
	if (addr) {
		mc->has_ipv4_address = true;
		mc->ipv4_address = inet_addr(addr);
	}
	handle(f, &req, resp);
}

static void assert_fault(struct vmm_response *resp, int status, const char *msg)
{
	assert_int_equal(resp->status, status);
	assert_string_equal(resp->fault_message, msg);
	vmm_response_free(resp);
}

static void assert_ok(struct vmm_response *resp)
{
	assert_int_equal(resp->status, 204);
	vmm_response_free(resp);
}

static void test_config_validation(void **state)
{
	struct fixture *f = *state;
	const char *both[] = {"eth1", "eth0"}, *bad[] = {"eth0", "eth9"};
	struct vmm_response resp;

	put_config(f, both, 0, false, "10.0.0.1", &resp);
	assert_fault(&resp, 400, CFG_ERR "The MMDS IPv4 address is not link local.");
	put_config(f, both, 0, false, NULL, &resp);
	assert_fault(&resp, 400,
		     CFG_ERR "The list of network interface IDs that allow forwarding MMDS "
			     "requests is empty.");
	put_config(f, bad, 2, true, "169.254.1.1", &resp);
	assert_fault(&resp, 400,
		     CFG_ERR "The list of network interface IDs provided contains at least one ID "
			     "that does not correspond to any existing network interface.");
	/* Nothing changed. */
	assert_false(f->c.cfg.has_mmds_config);
	assert_false(mmds_attached(f->m, "eth0"));
	assert_int_equal(mmds_get_version(f->m), MMDS_V1);

	put_config(f, both, 2, true, "169.254.1.1", &resp);
	assert_ok(&resp);
	assert_true(f->c.cfg.has_mmds_config);
	assert_true(f->c.cfg.mmds_config.v2);
	assert_int_equal(f->c.cfg.mmds_config.nr_network_interfaces, 2);
	assert_string_equal(f->c.cfg.mmds_config.network_interfaces[0], "eth0");
	assert_string_equal(f->c.cfg.mmds_config.network_interfaces[1], "eth1");
	assert_true(mmds_attached(f->m, "eth0") && mmds_attached(f->m, "eth1"));
	assert_int_equal(mmds_ipv4_addr(f->m), inet_addr("169.254.1.1"));
	assert_int_equal(mmds_get_version(f->m), MMDS_V2);

	/* Again, V1, one interface, the default address. */
	put_config(f, both, 1, false, NULL, &resp);
	assert_ok(&resp);
	assert_false(mmds_attached(f->m, "eth0"));
	assert_true(f->c.cfg.mmds_config.has_ipv4_address);
	assert_int_equal(f->c.cfg.mmds_config.ipv4_address, htonl(MMDS_DEFAULT_IPV4));
	assert_int_equal(mmds_ipv4_addr(f->m), htonl(MMDS_DEFAULT_IPV4));
	/* A configuration is a boot-path resource: no snapshot load after it. */
	assert_true(f->c.boot_path);
}

static void data_request(struct fixture *f, enum vmm_request_type type, const char *json,
			 struct vmm_response *resp)
{
	struct vmm_request req = {.type = type};

	if (json) {
		req.u.mmds.json = strdup(json);
		req.u.mmds.len = strlen(json);
	}
	handle(f, &req, resp);
}

static void assert_store(struct fixture *f, const char *want)
{
	struct vmm_response resp;

	data_request(f, REQ_GET_MMDS, NULL, &resp);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.mmds_json, want);
	vmm_response_free(&resp);
}

static void test_data_store(void **state)
{
	struct fixture *f = *state;
	struct vmm_response resp;

	assert_store(f, "{}");
	data_request(f, REQ_PATCH_MMDS, "{\"a\":1}", &resp);
	assert_fault(&resp, 400, "MMDS error: The MMDS data store is not initialized.");
	data_request(f, REQ_PUT_MMDS, "{\"a\":\"0123456789\"}", &resp);
	assert_ok(&resp);
	data_request(f, REQ_PUT_MMDS, "{\"a\":\"0123456789012345678901234567890123\"}", &resp);
	assert_fault(&resp, 413, "MMDS limit exceeded error: The MMDS patch request doesn't fit.");
	data_request(f, REQ_PATCH_MMDS, "{\"b\":\"0123456789012345678901\"}", &resp);
	assert_fault(&resp, 413, "MMDS limit exceeded error: The MMDS patch request doesn't fit.");
	assert_store(f, "{\"a\":\"0123456789\"}");
	data_request(f, REQ_PATCH_MMDS, "{\"a\":null,\"b\":[1]}", &resp);
	assert_ok(&resp);
	assert_store(f, "{\"b\":[1]}");
}

static void test_after_boot(void **state)
{
	struct fixture *f = *state;
	const char *ids[] = {"eth0"};
	struct vmm_request start = {.type = REQ_INSTANCE_START};
	struct vmm_request boot = {.type = REQ_PUT_BOOT_SOURCE};
	struct vmm_response resp;

	boot.u.boot_source.kernel_image_path = strdup("/dev/null");
	handle(f, &boot, &resp);
	assert_ok(&resp);
	handle(f, &start, &resp);
	assert_ok(&resp);
	put_config(f, ids, 1, true, NULL, &resp);
	assert_fault(&resp, 400,
		     "The requested operation is not supported after starting the microVM.");
	assert_false(f->c.cfg.has_mmds_config);
	/* The data store stays available. */
	data_request(f, REQ_PUT_MMDS, "[true]", &resp);
	assert_ok(&resp);
	assert_store(f, "[true]");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_validation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_store, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_after_boot, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
