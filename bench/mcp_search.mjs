// bench/mcp_search.mjs DSCAT QUERIES_FILE: one `dscat mcp` session (stdio, JSON-RPC lines) asked
// search_catalog for every query in turn; prints p50 and p99 of the round trip per call (request
// written to answer read). Run by bench/search with DSCAT_HOME set.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [dscat, file] = process.argv.slice(2);
const queries = readFileSync(file, 'utf8').split('\n').filter((q) => q.length > 0);
const child = spawn(dscat, ['mcp'], { stdio: ['pipe', 'pipe', 'inherit'] });
let buffer = '';
const waiting = new Map();
child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const msg = JSON.parse(line);
        const done = waiting.get(msg.id);
        if (done) {
            waiting.delete(msg.id);
            done(msg);
        }
    }
});
let next = 1;
function call(method, params) {
    const id = next++;
    return new Promise((resolve) => {
        waiting.set(id, resolve);
        child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    });
}

await call('initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'bench', version: '1' },
});
child.stdin.write(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) + '\n');
const times = [];
let hits = 0;
for (const q of queries) {
    const t0 = process.hrtime.bigint();
    const answer = await call('tools/call', {
        name: 'search_catalog',
        arguments: { keywords: q.split(' ') },
    });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (answer.error || answer.result.isError) {
        console.error('search_catalog failed:', JSON.stringify(answer).slice(0, 300));
        process.exit(1);
    }
    hits += answer.result.structuredContent.count;
}
child.stdin.end();
times.sort((a, b) => a - b);
const pct = (p) => times[Math.max(0, Math.ceil(times.length * p) - 1)].toFixed(3);
console.log(
    `${'dscat mcp search_catalog, one session'.padEnd(44)} p50 ${pct(0.5).padStart(8)} ms   ` +
        `p99 ${pct(0.99).padStart(8)} ms   (${times.length} calls, ${hits} hits)`,
);
