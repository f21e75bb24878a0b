// dscat web UI: plain JavaScript over the documented HTTP API (docs/api.md), nothing else.
// Every name that comes from a catalog is inserted as text (textContent, attribute values),
// never as HTML. Routing is by hash: #/, #/search?q=, #/table/<conn>/<schema>/<table>,
// #/databases, #/database/<conn>[?focus=<schema.table>], #/status, #/query.

const TOKEN_KEY = "dscat-token";
const mainEl = document.getElementById("main");
// Each page renders into a root of its own, replaced on navigation: a page still waiting for an
// answer when the user moves on then writes into a detached root, never into the next page.
let pageRoot = mainEl;

// ---- small helpers -------------------------------------------------------------------------

// h("a", {href: "#/"}, "text", child...): an element; strings become text nodes.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function announce(text) {
  const a = document.getElementById("announce");
  a.textContent = "";
  setTimeout(() => { a.textContent = text; }, 30);
}

const fmtInt = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));
function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : String(v)) + " " + u[i];
}
const enc = encodeURIComponent;

// A dscat qualified name (SPEC: parts split on ".", a part holding "." or '"' written
// "a""b") into its parts.
function splitQualified(s) {
  const parts = [];
  let i = 0;
  while (i <= s.length) {
    let part = "";
    if (s[i] === '"') {
      i++;
      while (i < s.length) {
        if (s[i] === '"' && s[i + 1] === '"') { part += '"'; i += 2; }
        else if (s[i] === '"') { i++; break; }
        else part += s[i++];
      }
    } else {
      while (i < s.length && s[i] !== ".") part += s[i++];
    }
    parts.push(part);
    if (s[i] !== ".") break;
    i++;
  }
  return parts;
}
function quotePart(p) { return /[."]/.test(p) ? '"' + p.replace(/"/g, '""') + '"' : p; }
const qualified = (...parts) => parts.map(quotePart).join(".");

// ---- the API -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

let tokenWaiters = null;
// Shows the token dialog once, whoever asks; resolves when a token is entered.
function askToken(message) {
  if (tokenWaiters) return tokenWaiters;
  const dlg = document.getElementById("token-dialog");
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  document.getElementById("token-error").textContent = message || "";
  tokenWaiters = new Promise((resolve) => {
    form.addEventListener("submit", function done(ev) {
      ev.preventDefault();
      if (!input.value) return;
      sessionStorage.setItem(TOKEN_KEY, input.value);
      input.value = "";
      form.removeEventListener("submit", done);
      dlg.close();
      tokenWaiters = null;
      resolve();
    });
  });
  dlg.show();
  input.focus();
  return tokenWaiters;
}

async function api(path, opts = {}, retried = false) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  const init = { method: opts.method || "GET", headers, signal: opts.signal };
  if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  const res = await fetch(path, init);
  if (res.status === 401 && !retried) {
    if (token) sessionStorage.removeItem(TOKEN_KEY);
    await askToken(token ? "That token was refused." : "");
    return api(path, opts, true);
  }
  const text = await res.text();
  if (opts.raw) {
    if (!res.ok) throw new ApiError(res.status, text);
    return text;
  }
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!res.ok) {
    const msg = body && body.error ? body.error.message : res.status + " " + res.statusText;
    throw new ApiError(res.status, msg);
  }
  return body;
}

// The configured connections, once per page load: they map (target, database) to the connection
// id that the table routes take.
let connectionsPromise = null;
function connections() {
  if (!connectionsPromise) {
    connectionsPromise = api("/connections").then((r) => r.connections).catch((e) => {
      connectionsPromise = null;
      throw e;
    });
  }
  return connectionsPromise;
}
function connectionOf(conns, target, database) {
  const c = conns.find((x) => x.target === target && x.database === database) ||
    conns.find((x) => x.target === target);
  return c ? c.connection_id : target;
}
const tableHref = (conn, schema, table) => `#/table/${enc(conn)}/${enc(schema)}/${enc(table)}`;

