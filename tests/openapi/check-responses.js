#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
//
// Checks API responses recorded by tests/integration/lib.sh against
// openapi.yaml. Each line of the log is METHOD<TAB>PATH<TAB>STATUS<TAB>BODY
// (BODY with newlines removed). A documented path and method must answer a
// documented status with a body matching its schema (or no body where none is
// documented); anything else must be a 400 (or the 503 of the connection
// limit) with an error body from the spec. Lines with status 000 (curl got no
// HTTP answer at all) carry no response and are only counted.
//
// Usage: node check-responses.js RESPONSES.tsv [openapi.yaml]
'use strict';

const fs = require('fs');
const path = require('path');
const SwaggerParser = require('@apidevtools/swagger-parser');
const { newAjv, templateRegex } = require('./schema');

function findOperation(api, method, urlPath) {
	for (const [template, item] of Object.entries(api.paths)) {
		if (templateRegex(template).test(urlPath))
			return item[method.toLowerCase()] || null;
	}
	return null;
}

function checkBody(ajv, schema, body) {
	let value;

	try {
		value = JSON.parse(body);
	} catch (err) {
		return [`body is not JSON (${err.message}): ${body}`];
	}
	const validate = ajv.compile(schema);
	if (validate(value))
		return [];
	return validate.errors.map((e) => `${e.instancePath || '(body)'} ${e.message}` +
		(e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''));
}

function checkLine(api, ajv, method, urlPath, status, body) {
	const op = findOperation(api, method, urlPath);

	if (!op) {
		// Not in the spec: must be refused like Firecracker refuses it.
		if (status !== '400' && status !== '503')
			return [`undocumented path/method answered ${status} (expected 400)`];
		return checkBody(ajv, api.components.schemas.ErrorResponse, body);
	}
	// "default" documents the error answers only, never a success.
	const resp = op.responses[status] || (Number(status) >= 400 ? op.responses.default : null);
	if (!resp)
		return [`status ${status} is not documented`];
	const media = resp.content && resp.content['application/json'];
	if (!media)
		return body === '' ? [] : [`status ${status} documents no body, got: ${body}`];
	return checkBody(ajv, media.schema, body);
}

async function main() {
	const log = process.argv[2];
	const spec = process.argv[3] || path.join(__dirname, '..', '..', 'openapi.yaml');

	if (!log) {
		console.error('usage: check-responses.js RESPONSES.tsv [openapi.yaml]');
		process.exit(2);
	}
	const api = await SwaggerParser.dereference(spec);
	const ajv = newAjv();
	const lines = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.length);
	let checked = 0, unanswered = 0, failures = 0;

	lines.forEach((line, i) => {
		const [method, urlPath, status, ...rest] = line.split('\t');
		const body = rest.join('\t');

		if (!method || !urlPath || !status) {
			console.error(`line ${i + 1}: malformed: ${line}`);
			failures++;
			return;
		}
		if (status === '000') {
			unanswered++;
			return;
		}
		const errors = checkLine(api, ajv, method, urlPath, status, body);
		checked++;
		if (errors.length) {
			failures++;
			console.error(`line ${i + 1}: ${method} ${urlPath} ${status}:`);
			errors.forEach((e) => console.error(`    ${e}`));
		}
	});
	console.log(`${checked} responses checked against ${path.basename(spec)}, ${failures} ` +
		    `mismatched` + (unanswered ? `, ${unanswered} requests without an HTTP answer` : ''));
	process.exit(failures ? 1 : 0);
}

main().catch((err) => {
	console.error(err.message);
	process.exit(1);
});
