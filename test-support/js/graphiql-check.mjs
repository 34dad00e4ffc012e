// Drives GraphiQL in headless Chromium (the system's, through playwright-core): loads the page,
// types a query into the editor, runs it, and waits for `expected` to appear in the result
// pane. Exit 0 when it does, 1 (with what the page showed) when it does not.
// Usage: node graphiql-check.mjs <page-url> <query> <expected> [chromium-path]
// Env: WAIT_MS (how long to wait for each step, default 30000), SCREENSHOT (a PNG path to
// save the page to at the end).
import { chromium } from 'playwright-core';

const [url, query, expected, executable = process.env.CHROMIUM ?? '/usr/bin/chromium'] = process.argv.slice(2);
if (!url || !query || !expected) {
  console.error('usage: node graphiql-check.mjs <page-url> <query> <expected> [chromium-path]');
  process.exit(2);
}

const wait = Number(process.env.WAIT_MS ?? 30_000);
const browser = await chromium.launch({
  executablePath: executable,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const problems = [];
try {
  const page = await browser.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));

  await page.goto(url, { waitUntil: 'load', timeout: wait });
  const editor = '.graphiql-query-editor .CodeMirror';
  await page.waitForSelector(editor, { timeout: wait });
  await page.evaluate(
    ([selector, text]) => document.querySelector(selector).CodeMirror.setValue(text),
    [editor, query],
  );
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    (text) => document.querySelector('.graphiql-response')?.innerText.includes(text),
    expected,
    { timeout: wait },
  );
  const shown = await page.innerText('.graphiql-response');
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
  console.log(`RESULT ${JSON.stringify(shown)}`);
  await browser.close();
  process.exit(0);
} catch (error) {
  console.error(`GraphiQL check failed: ${error.message}`);
  for (const problem of problems) console.error(problem);
  await browser.close();
  process.exit(1);
}
