// The web UI end to end in Debian's chromium, driven by puppeteer-core and checked by axe-core
// (both pinned in scripts/install-deps, in .deps/ui): the user's path through every page, each
// step asserted on what the page shows, screenshots in OUTDIR, every request the page makes
// recorded (all must go to the dscat server), no Content-Security-Policy violation, no script
// error, no dialog opened by a hostile name, and no serious or critical axe violation per page.
//
//   node tests/tools/ui-test.mjs BASE_URL OUTDIR
// Environment: UI_TOKEN (the server's DSCAT_API_TOKEN: typed into the page when it asks),
// UI_PG (the Pagila connection id; its pages are checked when set), UI_HOSTILE (the connection
// holding the hostile table names), UI_SHOTS (a directory that also receives search.png and
// table.png, for the README), CHROMIUM (default /usr/bin/chromium).
// Prints "ok NAME" or "FAIL NAME: why" per check; exits 1 when any failed, 2 when it could not run.
import { existsSync, mkdirSync, readFileSync, copyFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const [base, outdir] = process.argv.slice(2);
if (!base || !outdir) {
  console.error("usage: node tests/tools/ui-test.mjs BASE_URL OUTDIR");
  process.exit(2);
}
const deps = fileURLToPath(new URL("../../.deps/ui/node_modules/", import.meta.url));
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
if (!existsSync(chromium) || !existsSync(deps + "puppeteer-core/package.json") || !existsSync(deps + "axe-core/axe.min.js")) {
  console.log(`FAIL setup: ${chromium} or .deps/ui (puppeteer-core, axe-core) is missing: run scripts/install-deps`);
  process.exit(2);
}
const { default: puppeteer } = await import(deps + "puppeteer-core/lib/esm/puppeteer/puppeteer-core.js");
const axeSource = readFileSync(deps + "axe-core/axe.min.js", "utf8");
mkdirSync(outdir, { recursive: true });

let failures = 0;
function ok(name) { console.log(`ok ${name}`); }
function fail(name, why) { failures++; console.log(`FAIL ${name}: ${String(why).replace(/\s+/g, " ").slice(0, 400)}`); }
async function check(name, fn) {
  try {
    const r = await fn();
    if (r === false) fail(name, "condition false"); else ok(name);
  } catch (e) {
    fail(name, e && e.message ? e.message : e);
  }
}
function expect(cond, why) { if (!cond) throw new Error(why); }

const origin = new URL(base).origin;
const requests = [];
const problems = [];
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-features=Translate,OptimizationHints,MediaRouter", "--metrics-recording-only",
    // As with the network off: no host name resolves, only the server's loopback address works.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
let page;
try {
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("request", (r) => requests.push(r.url()));
  // The UI's own files as they came over the wire (compressed): every page together.
  const assetBytes = new Map();
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (r.status() === 200 && (u.pathname === "/" || u.pathname.startsWith("/ui/")))
      assetBytes.set(u.pathname, Number(r.headers()["content-length"] || 0));
  });
  page.on("console", (m) => {
    const t = m.text();
    if (/Content.Security.Policy|Refused to/i.test(t)) problems.push("CSP: " + t);
    else if (m.type() === "error" && !/status of (400|404|401)/.test(t)) problems.push("console error: " + t);
  });
  page.on("pageerror", (e) => problems.push("script error: " + e.message));
  page.on("dialog", async (d) => { problems.push("a dialog opened: " + d.message()); await d.dismiss(); });

  const shot = async (name) => {
    await page.screenshot({ path: path.join(outdir, name + ".png"), fullPage: false });
    if (process.env.UI_SHOTS && (name === "search" || name === "table")) {
      mkdirSync(process.env.UI_SHOTS, { recursive: true });
      copyFileSync(path.join(outdir, name + ".png"), path.join(process.env.UI_SHOTS, "ui-" + name + ".png"));
    }
  };
  const axe = async (name) => {
    await check(`axe: no serious or critical violation on the ${name} page`, async () => {
      const has = await page.evaluate(() => typeof window.axe !== "undefined");
      if (!has) await page.evaluate(axeSource); // through DevTools: no inline script, CSP untouched
      const res = await page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ["violations"] });
        return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
      });
      expect(res.length === 0, res.join("; "));
    });
  };
  const text = (sel) => page.$eval(sel, (e) => e.textContent);
  const waitText = (sel, re, timeout = 15000) => page.waitForFunction((s, src) => {
    const e = document.querySelector(s);
    return e && new RegExp(src).test(e.textContent);
  }, { timeout }, sel, re.source);
  const h1 = () => text("main h1");
  const go = async (hash) => {
    await page.evaluate((h) => { location.hash = h; }, hash);
    await new Promise((r) => setTimeout(r, 50));
  };

  // The page, and the token when the server has one.
  const t0 = Date.now();
  const resp = await page.goto(base + "/", { waitUntil: "domcontentloaded" });
  await check("GET / answers the page with a CSP of default-src 'self'", () => {
    const h = resp.headers();
    expect(resp.status() === 200, "status " + resp.status());
    expect(/^text\/html/.test(h["content-type"]), "content-type " + h["content-type"]);
    expect(/default-src 'self'/.test(h["content-security-policy"] || ""), "csp " + h["content-security-policy"]);
    expect(h["content-encoding"] === "gzip", "not gzip-compressed: " + h["content-encoding"]);
    expect(h.etag && /no-cache/.test(h["cache-control"] || ""), "etag/cache-control");
  });
  if (process.env.UI_TOKEN) {
    await check("the page asks for the token once and keeps it for the session", async () => {
      await page.waitForSelector("#token-dialog[open]", { timeout: 10000 });
      await page.type("#token-input", process.env.UI_TOKEN);
      await page.click("#token-form button[type=submit]");
      await page.waitForFunction(() => !document.querySelector("#token-dialog").open);
      const kept = await page.evaluate(() => sessionStorage.getItem("dscat-token"));
      expect(kept === process.env.UI_TOKEN, "not in sessionStorage");
    });
  }

  // Search "invoice": ranked like find, the top hit opened with the keyboard.
  await check("search: typing 'invoice' lists hits with name, type, keys, rows and why", async () => {
    await page.waitForSelector("#q");
    await page.keyboard.press("/");
    expect(await page.evaluate(() => document.activeElement.id) === "q", "'/' does not focus the box");
    // puppeteer sends the "/" character apart from its keydown, so it lands in the box even
    // though the page cancels the keydown (a browser does not insert it): start from empty.
    await page.$eval("#q", (e) => { e.value = ""; });
    await page.type("#q", "invoice");
    await waitText("#results li:first-child", /Invoice/, 10000);
    const first = await text("#results li:first-child");
    expect(/Invoice/.test(first), "top hit: " + first);
    expect(/type/.test(first) && /rows/.test(first) && /Matched:/.test(first) && /PK/.test(first), "fields missing: " + first);
    expect(/“invoice” in table name/.test(first), "why it matched: " + first);
  });
  // After a reload the search page renders again from its URL. How long that takes is a figure
  // of bench/ui, printed here for information only: a test never asserts a time.
  await check("search: a reload renders the page and its hits again", async () => {
    await page.reload({ waitUntil: "domcontentloaded" });
    await waitText("#results li:first-child", /Invoice/, 10000);
    const ms = await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime);
    console.log(`info first contentful paint after a reload: ${ms === undefined ? "not reported" : Math.round(ms) + " ms"}`);
  });
  await check("search: the target filter keeps that target's hits only", async () => {
    const targets = await page.$$eval("#f-target option", (o) => o.map((x) => x.value).filter(Boolean));
    expect(targets.includes("chin"), "targets " + targets);
    await page.select("#f-target", "chin");
    await new Promise((r) => setTimeout(r, 100));
    const names = await page.$$eval("#results .qname", (e) => e.map((x) => x.textContent));
    expect(names.length > 0 && names.every((n) => n.startsWith("chin:")), names.join(","));
    await page.select("#f-target", "");
  });
  await shot("search");
  await axe("search");
  await check("search: arrows move through the hits and Enter opens the top hit", async () => {
    await page.focus("#q");
    await page.keyboard.press("ArrowDown");
    expect(await page.evaluate(() => document.activeElement.id) === "hit-0", "focus not on hit 0");
    await page.keyboard.press("ArrowDown");
    expect(await page.evaluate(() => document.activeElement.id) === "hit-1", "focus not on hit 1");
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#columns", { timeout: 10000 });
    expect(/^chin:.*\.Invoice$/.test(await h1()), "h1 " + (await h1()));
    expect(/#\/table\/chin\/main\/Invoice$/.test(page.url()), "url " + page.url());
  });

  // The table page.
  await check("table: columns with types, nullability, keys and references", async () => {
    const rows = await page.$$eval("table.grid tbody tr", (r) => r.map((x) => x.textContent));
    expect(rows.some((r) => /InvoiceId/.test(r) && /INTEGER/.test(r) && /PK/.test(r)), "InvoiceId PK");
    expect(rows.some((r) => /CustomerId/.test(r) && /FK/.test(r)), "CustomerId FK");
    expect(/InvoiceLine/.test(await text("#refs-in")), "inbound InvoiceLine");
  });
  await shot("table");
  await axe("table");
  await check("table: following the foreign key opens Customer", async () => {
    await page.click("#refs-out a");
    await waitText("main h1", /\.Customer$/);
    await page.waitForSelector("#columns");
  });
  const word = "uicheck" + Math.floor(Math.random() * 1e9);
  await check("table: an annotation added through the form is listed", async () => {
    await page.waitForSelector("#ann-content");
    await page.select("#ann-type", "note");
    await page.type("#ann-content", `reviewed by ${word}`);
    await page.click("form.annotate button[type=submit]");
    await waitText("#annotations", new RegExp(word));
  });
  await check("search finds the annotation and says why", async () => {
    await go("#/");
    await page.waitForSelector("#q");
    await page.evaluate(() => { document.querySelector("#q").value = ""; });
    await page.type("#q", word);
    await waitText("#results", /Customer/);
    const first = await text("#results li:first-child");
    expect(/Customer/.test(first) && new RegExp(`in note: reviewed by ${word}`).test(first), first);
  });

  // The database page: the ER diagram, a box clicked.
  await check("database: the Chinook diagram draws every table as a box", async () => {
    await go("#/database/chin");
    await page.waitForSelector("#diagram svg g.dscat-entity", { timeout: 30000 });
    const n = await page.$$eval("#diagram g.dscat-entity", (g) => g.length);
    expect(n === 11, `${n} boxes`);
  });
  await shot("database");
  await axe("database");
  await check("database: clicking the Track box opens its table page", async () => {
    await page.click('#diagram g.dscat-entity[data-table="main.Track"]');
    await waitText("main h1", /\.Track$/);
  });

  // Refresh a cached table and see the new version.
  await check("table: the refresh button publishes a new cached version", async () => {
    await go("#/table/chin/main/Invoice");
    await waitText("main h1", /\.Invoice$/);
    await page.waitForSelector("#refresh");
    await page.waitForFunction(() => document.querySelector("#cache") && document.querySelector("#cache").textContent !== "");
    const before = await page.$eval("#cache", (e) => (e.querySelector(".version") || {}).textContent || "");
    await page.click("#refresh");
    await waitText("#refresh-status", /Refreshed: 412 rows/, 60000);
    await page.waitForFunction((b) => { const v = document.querySelector("#cache .version"); return v && v.textContent !== b; }, { timeout: 10000 }, before);
    const first = await text("#cache .version");
    expect(/^v\d{8}T/.test(first), "version " + first);
    expect(/412/.test(await text("#cache .rows")), "rows");
    await page.click("#refresh");
    await page.waitForFunction((b) => { const v = document.querySelector("#cache .version"); return v && v.textContent !== b; }, { timeout: 60000 }, first);
  });

  // The query page.
  await check("query: a query's rows in a table with the row limit shown", async () => {
    await go("#/query");
    await page.waitForSelector("#sql");
    await page.type("#sql", 'SELECT "BillingCountry", count(*) AS n FROM chin.main.Invoice GROUP BY 1 ORDER BY n DESC, 1');
    await page.$eval("#limit", (e) => { e.value = "3"; });
    await page.click("#run");
    await waitText("#query-info", /row limit 3/);
    expect(/USA/.test(await text("#result-table")), "USA row");
    expect(await page.$$eval("#result-table tbody tr", (r) => r.length) === 3, "3 rows");
    expect(/reached/.test(await text("#query-info")), "truncation not shown");
  });
  await shot("query");
  await axe("query");
  await check("query: an error is shown inline", async () => {
    await page.$eval("#sql", (e) => { e.value = "SELECT * FROM chin.main.NoSuchTable"; });
    await page.click("#run");
    await waitText("#query-error", /\S/);
  });

  // The status page.
  await check("status: targets, their last scans and schedules", async () => {
    await go("#/status");
    await page.waitForSelector("#targets");
    expect(/chin/.test(await text("#targets")) && /ok/.test(await text("#targets")), await text("#targets"));
    await waitText("#changes", /chin/);
    await page.waitForSelector("#pending");
  });
  await shot("status");
  await axe("status");
  await check("databases: every connection listed with a link to its diagram", async () => {
    await go("#/databases");
    await page.waitForSelector("main table.grid a");
    expect(/chin/.test(await text("main table.grid")), await text("main table.grid"));
  });
  await axe("databases");

  // Hostile names are text, never markup.
  if (process.env.UI_HOSTILE) {
    const conn = process.env.UI_HOSTILE;
    await check("hostile names: search shows them as text, no element is created", async () => {
      await go("#/");
      await page.waitForSelector("#q");
      await page.evaluate(() => { document.querySelector("#q").value = ""; });
      await page.type("#q", "onerror");
      await waitText("#results", /<img src=x onerror=alert\(1\)>/);
      expect(await page.$$eval("#results img, #results b", (e) => e.length) === 0, "markup was inserted");
    });
    await check("hostile names: the table page and its diagram keep them as text", async () => {
      await page.click("#results li:first-child a");
      await waitText("main h1", /<img src=x onerror=alert\(1\)>/);
      expect(await page.$$eval("main img, main b", (e) => e.length) === 0, "markup was inserted");
      await go(`#/database/${encodeURIComponent(conn)}`);
      await page.waitForSelector("#diagram svg g.dscat-entity", { timeout: 30000 });
      expect(await page.$$eval("#diagram img, #diagram b", (e) => e.length) === 0, "markup in the diagram");
      await page.click("#diagram g.dscat-entity");
      await page.waitForSelector("#columns");
    });
  }

  // Pagila (PostgreSQL): a search, a foreign key, the diagram focused on one table.
  if (process.env.UI_PG) {
    const conn = process.env.UI_PG;
    await check("pagila: search 'rental' and follow rental's foreign key to inventory", async () => {
      await go(`#/search?q=rental&target=${encodeURIComponent(conn.split(".")[0])}`);
      await page.waitForSelector("#q");
      await page.evaluate(() => { document.querySelector("#q").value = ""; });
      await page.type("#q", "rental");
      await waitText("#results", /public\.rental/);
      const href = await page.$$eval("#results a", (a) => a.map((x) => x.getAttribute("href")).find((h) => /\/public\/rental$/.test(h)));
      expect(href, "no hit on public.rental");
      await go(href);
      await page.waitForSelector("#refs-out");
      const link = await page.$$eval("#refs-out a", (a) => a.map((x) => x.getAttribute("href")).find((h) => /\/inventory$/.test(h)));
      expect(link, "no reference to inventory");
      await page.click(`#refs-out a[href="${link}"]`);
      await waitText("main h1", /\.inventory$/);
    });
    await check("pagila: the diagram focused on film draws film and its neighbours only", async () => {
      await go(`#/database/${encodeURIComponent(conn)}?focus=public.film`);
      await page.waitForSelector("#diagram svg g.dscat-entity", { timeout: 30000 });
      const boxes = await page.$$eval("#diagram g.dscat-entity", (g) => g.map((x) => x.getAttribute("data-table")));
      expect(boxes.includes("public.film") && boxes.includes("public.language") && boxes.includes("public.inventory"), boxes.join(","));
      expect(!boxes.includes("public.payment"), "payment is not film's neighbour: " + boxes.join(","));
      await page.click('#diagram g.dscat-entity[data-table="public.language"]');
      await waitText("main h1", /\.language$/);
    });
    await go(`#/database/${encodeURIComponent(conn)}?focus=public.film`);
    await page.waitForSelector("#diagram svg g.dscat-entity", { timeout: 30000 });
    await shot("pagila-database");
    await axe("Pagila database");
  }

  await check("narrow window: no horizontal scroll of the page on 360 px", async () => {
    await page.setViewport({ width: 360, height: 740 });
    await go("#/table/chin/main/Invoice");
    await page.waitForSelector("#columns");
    const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(over <= 1, `page is ${over} px wider than the window`);
    await shot("narrow-table");
    await page.setViewport({ width: 1280, height: 900 });
  });

  await check("network: every request the page made went to the dscat server", () => {
    const away = requests.filter((u) => !u.startsWith(origin + "/"));
    expect(requests.length > 0, "no request recorded");
    expect(away.length === 0, away.slice(0, 5).join(", "));
  });
  await check("weight: all the UI's files together, Mermaid included, under 512 KiB on the wire", () => {
    const total = [...assetBytes.values()].reduce((a, b) => a + b, 0);
    expect(assetBytes.size > 3 && total > 0, `${assetBytes.size} files`);
    expect(total < 512 * 1024, `${(total / 1024).toFixed(1)} KiB in ${assetBytes.size} files`);
    console.log(`info the UI's files: ${(total / 1024).toFixed(1)} KiB compressed in ${assetBytes.size} files`);
  });
  await check("no CSP violation, script error or dialog", () => {
    expect(problems.length === 0, problems.slice(0, 5).join(" | "));
  });
  console.log(`info ${requests.length} requests recorded, ${Date.now() - t0} ms`);
} catch (e) {
  fail("the run", e && e.stack ? e.stack : e);
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
