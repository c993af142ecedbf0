// node check_otlp.js FILE
//
// Checks an OTLP/JSON trace export (vigil trace --format otlp) against OpenTelemetry's own
// encoder: every span is rebuilt as the SDK's ReadableSpan (its resource, scope, ids, parent,
// kind, times, attributes, links, status) and serialized again with @opentelemetry/otlp-transformer's
// JsonTraceSerializer; the reference output must carry every field of Vigil's, with the same
// values (numbers compared as numbers: the reference writes 64-bit integers as JSON numbers, the
// protobuf JSON mapping Vigil follows as strings). Also checks what the types require: 32/16-hex
// lowercase ids, kinds 0..5, decimal-string times with start <= end, status codes 0..2.
// Exit 0 with one "OK: ..." line, or 1 with one "FAIL: reason" line.
'use strict';
const fs = require('fs');
const { JsonTraceSerializer } = require('@opentelemetry/otlp-transformer');
const { resourceFromAttributes } = require('@opentelemetry/resources');

let failed = false;
function fail(msg) {
  if (!failed) console.log(`FAIL: ${String(msg).slice(0, 2000)}`);
  failed = true;
  process.exitCode = 1;
}

// OTLP AnyValue -> the JS value the SDK's attributes hold.
function fromAny(v, at) {
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) {
    const n = Number(v.intValue);
    if (!Number.isSafeInteger(n)) throw new Error(`${at}: intValue ${v.intValue} is not an integer`);
    return n;
  }
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return (v.arrayValue.values || []).map((x, i) => fromAny(x, `${at}[${i}]`));
  throw new Error(`${at}: unknown value ${JSON.stringify(v)}`);
}

function attrs(list, at) {
  const out = {};
  (list || []).forEach((kv, i) => {
    if (typeof kv.key !== 'string' || !kv.value) throw new Error(`${at}[${i}]: not a KeyValue`);
    if (kv.key in out) throw new Error(`${at}: key ${kv.key} twice`);
    out[kv.key] = fromAny(kv.value, `${at}.${kv.key}`);
  });
  return out;
}

function hrtime(s, at) {
  if (typeof s !== 'string' || !/^\d+$/.test(s)) throw new Error(`${at}: ${s} is not a decimal string`);
  const n = BigInt(s);
  return [Number(n / 1000000000n), Number(n % 1000000000n)];
}

// Does the reference value b carry a (Vigil's) value? Numbers as numbers, objects recursively.
function same(a, b, at, problems) {
  if (a === undefined) return;
  const num = (x) => (typeof x === 'string' && /^-?\d+$/.test(x) ? Number(x) : x);
  if (a !== null && typeof a === 'object' && !Array.isArray(a)) {
    if (b === null || typeof b !== 'object') { problems.push(`${at}: ${JSON.stringify(b)} for an object`); return; }
    for (const k of Object.keys(a)) {
      // The reference writes an integral double as intValue: the same number.
      if (k === 'doubleValue' && !('doubleValue' in b) && 'intValue' in b && Number(a[k]) === Number(b.intValue)) continue;
      if (!(k in b)) { problems.push(`${at}.${k} lost by the reference encoder`); continue; }
      same(a[k], b[k], `${at}.${k}`, problems);
    }
    return;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) { problems.push(`${at}: ${b && b.length} items for ${a.length}`); return; }
    a.forEach((x, i) => same(x, b[i], `${at}[${i}]`, problems));
    return;
  }
  if (num(a) !== num(b)) problems.push(`${at}: ${JSON.stringify(b)} for ${JSON.stringify(a)}`);
}

function main() {
  const file = process.argv[2];
  if (!file) return fail('usage: node check_otlp.js FILE');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!Array.isArray(doc.resourceSpans)) return fail('no resourceSpans array');
  const spans = [];
  let n = 0;
  doc.resourceSpans.forEach((rs, ri) => {
    const resource = resourceFromAttributes(attrs(rs.resource && rs.resource.attributes, `resourceSpans[${ri}].resource`));
    (rs.scopeSpans || []).forEach((ss, si) => {
      const scope = { name: ss.scope.name, version: ss.scope.version };
      (ss.spans || []).forEach((s, i) => {
        const at = `resourceSpans[${ri}].scopeSpans[${si}].spans[${i}]`;
        if (!/^[0-9a-f]{32}$/.test(s.traceId) || /^0+$/.test(s.traceId)) throw new Error(`${at}: traceId ${s.traceId}`);
        if (!/^[0-9a-f]{16}$/.test(s.spanId) || /^0+$/.test(s.spanId)) throw new Error(`${at}: spanId ${s.spanId}`);
        if (s.parentSpanId !== undefined && !/^[0-9a-f]{16}$/.test(s.parentSpanId)) throw new Error(`${at}: parentSpanId ${s.parentSpanId}`);
        if (!Number.isInteger(s.kind) || s.kind < 0 || s.kind > 5) throw new Error(`${at}: kind ${s.kind}`);
        const start = hrtime(s.startTimeUnixNano, `${at}.startTimeUnixNano`);
        const end = hrtime(s.endTimeUnixNano, `${at}.endTimeUnixNano`);
        if (BigInt(s.endTimeUnixNano) < BigInt(s.startTimeUnixNano)) throw new Error(`${at}: ends before it starts`);
        const status = s.status || {};
        if (status.code !== undefined && ![0, 1, 2].includes(status.code)) throw new Error(`${at}: status code ${status.code}`);
        spans.push({
          name: s.name,
          kind: s.kind - 1,
          spanContext: () => ({ traceId: s.traceId, spanId: s.spanId, traceFlags: 1 }),
          parentSpanContext: s.parentSpanId ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1 } : undefined,
          startTime: start,
          endTime: end,
          status: { code: status.code || 0, message: status.message },
          attributes: attrs(s.attributes, `${at}.attributes`),
          links: (s.links || []).map((l, li) => ({
            context: { traceId: l.traceId, spanId: l.spanId, traceFlags: 1 },
            attributes: attrs(l.attributes, `${at}.links[${li}].attributes`),
          })),
          events: [],
          duration: [0, 0],
          ended: true,
          resource,
          instrumentationScope: scope,
          droppedAttributesCount: 0,
          droppedEventsCount: 0,
          droppedLinksCount: 0,
        });
        n++;
      });
    });
  });
  const ref = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans)).toString('utf8'));
  const problems = [];
  // The reference groups by resource and scope in first-seen order, as Vigil writes them.
  same(doc, ref, 'request', problems);
  if (problems.length) return fail(`${problems.length} differences: ${problems.slice(0, 8).join('; ')}`);
  const kinds = {};
  for (const s of spans) kinds[s.kind + 1] = (kinds[s.kind + 1] || 0) + 1;
  console.log(`OK: ${file}: ${doc.resourceSpans.length} resources, ${n} spans (kinds ${JSON.stringify(kinds)}) ` +
    'match @opentelemetry/otlp-transformer\'s encoding field for field');
}

try {
  main();
} catch (e) {
  fail(e.stack || String(e));
}
