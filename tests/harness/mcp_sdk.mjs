// MCP conformance of `dscat mcp`, driven by the official TypeScript SDK client
// (@modelcontextprotocol/sdk, pinned in scripts/install-deps): initialize with the SDK's default
// protocol version and with 2024-11-05, list the tools, compile every input and output schema
// with ajv and check every argument and result against them, call every tool, and check errors
// and cancellation as the MCP specification says.
// Usage: node mcp_sdk.mjs DSCAT HOME. One line per check: "ok NAME" or "FAIL NAME: why".
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

const [dscat, home] = process.argv.slice(2);
const deps = fileURLToPath(new URL("../../.deps/mcp-sdk/node_modules/", import.meta.url));
const { Client } = await import(deps + "@modelcontextprotocol/sdk/dist/esm/client/index.js");
const { StdioClientTransport } = await import(deps + "@modelcontextprotocol/sdk/dist/esm/client/stdio.js");
const { LATEST_PROTOCOL_VERSION } = await import(deps + "@modelcontextprotocol/sdk/dist/esm/types.js");
const Ajv2020 = (await import(deps + "ajv/dist/2020.js")).default;

let failures = 0;
const code = async (p) => p.then(() => "answered", (e) => e.code);
const check = (ok, name, why = "") => {
  if (!ok) failures++;
  console.log(ok ? `ok ${name}` : `FAIL ${name}: ${String(why).slice(0, 1500)}`);
};

// A transport that records every message both ways, and can ask for another protocol version.
class Spy {
  constructor(inner, version) {
    this.inner = inner;
    this.version = version;
    this.sent = [];
    this.received = [];
  }
  async start() {
    this.inner.onmessage = (m) => {
      this.received.push(m);
      this.onmessage?.(m);
    };
    this.inner.onclose = () => this.onclose?.();
    this.inner.onerror = (e) => this.onerror?.(e);
    return this.inner.start();
  }
  async send(m, o) {
    if (this.version && m.method === "initialize")
      m = { ...m, params: { ...m.params, protocolVersion: this.version } };
    this.sent.push(m);
    return this.inner.send(m, o);
  }
  async close() {
    return this.inner.close();
  }
  setProtocolVersion(v) {
    this.negotiated = v;
  }
}

const readTools = ["search_catalog", "get_table_details", "find_join_paths", "get_catalog_status", "get_annotations"];
const args = {
  search_catalog: { keywords: ["order"], top_n: 5 },
  get_table_details: { database: "shop", schema: "main", table_name: "Order" },
  find_join_paths: { table_name: "Order" },
  get_catalog_status: {},
  get_annotations: {},
  add_annotation: { target: "shop.main.Order", type: "note", content: "checked by the SDK client" },
};

