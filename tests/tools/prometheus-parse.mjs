// prometheus-parse: reads a Prometheus text exposition on stdin with parse-prometheus-text-format
// (a scraper's parser, not ours) and prints one line per sample, "name{k=v,...} value", labels in
// name order, histogram buckets as name_bucket{...,le=X}, then _sum and _count; exits 1 when the
// text does not parse.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../.deps/prometheus/', import.meta.url));
const parse = require('parse-prometheus-text-format');
const text = readFileSync(0, 'utf8');
let families;
try {
  families = parse(text);
} catch (e) {
  console.log(`PARSE FAILED ${e.message}`);
  process.exit(1);
}
const labels = (l, extra = {}) => {
  const all = { ...(l || {}), ...extra };
  const keys = Object.keys(all).sort();
  return keys.length ? `{${keys.map((k) => `${k}=${all[k]}`).join(',')}}` : '';
};
for (const f of families) {
  for (const m of f.metrics) {
    if (f.type === 'HISTOGRAM') {
      for (const [le, n] of Object.entries(m.buckets)) console.log(`${f.name}_bucket${labels(m.labels, { le })} ${n}`);
      console.log(`${f.name}_sum${labels(m.labels)} ${m.sum}`);
      console.log(`${f.name}_count${labels(m.labels)} ${m.count}`);
    } else {
      console.log(`${f.name}${labels(m.labels)} ${m.value}`);
    }
  }
  console.log(`# ${f.name} ${f.type}`);
}