function errorBox(e) {
  return h("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e));
}

// ---- routing -------------------------------------------------------------------------------

function parseHash() {
  const raw = location.hash.startsWith("#/") ? location.hash.slice(2) : "";
  const [path, query] = raw.split("?");
  const segs = path ? path.split("/").map((s) => decodeURIComponent(s)) : [];
  return { segs, params: new URLSearchParams(query || "") };
}

let current = null; // the page's cleanup, if any
let currentKey = null;
const pages = {
  "": pageSearch, search: pageSearch, table: pageTable, databases: pageDatabases,
  database: pageDatabase, status: pageStatus, query: pageQuery,
};

async function route() {
  if (location.hash && !location.hash.startsWith("#/")) return; // the skip link, an anchor
  const { segs, params } = parseHash();
  const name = segs[0] || "";
  const page = pages[name] || pageNotFound;
  // The search page keeps its box while its query changes in the hash.
  const key = name === "" || name === "search" ? "search" : location.hash;
  for (const a of document.querySelectorAll("[data-nav]")) {
    const nav = a.getAttribute("data-nav");
    const on = nav === (name === "" ? "search" : name === "table" ? "search" : name === "database" ? "databases" : name);
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  if (key === currentKey && current && current.update) { current.update(segs, params); return; }
  if (current && current.leave) current.leave();
  currentKey = key;
  pageRoot = h("div", { class: "page" });
  mainEl.replaceChildren(pageRoot);
  window.scrollTo(0, 0);
  const rendering = page(segs.slice(1), params);
  // Keyboard and screen-reader users land on the new page's content unless the page chose a
  // field to focus (search, query).
  if (!mainEl.contains(document.activeElement)) mainEl.focus({ preventScroll: true });
  current = (await rendering) || null;
}

function setTitle(text) { document.title = text + " · dscat"; }

// ---- search --------------------------------------------------------------------------------

// Why a hit matched, from its fields and its table's annotations: the parts of SPEC §8's score
// that the answer shows; what is left can only be a comment.
function whyMatched(hit, keywords, notes) {
  const why = [];
  const fields = [
    ["table name", hit.table_name], ["column name", hit.column_name], ["database", hit.database],
    ["schema", hit.schema], ["data type", hit.data_type],
  ];
  for (const kw of keywords) {
    let found = false;
    for (const [label, value] of fields) {
      if (value && value.toLowerCase().includes(kw)) { why.push(`“${kw}” in ${label}`); found = true; }
    }
    for (const n of notes || []) {
      if (n.content.toLowerCase().includes(kw)) { why.push(`“${kw}” in ${n.type.replace("_", " ")}: ${n.content}`); found = true; break; }
    }
    if (!found) why.push(`“${kw}” in a comment`);
  }
  if (hit.is_primary_key) why.push("primary key");
  if (hit.is_foreign_key) why.push("foreign key");
  return why;
}

async function pageSearch(_segs, params) {
  const main = pageRoot;
  setTitle("Search");
  const box = h("input", {
    type: "search", id: "q", name: "q", autocomplete: "off", spellcheck: "false",
    placeholder: "table, column, comment, annotation…", "aria-describedby": "q-help",
    "aria-controls": "results",
  });
  const target = h("select", { id: "f-target" }, h("option", { value: "" }, "All targets"));
  const database = h("select", { id: "f-database" }, h("option", { value: "" }, "All databases"));
  const schema = h("select", { id: "f-schema" }, h("option", { value: "" }, "All schemas"));
  const summary = h("p", { id: "summary", class: "muted", role: "status", "aria-live": "polite" });
  const list = h("ol", { id: "results", class: "results", "aria-label": "Search results" });
  const errorP = h("p", { class: "error", role: "alert" });
  main.append(
    h("h1", {}, "Search the catalog"),
    h("form", { role: "search", class: "searchbar", onsubmit: (e) => e.preventDefault() },
      h("div", { class: "field grow" }, h("label", { for: "q" }, "Keywords"), box,
        h("span", { id: "q-help", class: "muted" }, "Press ", h("kbd", {}, "/"),
          " to search, arrows to move, Enter to open.")),
      h("div", { class: "field" }, h("label", { for: "f-target" }, "Target"), target),
      h("div", { class: "field" }, h("label", { for: "f-database" }, "Database"), database),
      h("div", { class: "field" }, h("label", { for: "f-schema" }, "Schema"), schema)),
    summary, errorP, list);

  let conns = [];
  connections().then((c) => {
    conns = c;
    const targets = [...new Set(c.map((x) => x.target))].sort();
    for (const t of targets) target.append(h("option", { value: t }, t));
    for (const d of [...new Set(c.map((x) => x.database))].sort()) database.append(h("option", { value: d }, d));
    // The filters named in the hash, once their options exist; the box keeps what was typed.
    const p = new URLSearchParams(location.hash.split("?")[1] || "");
    target.value = p.get("target") || target.value;
    database.value = p.get("database") || database.value;
    render();
  }).catch((e) => errorP.replaceChildren(e.message));

  let last = null;
  let controller = null;
  let timer = null;

  function applyParams(p) {
    box.value = p.get("q") || "";
    target.value = p.get("target") || "";
    database.value = p.get("database") || "";
    if (p.get("schema") && ![...schema.options].some((o) => o.value === p.get("schema")))
      schema.append(h("option", { value: p.get("schema") }, p.get("schema")));
    schema.value = p.get("schema") || "";
    run();
  }

  // Writes the box and filters into the hash (shareable), without a new history entry per key.
  function saveHash() {
    const p = new URLSearchParams();
    if (box.value.trim()) p.set("q", box.value);
    if (target.value) p.set("target", target.value);
    if (database.value) p.set("database", database.value);
    if (schema.value) p.set("schema", schema.value);
    const hash = "#/search" + (p.toString() ? "?" + p.toString() : "");
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }

  function render() {
    if (!last) { list.replaceChildren(); return; }
    const keywords = last.query.toLowerCase().split(/\s+/).filter(Boolean);
    const hits = last.results.filter((r) => (!target.value || r.target === target.value) &&
      (!database.value || r.database === database.value) && (!schema.value || r.schema === schema.value));
    const schemas = [...new Set(last.results.map((r) => r.schema))].sort();
    const keep = schema.value;
    schema.replaceChildren(h("option", { value: "" }, "All schemas"), ...schemas.map((s) => h("option", { value: s }, s)));
    if (keep && !schemas.includes(keep)) schema.append(h("option", { value: keep }, keep));
    schema.value = keep;
    summary.textContent = hits.length === 0 ? "No matches found." :
      `${hits.length} result${hits.length === 1 ? "" : "s"} (searched ${fmtInt(last.searched)} columns)`;
    list.replaceChildren(...hits.map((r, i) => {
      const conn = connectionOf(conns, r.target, r.database);
      const notes = last.annotations[qualified(r.database, r.schema, r.table_name)] || [];
      const keys = [];
      if (r.is_primary_key) keys.push(h("span", { class: "badge pk" }, "PK"));
      if (r.is_foreign_key) keys.push(h("span", { class: "badge fk" }, "FK → " + r.fk_references));
      return h("li", {},
        h("a", { href: tableHref(conn, r.schema, r.table_name), id: "hit-" + i, "data-hit": i },
          h("span", { class: "qname" }, `${r.target}:${qualified(r.database, r.schema, r.table_name, r.column_name)}`),
          h("span", { class: "facts" },
            h("span", {}, "type ", h("code", {}, r.data_type)),
            keys.length ? h("span", {}, ...keys) : null,
            h("span", {}, "rows ≈ " + fmtInt(r.row_count_estimate)),
            h("span", {}, "relevance " + r.relevance)),
          h("span", { class: "why" }, "Matched: " + whyMatched(r, keywords, notes).join("; "))));
    }));
  }

  async function run() {
    saveHash();
    const q = box.value.trim();
    if (controller) controller.abort();
    if (!q) { last = null; summary.textContent = ""; errorP.textContent = ""; render(); return; }
    controller = new AbortController();
    try {
      // The filters apply to the ranked hits: with one set, ask for as many as the route gives.
      const top = target.value || database.value || schema.value ? 1000 : 200;
      const res = await api(`/search?q=${enc(q)}&top=${top}`, { signal: controller.signal });
      errorP.textContent = "";
      last = res;
      render();
    } catch (e) {
      if (e.name === "AbortError") return;
      last = null;
      render();
      errorP.textContent = e.message;
    }
  }

  box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 120); });
  for (const f of [target, database, schema]) f.addEventListener("change", () => { if (last && last.results.length >= 200) run(); else { saveHash(); render(); } });
  box.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { const a = list.querySelector("a"); if (a) { e.preventDefault(); a.focus(); } }
    else if (e.key === "Enter") { const a = list.querySelector("a"); if (a) { e.preventDefault(); a.click(); } }
  });
  list.addEventListener("keydown", (e) => {
    const links = [...list.querySelectorAll("a")];
    const i = links.indexOf(document.activeElement);
    if (i < 0) return;
    if (e.key === "ArrowDown" && i + 1 < links.length) { e.preventDefault(); links[i + 1].focus(); }
    else if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? links[i - 1] : box).focus(); }
    else if (e.key === "Escape") { e.preventDefault(); box.focus(); }
  });
  applyParams(params);
  box.focus();
  return { update: (_s, p) => { if ((p.get("q") || "") !== box.value) applyParams(p); } };
}

