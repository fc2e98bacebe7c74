// SPDX-License-Identifier: Apache-2.0
//
// Shared by the checks: an Ajv instance that understands OpenAPI 3.0 schema
// objects (nullable, deprecated, descriptions), and a path-template matcher.
'use strict';

const Ajv = require('ajv');
const addFormats = require('ajv-formats');

function newAjv() {
	// strict: false lets OpenAPI-only annotations (deprecated, example) through;
	// Ajv implements OpenAPI's "nullable" itself.
	const ajv = new Ajv({ strict: false, allErrors: true });
	addFormats(ajv);
	return ajv;
}

// "/drives/{drive_id}" -> /^\/drives\/[^/]+$/
function templateRegex(template) {
	const escaped = template.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
	return new RegExp('^' + escaped.join('[^/]+') + '$');
}

module.exports = { newAjv, templateRegex };
