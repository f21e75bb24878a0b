// bench/ui's measuring half: loads each page of the web UI in a fresh chromium tab (cache off)
// and prints what it weighs on the wire (the compressed bytes of every response it loaded) and
// how long its first render took (first-contentful-paint, and until the page's data is shown).
//   node bench/ui_bench.mjs BASE_URL CONNECTION TABLE_PATH
import { fileURLToPath } from "node:url";

const [base, conn, tablePath] = process.argv.slice(2);
const deps = fileURLToPath(new URL("../.deps/ui/node_modules/", import.meta.url));
const { default: puppeteer } = await import(deps + "puppeteer-core/lib/esm/puppeteer/puppeteer-core.js");
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
const pages = [
  ["search", "#/search?q=invoice", "#results li"],
  ["table", "#/table/" + tablePath, "#cache table, #cache p"],
  ["database", "#/database/" + encodeURIComponent(conn), "#diagram svg"],
  ["status", "#/status", "#pending"],
  ["query", "#/query", "#sql"],
];
const RUNS = Number(process.env.RUNS || 5);
console.log(`${"page".padEnd(10)} ${"requests".padStart(8)} ${"compressed".padStart(12)} ${"FCP ms".padStart(8)} ${"ready ms".padStart(9)}   (median of ${RUNS})`);
let worst = 0;
for (const [name, hash, ready] of pages) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const ctx = await browser.createBrowserContext();
    const page = await ctx.newPage();
    const cdp = await page.createCDPSession();
    await cdp.send("Network.enable");
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    let bytes = 0;
    let requests = 0;
    cdp.on("Network.loadingFinished", (e) => { bytes += e.encodedDataLength; requests++; });
    const t0 = Date.now();
    await page.goto(base + "/" + hash, { waitUntil: "domcontentloaded" });
    await page.waitForSelector(ready, { timeout: 30000 });
    const readyMs = Date.now() - t0;
    await page.waitForNetworkIdle({ idleTime: 200 });
    const fcp = await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN);
    runs.push({ bytes, requests, fcp, readyMs });
    await ctx.close();
  }
  const med = (k) => runs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  worst = Math.max(worst, med("bytes"));
  console.log(`${name.padEnd(10)} ${String(med("requests")).padStart(8)} ${(med("bytes") / 1024).toFixed(1).padStart(9)} KiB ${med("fcp").toFixed(0).padStart(8)} ${String(med("readyMs")).padStart(9)}`);
}
console.log(`heaviest page: ${(worst / 1024).toFixed(1)} KiB on the wire (goal: well under 1024 KiB); first render goal: under 300 ms`);
await browser.close();