async function session(label, version) {
  const transport = new Spy(
    new StdioClientTransport({ command: dscat, args: ["mcp"], env: { ...process.env, DSCAT_HOME: home, DSCAT_USER: "sdk" }, stderr: "pipe" }),
    version,
  );
  const client = new Client({ name: "dscat-conformance", version: "1.0.0" });
  await client.connect(transport);
  const asked = version ?? LATEST_PROTOCOL_VERSION;
  const init = transport.received.find((m) => m.id === transport.sent.find((s) => s.method === "initialize").id);
  const got = init.result.protocolVersion;
  check(version ? got === version : got === asked || got === "2025-06-18",
    `${label}: initialize asking ${asked} negotiates ${got}`, JSON.stringify(init));
  check(client.getServerVersion()?.name === "dscat", `${label}: serverInfo names dscat`);
  check(client.getServerCapabilities()?.tools !== undefined, `${label}: the tools capability`);
  const structured = got >= "2025-06-18";
  const annotated = got >= "2025-03-26";

  // Cancellation, first of all: the first search loads the index (30,000 columns), and a request
  // cancelled while it waits behind that one is never answered.
  const before = transport.sent.length;
  const slow = client.callTool({ name: "search_catalog", arguments: { keywords: ["c1", "c2", "c3"], top_n: 1000 } });
  const ac = new AbortController();
  const cancelled = client.callTool({ name: "search_catalog", arguments: { keywords: ["order"] } }, undefined, { signal: ac.signal });
  await new Promise((r) => setImmediate(r));
  ac.abort("the user changed their mind");
  check((await code(cancelled)) !== "answered", `${label}: the SDK rejects the cancelled call`);
  await slow;
  await client.ping(); // answered in order: anything for the cancelled request came before it
  const cancelledId = transport.sent.slice(before).filter((m) => m.method === "tools/call")[1]?.id;
  const note = transport.sent.find((m) => m.method === "notifications/cancelled");
  check(note && note.params.requestId === cancelledId, `${label}: the SDK sent notifications/cancelled for it`, JSON.stringify(note));
  check(!transport.received.some((m) => m.id === cancelledId), `${label}: the cancelled request is not answered`,
    JSON.stringify(transport.received.find((m) => m.id === cancelledId))?.slice(0, 300));
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
  const { tools } = await client.listTools();
  check(tools.length === 6, `${label}: tools/list has the six tools`, tools.map((t) => t.name));
  const validators = {};
  for (const t of tools) {
    let input, output;
    try {
      input = ajv.compile(t.inputSchema);
      check(true, `${label}: ${t.name}: the input schema compiles`);
    } catch (e) {
      check(false, `${label}: ${t.name}: the input schema compiles`, e.message);
    }
    if (structured) {
      try {
        output = ajv.compile(t.outputSchema);
        check(true, `${label}: ${t.name}: the output schema compiles`);
      } catch (e) {
        check(false, `${label}: ${t.name}: the output schema compiles`, e?.message ?? "no outputSchema");
      }
      check(typeof t.title === "string" && t.title.length > 0, `${label}: ${t.name}: has a title`);
    } else {
      check(t.outputSchema === undefined && t.title === undefined, `${label}: ${t.name}: no title or outputSchema with ${got}`);
    }
    if (annotated) {
      const a = t.annotations ?? {};
      const ro = readTools.includes(t.name);
      check(a.readOnlyHint === ro && a.destructiveHint === false && a.idempotentHint === ro && typeof a.title === "string",
        `${label}: ${t.name}: annotations readOnlyHint ${ro}, destructiveHint false, idempotentHint ${ro}`, JSON.stringify(a));
    } else {
      check(t.annotations === undefined, `${label}: ${t.name}: no annotations with ${got}`);
    }
    validators[t.name] = { input, output };
    check(input && input(args[t.name]), `${label}: ${t.name}: the test arguments satisfy the input schema`, JSON.stringify(input?.errors));
  }

  for (const t of tools) {
    const r = await client.callTool({ name: t.name, arguments: args[t.name] });
    check(r.isError === false, `${label}: ${t.name}: answers without error`, JSON.stringify(r).slice(0, 500));
    let parsed;
    try {
      parsed = JSON.parse(r.content[0].text);
    } catch (e) {
      parsed = e;
    }
    check(r.content.length === 1 && r.content[0].type === "text" && !(parsed instanceof Error), `${label}: ${t.name}: one text content holding JSON`);
    if (structured) {
      const v = validators[t.name].output;
      check(v && v(r.structuredContent), `${label}: ${t.name}: structuredContent satisfies the output schema`, JSON.stringify(v?.errors));
      check(isDeepStrictEqual(parsed, r.structuredContent), `${label}: ${t.name}: the text and structuredContent agree`);
    } else {
      check(r.structuredContent === undefined, `${label}: ${t.name}: no structuredContent with ${got}`);
    }
  }
  const details = await client.callTool({ name: "get_table_details", arguments: args.get_table_details });
  const row = JSON.parse(details.content[0].text).columns[0];
  const older = ["database", "schema", "table_name", "column_name", "data_type", "is_nullable", "is_primary_key", "is_foreign_key",
    "fk_references", "row_count_estimate", "last_modified", "scanned_at", "null_count", "null_rate", "distinct_count", "profiled_rows", "target", "server"];
  check(older.every((k) => k in row), `${label}: get_table_details: every column row has the older tool's 18 fields`, older.filter((k) => !(k in row)));

  // Errors: a tool that fails is an isError result; a bad call is a JSON-RPC error.
  const missing = await client.callTool({ name: "get_table_details", arguments: { database: "shop", schema: "main", table_name: "Nope" } });
  check(missing.isError === true && JSON.parse(missing.content[0].text).error === "Table shop.main.Nope not found" && missing.structuredContent === undefined,
    `${label}: an unknown table is an isError result with the older message`, JSON.stringify(missing));
  check((await code(client.callTool({ name: "drop_tables", arguments: {} }))) === -32602, `${label}: an unknown tool is -32602`);
  check((await code(client.callTool({ name: "search_catalog", arguments: {} }))) === -32602, `${label}: a missing argument is -32602`);
  check((await code(client.request({ method: "resources/list" }, (await import(deps + "@modelcontextprotocol/sdk/dist/esm/types.js")).ListResourcesResultSchema))) === -32601,
    `${label}: an unknown method is -32601`);
  check((await code(client.ping())) === "answered", `${label}: ping`);

  check(transport.received.every((m) => m.jsonrpc === "2.0" && ("result" in m || "error" in m)), `${label}: every message from the server is a JSON-RPC response`);
  await client.close();
}

try {
  await session("default version", undefined);
  await session("2024-11-05", "2024-11-05");
} catch (e) {
  check(false, "the conformance run completed", e?.stack ?? e);
}
process.exit(failures ? 1 : 0);