// "/" focuses the search box on every page (on the other pages it opens the search page).
document.addEventListener("keydown", (e) => {
  if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || t.isContentEditable) return;
  e.preventDefault();
  const box = document.getElementById("q");
  if (box) box.focus(); else location.hash = "#/";
});

// ---- one table -----------------------------------------------------------------------------

function refLink(conn, ref) {
  // fk_references: schema.table.column (database.schema.table.column across databases)
  const p = splitQualified(ref);
  if (p.length < 3) return h("span", {}, ref);
  const [schema, table, column] = p.slice(-3);
  return h("a", { href: tableHref(conn, schema, table) }, qualified(schema, table) + "." + quotePart(column));
}

async function pageTable(segs) {
  const main = pageRoot;
  const [conn, schema, table] = segs;
  setTitle(table || "Table");
  if (!table) return pageNotFound();
  const heading = h("h1", {}, qualified(schema, table));
  main.append(heading);
  let d;
  try {
    d = await api(`/tables/${enc(conn)}/${enc(schema)}/${enc(table)}`);
  } catch (e) {
    main.append(errorBox(e));
    return null;
  }
  const conns = await connections().catch(() => []);
  const t = d.table;
  heading.textContent = `${t.target}:${qualified(t.database, t.schema, t.table_name)}`;
  setTitle(t.table_name);

  main.append(
    h("dl", { class: "meta" },
      h("dt", {}, "Connection"), h("dd", {}, h("a", { href: `#/database/${enc(conn)}?focus=${enc(qualified(t.schema, t.table_name))}` }, conn)),
      h("dt", {}, "Type"), h("dd", {}, t.table_type),
      h("dt", {}, "Rows (estimate)"), h("dd", {}, fmtInt(t.row_count_estimate)),
      h("dt", {}, "Size"), h("dd", {}, fmtBytes(t.table_size_bytes)),
      h("dt", {}, "Comment"), h("dd", {}, t.table_comment || "—")));

  // Columns
  main.append(h("h2", { id: "columns" }, "Columns"),
    h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Table, scrolls sideways" },
      h("table", { class: "grid" },
        h("caption", {}, `${d.columns.length} columns`),
        h("thead", {}, h("tr", {}, ...["#", "Column", "Type", "Nullable", "Default", "Keys", "Comment", "Nulls", "Distinct", "Profiled rows"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, ...d.columns.map((c) => h("tr", {},
          h("td", { class: "num" }, c.ordinal_position),
          h("th", { scope: "row" }, h("code", {}, c.column_name)),
          h("td", {}, h("code", {}, c.column_type || c.data_type)),
          h("td", {}, c.is_nullable ? "yes" : "no"),
          h("td", {}, c.column_default === null ? "" : h("code", {}, c.column_default)),
          h("td", {}, c.is_primary_key ? h("span", { class: "badge pk" }, "PK") : null, " ",
            c.is_foreign_key ? h("span", {}, h("span", { class: "badge fk" }, "FK"), " → ", refLink(conn, c.fk_references)) : null),
          h("td", {}, c.column_comment || ""),
          h("td", { class: "num" }, fmtInt(c.null_count)),
          h("td", { class: "num" }, fmtInt(c.distinct_count)),
          h("td", { class: "num" }, fmtInt(c.profiled_rows))))))));

  // References
  const out = d.columns.filter((c) => c.is_foreign_key && c.fk_references);
  main.append(h("h2", { id: "references" }, "References"),
    h("h3", {}, "Out (this table refers to)"),
    out.length ? h("ul", { class: "plain", id: "refs-out" }, ...out.map((c) => h("li", {}, h("code", {}, c.column_name), " → ", refLink(conn, c.fk_references))))
      : h("p", { class: "muted" }, "None."),
    h("h3", {}, "In (refer to this table)"),
    d.inbound.length ? h("ul", { class: "plain", id: "refs-in" }, ...d.inbound.map((r) => h("li", {},
      h("a", { href: tableHref(connectionOf(conns, t.target, r.database), r.schema, r.table_name) }, qualified(r.schema, r.table_name)),
      ".", h("code", {}, r.column_name), " → ", h("code", {}, r.ref_column))))
      : h("p", { class: "muted" }, "None."));

  // Annotations
  const annList = h("ul", { class: "plain", id: "annotations" });
  const renderNotes = (notes) => {
    annList.replaceChildren(...notes.map((a) => h("li", {},
      h("span", { class: "badge" }, a.type.replace("_", " ")), " ", h("span", { class: "content" }, a.content),
      h("span", { class: "muted" }, ` — ${a.author}, ${a.created_at}`))));
    if (!notes.length) annList.replaceChildren(h("li", { class: "muted" }, "No annotations yet."));
  };
  renderNotes(d.annotations);
  const type = h("select", { id: "ann-type", name: "type" },
    h("option", { value: "note" }, "Note"), h("option", { value: "quality_flag" }, "Quality flag"),
    h("option", { value: "deprecation" }, "Deprecation"));
  const flag = h("select", { id: "ann-flag", name: "flag" }, ...["TRUSTED", "STALE", "INCOMPLETE", "EXPERIMENTAL"].map((f) => h("option", { value: f }, f)));
  const flagField = h("div", { class: "field", hidden: true }, h("label", { for: "ann-flag" }, "Flag"), flag);
  const text = h("textarea", { id: "ann-content", name: "content", maxlength: 10000 });
  const textField = h("div", { class: "field", style: null }, h("label", { for: "ann-content" }, "Text"), text);
  const annMsg = h("p", { role: "status", class: "muted" });
  const annErr = h("p", { class: "error", role: "alert" });
  type.addEventListener("change", () => {
    flagField.hidden = type.value !== "quality_flag";
    textField.hidden = type.value === "quality_flag";
  });
  const submit = h("button", { type: "submit" }, "Add annotation");
  const form = h("form", { class: "annotate panel", "aria-labelledby": "ann-form-title" },
    h("h3", { id: "ann-form-title" }, "Add an annotation"),
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "ann-type" }, "Kind"), type), flagField),
    textField, annErr, h("div", { class: "actions" }, submit), annMsg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    annErr.textContent = "";
    const content = type.value === "quality_flag" ? flag.value : text.value.trim();
    if (!content) { annErr.textContent = "Write the text of the annotation."; text.focus(); return; }
    submit.disabled = true;
    try {
      await api(`/tables/${enc(conn)}/${enc(schema)}/${enc(table)}/annotations`, { method: "POST", body: { type: type.value, content } });
      text.value = "";
      const fresh = await api(`/tables/${enc(conn)}/${enc(schema)}/${enc(table)}`);
      renderNotes(fresh.annotations);
      annMsg.textContent = "Annotation added.";
    } catch (err) {
      annErr.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });
  main.append(h("h2", { id: "annotations-title" }, "Annotations"), annList, form);

  // Cached data
  const cacheBox = h("div", { id: "cache" });
  const refreshMsg = h("p", { role: "status", class: "muted", id: "refresh-status" });
  const refreshErr = h("p", { class: "error", role: "alert" });
  const refreshBtn = h("button", { type: "button", id: "refresh" }, "Refresh data now");
  async function loadCache() {
    try {
      const c = await api(`/connections/${enc(conn)}`);
      const v = (c.cached || []).find((x) => x.schema_name === t.schema && x.table_name === t.table_name);
      if (!v) { cacheBox.replaceChildren(h("p", { class: "muted" }, "Not cached yet: the refresh copies it into the cache.")); return; }
      // Columns kept in a lossless fallback (the source's text or bytes) and why.
      const fb = (v.fallbacks || []).length
        ? h("ul", { class: "plain" }, ...v.fallbacks.map((f) => h("li", {}, h("code", {}, f.column), ` as ${f.storage}: ${f.reason}`)))
        : "none";
      cacheBox.replaceChildren(h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Table, scrolls sideways" }, h("table", { class: "grid", id: "versions" },
        h("caption", {}, "Current cached version"),
        h("thead", {}, h("tr", {}, ...["Version", "Rows", "Bytes", "Fallbacks", "Last refresh"].map((x) => h("th", { scope: "col" }, x)))),
        h("tbody", {}, h("tr", {}, h("td", { class: "mono version" }, v.version), h("td", { class: "num rows" }, fmtInt(v.rows)),
          h("td", { class: "num" }, fmtBytes(v.bytes)), h("td", {}, fb), h("td", {}, v.last_sync || "—"))))),
        h("p", {}, h("a", { href: `#/query?sql=${enc(`SELECT * FROM ${quoteSql(conn)}.${quoteSql(t.schema)}.${quoteSql(t.table_name)} LIMIT 100`)}` }, "Query this table")));
    } catch (e) {
      cacheBox.replaceChildren(errorBox(e));
    }
  }
  refreshBtn.addEventListener("click", async () => {
    refreshBtn.disabled = true;
    refreshErr.textContent = "";
    refreshMsg.textContent = "Refreshing…";
    try {
      const r = await api("/refresh", { method: "POST", body: { connection_id: conn, schema_name: t.schema, table_name: t.table_name, data: true } });
      refreshMsg.textContent = `Refreshed: ${fmtInt(r.rows_synced)} rows in ${r.duration_ms} ms.`;
      await loadCache();
    } catch (e) {
      refreshMsg.textContent = "";
      refreshErr.textContent = e.message;
    } finally {
      refreshBtn.disabled = false;
    }
  });
  main.append(h("h2", { id: "cache-title" }, "Cached data"), cacheBox, h("div", { class: "row" }, refreshBtn), refreshMsg, refreshErr);
  await loadCache();
  return null;
}

