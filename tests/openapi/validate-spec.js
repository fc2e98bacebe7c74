#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
//
// Validates Ember's OpenAPI document: the OpenAPI 3.0 schema and every $ref
// (swagger-parser), then that every schema compiles as a JSON schema (Ajv),
// so check-responses.js can rely on it. Exits non-zero on any problem.
//
// Usage: node validate-spec.js [openapi.yaml]
'use strict';

const path = require('path');
const SwaggerParser = require('@apidevtools/swagger-parser');
const { newAjv } = require('./schema');

async function main() {
	const file = process.argv[2] || path.join(__dirname, '..', '..', 'openapi.yaml');
	// validate() checks against the OpenAPI schema and resolves every $ref.
	await SwaggerParser.validate(file);
	const api = await SwaggerParser.dereference(file);
	const ajv = newAjv();
	let schemas = 0;

	for (const [name, schema] of Object.entries(api.components.schemas || {})) {
		try {
			ajv.compile(schema);
		} catch (err) {
			throw new Error(`components.schemas.${name}: ${err.message}`);
		}
		schemas++;
	}
	for (const [p, item] of Object.entries(api.paths)) {
		for (const [method, op] of Object.entries(item)) {
			for (const [status, resp] of Object.entries(op.responses || {})) {
				const media = resp.content && resp.content['application/json'];
				if (!media)
					continue;
				try {
					ajv.compile(media.schema);
				} catch (err) {
					throw new Error(`${method.toUpperCase()} ${p} ${status}: ${err.message}`);
				}
			}
		}
	}
	const ops = Object.values(api.paths).reduce((n, item) => n + Object.keys(item).length, 0);
	console.log(`${file}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths, ` +
		    `${ops} operations, ${schemas} schemas`);
}

main().catch((err) => {
	console.error(`invalid OpenAPI document: ${err.message}`);
	process.exit(1);
});
