// A small JSON Schema (draft-07) validator for the keywords speedscope's file-format-schema.json uses.
// A schema that uses any other keyword is refused rather than half-checked, so a newer speedscope
// schema cannot make the check pass silently.
'use strict';

const KNOWN = new Set(['$schema', '$ref', 'definitions', 'title', 'description', 'type', 'properties',
  'required', 'items', 'const', 'enum', 'anyOf', 'oneOf', 'allOf', 'additionalProperties', 'minimum',
  'maximum']);

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(want, v) {
  const t = typeOf(v);
  return want === t || (want === 'number' && t === 'integer');
}

function resolve(root, ref) {
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  let node = root;
  for (const part of ref.slice(2).split('/')) {
    node = node[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (node === undefined) throw new Error(`dangling $ref ${ref}`);
  }
  return node;
}

// Returns a list of "path: problem" strings; empty when v is valid.
function validate(root, schema, v, at = '$', errors = []) {
  for (const k of Object.keys(schema)) {
    if (!KNOWN.has(k)) throw new Error(`schema keyword "${k}" is not supported by this validator`);
  }
  if (schema.$ref) validate(root, resolve(root, schema.$ref), v, at, errors);
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => typeMatches(t, v))) {
      errors.push(`${at}: is ${typeOf(v)}, want ${types.join('|')}`);
      return errors;
    }
  }
  if ('const' in schema && v !== schema.const) errors.push(`${at}: is ${JSON.stringify(v)}, want ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(v)) errors.push(`${at}: ${JSON.stringify(v)} not in ${JSON.stringify(schema.enum)}`);
  if (typeof v === 'number') {
    if ('minimum' in schema && v < schema.minimum) errors.push(`${at}: ${v} < ${schema.minimum}`);
    if ('maximum' in schema && v > schema.maximum) errors.push(`${at}: ${v} > ${schema.maximum}`);
  }
  if (typeOf(v) === 'object') {
    for (const r of schema.required || []) if (!(r in v)) errors.push(`${at}: missing "${r}"`);
    for (const [k, sub] of Object.entries(schema.properties || {})) {
      if (k in v) validate(root, sub, v[k], `${at}.${k}`, errors);
    }
    if (schema.additionalProperties === false) {
      for (const k of Object.keys(v)) {
        if (!(schema.properties && k in schema.properties)) errors.push(`${at}: unexpected "${k}"`);
      }
    } else if (typeof schema.additionalProperties === 'object') {
      for (const k of Object.keys(v)) {
        if (!(schema.properties && k in schema.properties)) validate(root, schema.additionalProperties, v[k], `${at}.${k}`, errors);
      }
    }
  }
  if (Array.isArray(v) && schema.items) {
    // Most of a profile is numbers in arrays: report the first few problems, not a million.
    for (let i = 0; i < v.length && errors.length < 20; i++) validate(root, schema.items, v[i], `${at}[${i}]`, errors);
  }
  const branches = (list) => list.map((s) => validate(root, s, v, at, []));
  if (schema.allOf) for (const e of branches(schema.allOf)) errors.push(...e);
  if (schema.anyOf) {
    const res = branches(schema.anyOf);
    if (!res.some((e) => e.length === 0)) {
      const best = res.reduce((a, b) => (b.length < a.length ? b : a));
      errors.push(`${at}: matches none of anyOf (closest: ${best.slice(0, 3).join('; ')})`);
    }
  }
  if (schema.oneOf) {
    const ok = branches(schema.oneOf).filter((e) => e.length === 0).length;
    if (ok !== 1) errors.push(`${at}: matches ${ok} of oneOf, want 1`);
  }
  return errors;
}

module.exports = { validate };
