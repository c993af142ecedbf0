// node check_trace.mjs FILE
//
// Parses a Chrome trace event file (vigil trace -o x.json) with Chrome DevTools' own trace engine
// (npm @paulirish/trace_engine, the model behind the Performance panel) and prints, as one JSON
// line, what it made of it: the threads it built per process with their names and entry counts,
// the flows it bound (source and destination pid for each), and the trace bounds. Exit 1 with
// "FAIL: reason" when the engine throws or finds no thread at all.
import { analyzeTrace } from './node_modules/@paulirish/trace_engine/analyze-trace.mjs';

async function main() {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node check_trace.mjs FILE');
  const { parsedTrace } = await analyzeTrace(file);
  const data = parsedTrace.data;
  const threads = [];
  for (const [pid, proc] of data.Renderer.processes) {
    for (const [tid, t] of proc.threads) {
      threads.push({ pid, tid, name: t.name || null, entries: t.entries.length,
        roots: t.tree ? t.tree.roots.size : 0 });
    }
  }
  if (!threads.length) throw new Error('the trace engine built no thread');
  const flows = data.Flows.flows.map((f) => f.map((e) => ({ pid: e.pid, tid: e.tid, ts: e.ts, name: e.name })));
  const b = data.Meta.traceBounds;
  console.log(JSON.stringify({ ok: true, threads, flows, bounds: { min: b.min, max: b.max, range: b.range } }));
}

main().catch((e) => {
  console.log(`FAIL: ${String(e.stack || e).replace(/\s+/g, ' ').slice(0, 2000)}`);
  process.exitCode = 1;
});
