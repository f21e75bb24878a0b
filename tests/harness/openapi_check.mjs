// Checks docs/openapi.json: valid OpenAPI 3.1 by @seriousme/openapi-schema-validator, and route
// coverage both ways against a running `dscat serve`: every operation described is answered (not
// "no such route", not 405), every other method on a described path is 405, and every path made
// of the described segments that the document does not describe is 404 "no such route".
// Usage: node openapi_check.mjs DOC BASE_URL. One line per check: "ok NAME" or "FAIL NAME: why".
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [docPath, base] = process.argv.slice(2);
const repo = new URL("../../", import.meta.url);
const { Validator } = await import(
  pathToFileURL(new URL(".deps/openapi/node_modules/@seriousme/openapi-schema-validator/index.js", repo).pathname).href
);

let failures = 0;
const report = (ok, name, why) => {
  if (!ok) failures++;
  console.log(ok ? `ok ${name}` : `FAIL ${name}: ${why}`);
};

const doc = JSON.parse(readFileSync(docPath, "utf8"));
const validator = new Validator();
const res = await validator.validate(doc);
report(res.valid && validator.version === "3.1", "the document is valid OpenAPI 3.1",
  String(JSON.stringify(res.errors)).slice(0, 2000) + ` (version ${validator.version})`);

const methods = ["get", "post", "delete", "put", "patch"];
const fill = (p) => p.replace(/\{[^}]+\}/g, "x");
async function send(method, path) {
  const init = { method: method.toUpperCase(), headers: {} };
  if (method === "post" || method === "put" || method === "patch") {
    init.headers["Content-Type"] = "application/json";
    init.body = "{}";
  }
  const r = await fetch(base + path, init);
  const text = await r.text();
  let message = "";
  try { message = JSON.parse(text).error?.message ?? ""; } catch { /* not JSON */ }
  return { status: r.status, message };
}
const unrouted = (a) => a.status === 405 || (a.status === 404 && a.message === "no such route");

let answered = 0, refused = 0;
for (const [path, item] of Object.entries(doc.paths)) {
  for (const m of methods) {
    const a = await send(m, fill(path));
    if (item[m]) {
      answered++;
      report(!unrouted(a), `${m.toUpperCase()} ${path} is answered`, `${a.status} ${a.message}`);
    } else {
      refused++;
      report(a.status === 405, `${m.toUpperCase()} ${path} is 405 (not described)`, `${a.status} ${a.message}`);
    }
  }
  if (item.get) {
    const a = await send("head", fill(path));
    report(!unrouted(a), `HEAD ${path} is answered (as GET)`, `${a.status}`);
  }
}

// Paths of one to three segments made of the document's own words (and a free value): only the
// described ones may be routes.
const templates = Object.keys(doc.paths).map((p) => new RegExp("^" + p.replace(/\{[^}]+\}/g, "[^/]+").replace(/\./g, "\\.") + "$"));
const words = new Set(["x"]);
for (const p of Object.keys(doc.paths)) for (const s of p.split("/")) if (s && !s.startsWith("{")) words.add(s);
const w = [...words];
let candidates = w.map((a) => [a]);
const all = [...candidates];
for (let depth = 2; depth <= 3; depth++) {
  candidates = candidates.flatMap((c) => w.map((a) => [...c, a]));
  all.push(...candidates);
}
// and every described path with one segment more or one less
for (const p of Object.keys(doc.paths)) {
  const segs = fill(p).split("/").slice(1);
  all.push([...segs, "x"], segs.slice(0, -1));
}
let stray = [];
for (const segs of all) {
  if (segs.length === 0) continue;
  const path = "/" + segs.join("/");
  if (templates.some((t) => t.test(path))) continue;
  for (const m of ["get", "post", "delete"]) {
    const a = await send(m, path);
    if (!(a.status === 404 && a.message === "no such route")) stray.push(`${m.toUpperCase()} ${path}: ${a.status} ${a.message}`);
  }
}
report(stray.length === 0, `no route outside the document (${all.length} paths probed)`, stray.slice(0, 10).join("; "));
report(answered >= 12, `the document describes the server's operations (${answered} answered, ${refused} refused)`, "too few");
process.exit(failures ? 1 : 0);