const quoteSql = (s) => '"' + s.replace(/"/g, '""') + '"';

// ---- databases and their ER diagrams ------------------------------------------------------

async function pageDatabases() {
  const main = pageRoot;
  setTitle("Databases");
  main.append(h("h1", {}, "Databases"));
  try {
    const conns = await connections();
    main.append(h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Table, scrolls sideways" }, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ...["Connection", "Target", "Database", "Type", "Tables", "Cached"].map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, ...conns.map((c) => h("tr", {},
        h("th", { scope: "row" }, h("a", { href: `#/database/${enc(c.connection_id)}` }, c.connection_id)),
        h("td", {}, c.target), h("td", {}, c.database), h("td", {}, c.type),
        h("td", { class: "num" }, fmtInt(c.tables)), h("td", { class: "num" }, fmtInt(c.cached_tables))))))));
  } catch (e) {
    main.append(errorBox(e));
  }
  return null;
}

let mermaidPromise = null;
// Mermaid is loaded only here, from this server (embedded in the binary).
function loadMermaid() {
  if (!mermaidPromise) {
    mermaidPromise = import("/ui/mermaid/mermaid.esm.min.mjs").then((m) => {
      const mermaid = m.default;
      mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "neutral", er: { useMaxWidth: false } });
      return mermaid;
    });
  }
  return mermaidPromise;
}

