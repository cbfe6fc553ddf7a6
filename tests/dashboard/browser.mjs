// Drives the dashboard in headless Chromium as an operator would. Called by
// tests/dashboard/browser.rs with: BASE TOKEN RUN_ID SCREENSHOT_DIR.
// Prints one line, `ok`, or exits non-zero with what went wrong.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.SLUICE_PLAYWRIGHT);
const [base, token, runId, shots] = process.argv.slice(2);

function check(condition, what) {
  if (!condition) throw new Error(what);
}

const browser = await chromium.launch({
  executablePath: process.env.SLUICE_CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const scripts = [];
  page.on("dialog", (d) => { scripts.push(d.message()); d.dismiss(); });

  // Run history: the partial run, opened from the list.
  await page.goto(`${base}/runs`);
  await page.screenshot({ path: `${shots}/runs.png`, fullPage: true });
  await page.click(`a[href="/runs/${runId}"]`);
  await page.waitForURL(`${base}/runs/${runId}`);
  const detail = await page.textContent("main");
  check(detail.includes("invalid-phone"), "the run page shows the group's code");
  check(detail.includes("Fix:"), "the run page shows the group's hint");
  await page.screenshot({ path: `${shots}/run.png`, fullPage: true });

  // Sign in with the token, back to the DLQ.
  await page.goto(`${base}/login?next=/dlq`);
  await page.fill('input[name="token"]', token);
  await page.click('button[type="submit"]');
  await page.waitForURL(`${base}/dlq`);

  // Search by record key.
  await page.fill('input[name="key"]', "c002");
  await page.click('form.filters button[type="submit"]');
  await page.waitForURL(/key=c002/);
  check((await page.locator("tbody tr").count()) === 1, "the key search finds one entry");

  // Select two entries, dry run, then replay.
  await page.goto(`${base}/dlq`);
  await page.screenshot({ path: `${shots}/dlq.png`, fullPage: true });
  const boxes = page.locator('input[type="checkbox"][name="id"]');
  check((await boxes.count()) === 11, "11 open entries");
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.click('button[value="dry-run"]');
  await page.waitForURL(`${base}/dlq/replay`);
  const dry = await page.textContent("main");
  check(dry.includes("Replay these 2 entries"), `the dry run offers to replay the two entries: ${dry}`);
  await page.screenshot({ path: `${shots}/dry-run.png`, fullPage: true });
  await page.click("text=Replay these 2 entries");
  await page.waitForSelector("p.notice");
  const done = await page.textContent("main");
  check(done.includes("2 resolved, 0 failing again"), `the replay resolves both: ${done}`);

  await page.goto(`${base}/dlq`);
  check((await boxes.count()) === 9, "9 entries left open");
  // Promote the other version of `casing`, then roll back.
  await page.goto(`${base}/plugins/casing`);
  await page.click('button:has-text("Promote")');
  await page.waitForURL(`${base}/plugins/casing`);
  check((await page.textContent("main")).includes("promote"), "the promotion is in the history");
  await page.screenshot({ path: `${shots}/plugin.png`, fullPage: true });
  await page.fill('input[name="reason"]', "lowercase broke names");
  await page.click('button:has-text("Roll back")');
  await page.waitForURL(`${base}/plugins/casing`);
  check((await page.textContent("main")).includes("lowercase broke names"), "the rollback's reason is in the history");

  check(scripts.length === 0, `a script ran in a page: ${scripts}`);
  console.log("ok");
} finally {
  await browser.close();
}