// A name Mermaid's ER grammar takes as an attribute type or name: letters, digits, _ and -.
const ident = (s) => (s.replace(/[^A-Za-z0-9_\-]/g, "_").replace(/^([^A-Za-z_])/, "_$1") || "_");
// A label inside Mermaid's double quotes: no quote, bracket or markup character survives.
const label = (s) => s.replace(/["<>&`{}\[\]#;\\]/g, "_");
const MAX_DRAWN = 30;
const MAX_ATTRS = 8;

// The graph of a connection's tables: nodes keyed by "schema.table", edges from foreign keys.
function buildGraph(tables) {
  const nodes = new Map();
  for (const t of tables) nodes.set(qualified(t.schema_name, t.table_name), t);
  const edges = [];
  for (const t of tables) {
    const from = qualified(t.schema_name, t.table_name);
    for (const c of t.columns) {
      if (!c.fk_references) continue;
      const p = splitQualified(c.fk_references);
      if (p.length < 3) continue;
      const to = qualified(p[p.length - 3], p[p.length - 2]);
      if (nodes.has(to)) edges.push({ from, to, column: c.column_name, nullable: c.is_nullable });
    }
  }
  return { nodes, edges };
}

function erText(graph, keys) {
  const alias = new Map([...keys].map((k, i) => [k, "t" + i]));
  const lines = ["erDiagram"];
  for (const k of keys) {
    const t = graph.nodes.get(k);
    const cols = t.columns.filter((c) => c.is_primary_key || c.fk_references);
    const rest = t.columns.filter((c) => !c.is_primary_key && !c.fk_references);
    const shown = cols.concat(rest.slice(0, Math.max(0, MAX_ATTRS - cols.length)));
    lines.push(`  ${alias.get(k)}["${label(k)}"] {`);
    for (const c of shown) {
      const keyMark = [c.is_primary_key ? "PK" : null, c.fk_references ? "FK" : null].filter(Boolean).join(",");
      lines.push(`    ${ident(c.data_type || "unknown")} ${ident(c.column_name)}${keyMark ? " " + keyMark : ""}`);
    }
    if (t.columns.length > shown.length) lines.push(`    more _${t.columns.length - shown.length}_columns`);
    lines.push("  }");
  }
  for (const e of graph.edges) {
    if (!alias.has(e.from) || !alias.has(e.to)) continue;
    lines.push(`  ${alias.get(e.from)} }o--${e.nullable ? "o|" : "||"} ${alias.get(e.to)} : "${label(e.column)}"`);
  }
  return { text: lines.join("\n"), alias };
}

let diagramSeq = 0;
async function pageDatabase(segs, params) {
  const main = pageRoot;
  const conn = segs[0];
  setTitle(conn + " diagram");
  main.append(h("h1", {}, "Database ", h("span", { class: "mono" }, conn)));
  const focusInput = h("input", { type: "search", id: "focus", list: "focus-tables", autocomplete: "off", "aria-describedby": "focus-help" });
  const datalist = h("datalist", { id: "focus-tables" });
  const help = h("p", { id: "focus-help", class: "muted" });
  const diagram = h("div", { class: "diagram", id: "diagram", role: "group", "aria-label": "Entity-relationship diagram" });
  const errP = h("p", { class: "error", role: "alert" });
  const tableList = h("ul", { class: "plain", id: "db-tables" });
  main.append(
    h("form", { class: "searchbar", role: "search", onsubmit: (e) => { e.preventDefault(); go(); } },
      h("div", { class: "field grow" }, h("label", { for: "focus" }, "Focus on a table"), focusInput, datalist),
      h("div", { class: "field" }, h("button", { type: "submit" }, "Draw")),
      h("div", { class: "field" }, h("button", { type: "button", class: "secondary", onclick: () => { focusInput.value = ""; go(); } }, "Whole database"))),
    help, errP, diagram, h("h2", {}, "Tables"), tableList);

  let graph;
  try {
    const info = await api(`/information_schema?connection_id=${enc(conn)}`);
    graph = buildGraph(info.tables);
  } catch (e) {
    errP.textContent = e.message;
    return null;
  }
  for (const k of [...graph.nodes.keys()].sort()) {
    datalist.append(h("option", { value: k }));
    const t = graph.nodes.get(k);
    tableList.append(h("li", {}, h("a", { href: tableHref(conn, t.schema_name, t.table_name) }, k)));
  }

  function go() {
    const p = new URLSearchParams();
    if (focusInput.value.trim()) p.set("focus", focusInput.value.trim());
    const hash = `#/database/${enc(conn)}` + (p.toString() ? "?" + p : "");
    if (location.hash !== hash) location.hash = hash; else draw(p.get("focus") || "");
  }

  async function draw(focus) {
    errP.textContent = "";
    focusInput.value = focus;
    let keys;
    if (focus) {
      if (!graph.nodes.has(focus)) { errP.textContent = `No table ${focus} in ${conn}.`; return; }
      keys = new Set([focus]);
      for (const e of graph.edges) {
        if (e.from === focus) keys.add(e.to);
        if (e.to === focus) keys.add(e.from);
      }
      help.textContent = `${focus} and the ${keys.size - 1} table${keys.size === 2 ? "" : "s"} it refers to or that refer to it.`;
    } else if (graph.nodes.size > MAX_DRAWN) {
      diagram.replaceChildren(h("p", { class: "muted" }, `${graph.nodes.size} tables: too many for one readable picture. Choose a table to focus on; its neighbours are drawn with it.`));
      help.textContent = "";
      return;
    } else {
      keys = new Set(graph.nodes.keys());
      help.textContent = `All ${keys.size} tables. Click a box to open its table.`;
    }
    diagram.replaceChildren(h("p", { class: "muted" }, "Drawing…"));
    try {
      const mermaid = await loadMermaid();
      const { text, alias } = erText(graph, keys);
      const { svg } = await mermaid.render("er" + ++diagramSeq, text);
      const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
      const el = document.importNode(doc.documentElement, true);
      el.setAttribute("role", "group");
      el.setAttribute("aria-label", `Diagram of ${keys.size} tables of ${conn}`);
      diagram.replaceChildren(el);
      linkEntities(el, alias);
      announce(`Diagram drawn: ${keys.size} tables.`);
    } catch (e) {
      diagram.replaceChildren();
      errP.textContent = "Cannot draw the diagram: " + (e.message || e);
    }
  }

  // Makes each entity box a link to its table page (mouse, Enter and Space).
  function linkEntities(svg, alias) {
    const byAlias = new Map([...alias].map(([k, a]) => [a, k]));
    for (const g of svg.querySelectorAll("g[id]")) {
      const m = /^(?:[^-]*-)?entity-(t\d+)(?:-\d+)?$/.exec(g.id) || /-(t\d+)-\d+$/.exec(g.id);
      if (!m || !byAlias.has(m[1]) || g.closest(".dscat-entity")) continue;
      const key = byAlias.get(m[1]);
      const t = graph.nodes.get(key);
      const href = tableHref(conn, t.schema_name, t.table_name);
      g.classList.add("dscat-entity");
      g.setAttribute("data-table", key);
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "link");
      g.setAttribute("aria-label", "Open table " + key);
      g.addEventListener("click", () => { location.hash = href; });
      g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); location.hash = href; } });
    }
  }

  await draw(params.get("focus") || "");
  return null;
}

// ---- status --------------------------------------------------------------------------------

async function pageStatus() {
  const main = pageRoot;
  setTitle("Status");
  main.append(h("h1", {}, "Status"));
  const [status, schedule, metrics] = await Promise.allSettled([api("/status"), api("/schedule"), api("/metrics", { raw: true })]);
  if (status.status === "rejected") { main.append(errorBox(status.reason)); return null; }
  const s = status.value;
  main.append(h("p", {}, "Catalog: ", h("span", { class: "status-" + s.status, id: "catalog-state" }, s.status.replace("_", " ")),
    s.last_updated ? ` — last updated ${s.last_updated}` : ""),
  h("p", { class: "muted" }, `${fmtInt(s.counts.targets)} targets, ${fmtInt(s.counts.databases)} databases, ${fmtInt(s.counts.tables)} tables, ${fmtInt(s.counts.columns)} columns`));
  main.append(h("h2", {}, "Targets and their last scans"), h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Table, scrolls sideways" }, h("table", { class: "grid", id: "targets" },
    h("thead", {}, h("tr", {}, ...["Target", "Status", "Last success", "Last problem", "Databases", "Tables", "Columns"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, ...(s.targets || []).map((t) => h("tr", {},
      h("th", { scope: "row" }, t.target), h("td", { class: "status-" + t.status }, t.status),
      h("td", {}, t.last_success || "never"), h("td", {}, t.last_problem || "—"),
      h("td", { class: "num" }, fmtInt(t.databases)), h("td", { class: "num" }, fmtInt(t.tables)), h("td", { class: "num" }, fmtInt(t.columns))))))));
  const problems = [];
  for (const t of s.targets || []) {
    if (t.last_problem) problems.push(`${t.target}: ${t.last_problem}`);
    if (t.status !== "ok") problems.push(`${t.target}: last scan ${t.status}`);
  }
  if (s.status === "STALE") problems.push(`The catalog is stale: last updated ${s.last_updated}.`);
  if (s.exports_in_step === false) problems.push("The exports are behind the store: the next command repairs them.");
  main.append(h("h2", {}, "Problems"), problems.length
    ? h("ul", { class: "plain", id: "problems" }, ...problems.map((p) => h("li", { class: "warn" }, typeof p === "string" ? p : JSON.stringify(p))))
    : h("p", { class: "muted" }, "None."));

  // Changes since the previous scan, per target (GET /diff).
  const changes = h("div", { id: "changes" });
  main.append(h("h2", {}, "Changes since the previous scan"), changes);
  await Promise.all((s.targets || []).map(async (t) => {
    const sec = h("section", { "aria-label": "Changes of " + t.target }, h("h3", {}, t.target));
    changes.append(sec);
    try {
      const d = await api(`/diff?target=${enc(t.target)}`);
      sec.append(h("p", { class: "muted" }, `scan ${d.from_scan} → ${d.to_scan}: ${d.changes.length} change${d.changes.length === 1 ? "" : "s"}`));
      if (d.changes.length) sec.append(h("ul", { class: "plain" }, ...d.changes.slice(0, 200).map((c) => h("li", {},
        h("span", { class: "badge" }, c.change), " ", qualified(...[c.database, c.schema, c.table, c.column].filter((x) => x !== null && x !== undefined && x !== "")),
        c.detail ? ` (${c.detail})` : ""))));
    } catch (e) {
      sec.append(h("p", { class: "muted" }, e.message));
    }
  }));

  main.append(h("h2", {}, "Schedules"));
  if (schedule.status === "rejected") main.append(errorBox(schedule.reason));
  else if (!schedule.value.schedules.length) main.append(h("p", { class: "muted" }, "No schedules (refresh_every in targets.toml)."));
  else main.append(h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Table, scrolls sideways" }, h("table", { class: "grid", id: "schedules" },
    h("thead", {}, h("tr", {}, ...["Kind", "What", "Every", "Last run", "Result", "Next run"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, ...schedule.value.schedules.map((x) => h("tr", {},
      h("td", {}, x.kind), h("td", {}, [x.connection_id, x.schema_name, x.table_name].filter(Boolean).join(" ")),
      h("td", {}, `${fmtInt(x.every_seconds)} s`), h("td", {}, x.last_finished || x.last_started || "never"),
      h("td", {}, x.result || "—", x.error ? ` (${x.error})` : ""), h("td", {}, x.next_run || "—")))))));

  main.append(h("h2", {}, "Pending deletions"));
  const m = metrics.status === "fulfilled" ? /^dscat_pending_deletions (\d+)/m.exec(metrics.value) : null;
  main.append(h("p", { id: "pending" }, m ? `${fmtInt(m[1])} cached versions wait for deletion after the grace period.` : "Not available."));
  return null;
}

// ---- query ---------------------------------------------------------------------------------

async function pageQuery(_segs, params) {
  const main = pageRoot;
  setTitle("Query");
  const sql = h("textarea", { id: "sql", class: "sql", spellcheck: "false", "aria-describedby": "sql-help" }, params.get("sql") || "");
  const limit = h("input", { type: "number", id: "limit", min: 1, max: 1000000, value: params.get("limit") || 100 });
  const run = h("button", { type: "submit", id: "run" }, "Run");
  const info = h("p", { role: "status", id: "query-info", class: "muted" });
  const errP = h("p", { class: "error", role: "alert", id: "query-error" });
  const out = h("div", { id: "query-result", class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Query result, scrolls sideways" });
  const form = h("form", {},
    h("label", { for: "sql" }, "SQL over the cached tables"),
    sql,
    h("p", { id: "sql-help", class: "muted" }, 'Tables are named "connection"."schema"."table". One query (SELECT, WITH, VALUES, DESCRIBE); Ctrl+Enter runs it.'),
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "limit" }, "Row limit"), limit), h("div", { class: "field" }, run)));
  main.append(h("h1", {}, "Query the cache"), form, info, errP, out);
  sql.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); } });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    errP.textContent = "";
    info.textContent = "Running…";
    run.disabled = true;
    const n = Number(limit.value) || 100;
    try {
      const r = await api("/query", { method: "POST", body: { sql: sql.value, limit: n } });
      info.textContent = `${fmtInt(r.row_count)} row${r.row_count === 1 ? "" : "s"} in ${r.duration_ms} ms; row limit ${fmtInt(n)}` +
        (r.truncated ? " reached: more rows were not fetched." : ".");
      out.replaceChildren(h("table", { class: "grid", id: "result-table" },
        h("caption", {}, "Result"),
        h("thead", {}, h("tr", {}, ...r.columns.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, ...r.rows.map((row) => h("tr", {}, ...row.map((v) => h("td", {}, v === null ? h("span", { class: "muted" }, "NULL") : v)))))));
    } catch (err) {
      info.textContent = "";
      out.replaceChildren();
      errP.textContent = err.message;
    } finally {
      run.disabled = false;
    }
  });
  sql.focus();
  return null;
}

function pageNotFound() {
  const main = pageRoot;
  setTitle("Not found");
  main.append(h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/" }, "Back to search")));
  return null;
}

window.addEventListener("hashchange", route);
route();
