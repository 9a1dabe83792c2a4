// End-to-end: the demo console and /alimi.js in headless Chromium against a running Alimi (ALIMI_URL) whose bridge
// consumes the Kafka topic the console's producer panel writes to. Run by BrowserIT (part of scripts/test):
//   ALIMI_URL=http://127.0.0.1:8080 node --test e2e/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch } from './browser.mjs';

const BASE = process.env.ALIMI_URL;
const WAIT = { timeout: 20000 };
let browser;

before(async () => {
  assert.ok(BASE, 'ALIMI_URL must point at a running Alimi');
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** A fresh browser profile (its own tabs, storage, locks and channels). */
async function profile() {
  return browser.newContext({ acceptDownloads: true });
}

async function signIn(page, token) {
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(BASE + '/');
  await page.selectOption('#admin', token);
  await page.click('#sign-in-button');
  await page.waitForSelector('#state.open', WAIT);
}

/** Sends an event through the console's producer panel (Kafka → bridge → timeline → stream). */
async function send(page, targets, data) {
  await page.fill('#targets', targets);
  await page.fill('#data', JSON.stringify(data));
  await page.click('#send');
  await page.waitForFunction(() => document.querySelector('#send-status').textContent.startsWith('sent'), null, WAIT);
}

/** Waits until an event whose data.orderNo is orderNo is stored on scope's timeline, as an admin of it reads it. */
async function stored(scope, orderNo, token) {
  const deadline = Date.now() + WAIT.timeout;
  for (;;) {
    const response = await fetch(`${BASE}/v1/scopes/${scope}/events?limit=50`, { headers: { Authorization: 'Bearer ' + token } });
    assert.equal(response.status, 200, `${token} reads ${scope}`);
    const page = await response.json();
    if (page.events.some(e => e.event.data?.orderNo === orderNo)) return;
    assert.ok(Date.now() < deadline, `${orderNo} never reached ${scope}'s timeline`);
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

/** Publishes over HTTP as a domain service would (ALIMI_API_KEY). */
async function publish(event) {
  const response = await fetch(BASE + '/v1/events', {
    method: 'POST',
    headers: { 'Content-Type': 'application/cloudevents+json', 'X-Api-Key': process.env.ALIMI_API_KEY },
    body: JSON.stringify({ specversion: '1.0', source: '/e2e', ...event }),
  });
  assert.equal(response.status, 202, await response.text());
}

async function toastWith(page, text) {
  await page.waitForFunction(t => [...document.querySelectorAll('.toast')].some(e => e.textContent.includes(t)), text, WAIT);
}

async function badge(page) {
  return page.textContent('#badge');
}

test('signing in, an event published through Kafka shows a toast and raises the badge', async () => {
  const context = await profile();
  const page = await context.newPage();
  await signIn(page, 'dev-admin-1-token');
  await page.click('#read-all');
  await page.waitForFunction(() => document.querySelector('#badge').hidden, null, WAIT);
  const orderNo = 'E2E-' + Date.now();
  await send(page, 'mall:1', { orderNo, amount: 12000 });
  await toastWith(page, orderNo);
  await page.waitForFunction(() => document.querySelector('#badge').textContent === '1', null, WAIT);
  await page.waitForSelector(`#items li.unread >> text=${orderNo}`, WAIT);
  await context.close();
});

test('an admin never sees another mall\'s events', async () => {
  const context = await profile();
  const mine = await context.newPage();
  await signIn(mine, 'dev-admin-2-token');
  const other = await (await profile()).newPage();
  await signIn(other, 'dev-admin-1-token');
  const secret = 'MALL1-ONLY-' + Date.now();
  const visible = 'MALL2-' + Date.now();
  // Each sent by an admin of its mall (the producer panel sends only to the sender's scopes).
  await send(other, 'mall:1', { orderNo: secret });
  await send(mine, 'mall:2', { orderNo: visible });
  await toastWith(mine, visible);
  // The two travel on different Kafka partitions: the secret may not even be stored yet, so that mine has not
  // shown it would prove nothing. Wait until it is on mall 1's timeline and mall 1's admin was shown it.
  await stored('mall:1', secret, 'dev-admin-1-token');
  await toastWith(other, secret);
  assert.equal(await mine.evaluate(t => document.body.textContent.includes(t), secret), false, 'mine never showed it');
  // And it does not come later: an event sent after it was relayed reaches mine, and still no secret.
  const after = 'MALL2-AFTER-' + Date.now();
  await send(mine, 'mall:2', { orderNo: after });
  await toastWith(mine, after);
  assert.equal(await mine.evaluate(t => document.body.textContent.includes(t), secret), false, 'mine never shows it');
  const timeline = await (await fetch(BASE + '/v1/timeline?limit=100', { headers: { Authorization: 'Bearer dev-admin-2-token' } })).json();
  assert.ok(timeline.items.some(item => item.event.data?.orderNo === visible), 'mine\'s timeline has its own mall\'s event');
  assert.ok(!timeline.items.some(item => item.event.data?.orderNo === secret), 'nor is it on mine\'s timeline');
  await context.close();
  await other.context().close();
});

test('the producer panel sends only to the admin\'s own scopes and says which one it refused', async () => {
  const context = await profile();
  const page = await context.newPage();
  await signIn(page, 'dev-admin-2-token');
  assert.equal(await page.inputValue('#targets'), 'mall:2', 'the panel starts on the admin\'s own mall');
  for (const [targets, refused] of [['mall:1', 'mall:1'], ['mall:2,mall:3,admin:1', 'mall:3'], ['partner:7', 'partner:7']]) {
    await page.fill('#targets', targets);
    await page.fill('#data', JSON.stringify({ orderNo: 'REFUSED-' + Date.now() }));
    await page.click('#send');
    await page.waitForFunction(scope => document.querySelector('#send-status').textContent
      === `scope ${scope} is not one of this admin's scopes`, refused, WAIT);
  }
  const response = await fetch(BASE + '/v1/demo/events', {
    method: 'POST',
    headers: { Authorization: 'Bearer dev-admin-2-token', 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'order.created', targets: 'mall:2,mall:1', data: {} }),
  });
  assert.equal(response.status, 403);
  assert.equal((await response.json()).detail, 'scope mall:1 is not one of this admin\'s scopes');
  await send(page, 'mall:2,admin:2,all', { orderNo: 'OWN-' + Date.now() });
  await context.close();
});

test('two tabs share one connection and both update', async () => {
  const context = await profile();
  const first = await context.newPage();
  await signIn(first, 'dev-partner-7-token');
  const second = await context.newPage();
  // Sign-in is per tab (session storage); the connection is per browser.
  await second.goto(BASE + '/');
  await second.selectOption('#admin', 'dev-partner-7-token');
  await second.click('#sign-in-button');
  await second.waitForFunction(() => document.querySelector('#state').textContent.includes('shared'), null, WAIT);
  assert.ok(!(await first.textContent('#state')).includes('shared'), 'the first tab leads');
  const question = 'Q-' + Date.now();
  await send(second, 'partner:7', { orderNo: question });
  await toastWith(first, question);
  await toastWith(second, question);

  // The leader goes: the other tab takes over and keeps receiving.
  await first.close();
  await second.waitForFunction(() => !document.querySelector('#state').textContent.includes('shared')
    && document.querySelector('#state').classList.contains('open'), null, WAIT);
  const after = 'Q2-' + Date.now();
  await send(second, 'partner:7', { orderNo: after });
  await toastWith(second, after);
  await context.close();
});

test('a reload resumes where it stopped: events sent meanwhile arrive, none twice', async () => {
  const context = await profile();
  const page = await context.newPage();
  await signIn(page, 'dev-platform-token');
  // Sent by another admin of mall 3, in a browser of its own.
  const sender = await (await profile()).newPage();
  await signIn(sender, 'dev-platform-token');
  const seen = 'R0-' + Date.now();
  await send(sender, 'mall:3', { orderNo: seen });
  await toastWith(page, seen);

  await page.close();
  const missed = ['R1-' + Date.now(), 'R2-' + Date.now()];
  for (const orderNo of missed) await send(sender, 'mall:3', { orderNo });
  const again = await context.newPage();
  await signIn(again, 'dev-platform-token');
  for (const orderNo of missed) await toastWith(again, orderNo);
  const toasts = await again.$$eval('.toast', nodes => nodes.map(n => n.textContent));
  assert.equal(toasts.filter(t => t.includes(seen)).length, 0, 'what was delivered before the reload is not delivered again');
  await context.close();
});

test('the Excel export completes in the background and its link downloads the file', async () => {
  const context = await profile();
  const page = await context.newPage();
  await signIn(page, 'dev-admin-1-token');
  await page.click('#export');
  await page.waitForFunction(() => document.querySelector('#export-status').textContent.includes('running'), null, WAIT);
  const link = await page.waitForSelector('.toast[data-type="excel.export.completed"] a.download', WAIT);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const text = readFileSync(await download.path(), 'utf8');
  assert.match(download.suggestedFilename(), /^orders-\d{4}-\d{2}-\d{2}\.csv$/);
  assert.equal(text.split('\r\n')[0], '\uFEFForderNo,mall,product,quantity,amount,orderedAt');
  assert.ok(text.split('\r\n').length > 10, 'rows of orders');
  await context.close();
});

for (const transport of ['ws', 'poll', 'sse']) {
  test(`the ${transport} transport delivers live events`, async () => {
    const context = await profile();
    const page = await context.newPage();
    await signIn(page, 'dev-admin-1-token');
    await page.selectOption('#transport', transport);
    await page.waitForFunction(t => document.querySelector('#state').textContent === 'open · ' + t, transport, WAIT);
    const orderNo = transport.toUpperCase() + '-' + Date.now();
    await send(page, 'mall:1', { orderNo });
    await toastWith(page, orderNo);
    await context.close();
  });
}

test('when a proxy blocks the event stream, the client falls back to WebSocket by itself', async () => {
  const context = await profile();
  await context.route('**/v1/stream?**', route => route.abort('connectionrefused'));
  const page = await context.newPage();
  await page.goto(BASE + '/');
  await page.selectOption('#admin', 'dev-admin-1-token');
  await page.click('#sign-in-button');
  await page.waitForFunction(() => document.querySelector('#state').textContent === 'open · ws', null, { timeout: 30000 });
  const orderNo = 'FALLBACK-' + Date.now();
  await send(page, 'mall:1', { orderNo });
  await toastWith(page, orderNo);
  await context.close();
});

test('a busy node\'s Retry-After is waited out and the client stays on its transport', async () => {
  const context = await profile();
  // The first three tickets are refused as a node over its admission rate refuses them; SSE is not at fault, so the
  // client must not fall back to WebSocket, and must not come back before the second it was told.
  const asked = [];
  await context.route('**/v1/tickets', route => {
    asked.push(Date.now());
    if (asked.length > 3) return route.continue();
    return route.fulfill({
      status: 503,
      headers: { 'Retry-After': '1', 'Content-Type': 'application/problem+json' },
      body: JSON.stringify({ type: 'urn:alimi:problem:unavailable', title: 'Temporarily unavailable', status: 503,
        detail: 'this node is admitting new streams at its limit (admissions-per-second: 500); retry later' }),
    });
  });
  const page = await context.newPage();
  await page.goto(BASE + '/');
  await page.selectOption('#admin', 'dev-admin-1-token');
  await page.click('#sign-in-button');
  await page.waitForFunction(() => document.querySelector('#state').textContent === 'open · sse', null, { timeout: 30000 });
  assert.equal(asked.length, 4);
  for (let i = 1; i < asked.length; i++) {
    assert.ok(asked[i] - asked[i - 1] >= 1000, `ticket ${i + 1} came ${asked[i] - asked[i - 1]} ms after a Retry-After: 1`);
  }

  // A WebSocket refused with 1013 carries its delay in the close reason.
  const opened = [];
  await context.routeWebSocket('**/v1/ws?**', ws => {
    opened.push(Date.now());
    if (opened.length > 2) return ws.connectToServer();
    ws.close({ code: 1013, reason: 'retry after 2 s: this node is admitting new streams at its limit' });
  });
  await page.selectOption('#transport', 'ws');
  await page.waitForFunction(() => document.querySelector('#state').textContent === 'open · ws', null, { timeout: 30000 });
  assert.equal(opened.length, 3);
  for (let i = 1; i < opened.length; i++) {
    assert.ok(opened[i] - opened[i - 1] >= 2000, `WebSocket ${i + 1} came ${opened[i] - opened[i - 1]} ms after "retry after 2 s"`);
  }
  const orderNo = 'BUSY-' + Date.now();
  await send(page, 'mall:1', { orderNo });
  await toastWith(page, orderNo);
  await context.close();
});

test('an event cannot inject markup or a javascript: link into the console', async () => {
  const context = await profile();
  const page = await context.newPage();
  await signIn(page, 'dev-admin-1-token');
  const id = 'XSS-' + Date.now();
  const response = await fetch(BASE + '/v1/events', {
    method: 'POST',
    headers: { 'Content-Type': 'application/cloudevents+json', 'X-Api-Key': process.env.ALIMI_API_KEY },
    body: JSON.stringify({ specversion: '1.0', id, source: '/attacker', type: 'excel.export.completed', targets: 'admin:1',
      data: { fileName: `<img src=x onerror="window.pwned=1">${id}`, downloadUrl: 'javascript:window.pwned=2' } }),
  });
  assert.equal(response.status, 202);
  await toastWith(page, id);
  const toast = page.locator('.toast', { hasText: id });
  assert.equal(await toast.locator('a').count(), 0, 'no link from a javascript: URL');
  assert.equal(await toast.locator('img').count(), 0, 'markup is shown as text');
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  await context.close();
});

test('links from events are judged by the browser\'s own URL parser: only this site\'s, or an allowed origin\'s', async () => {
  const context = await profile();
  const page = await context.newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(BASE + '/');
  const origin = new URL(BASE).origin;
  const host = new URL(BASE).host;
  const hostile = [
    'javascript:alert(1)', 'JavaScript:alert(1)', 'java\tscript:alert(1)', 'java\nscript:alert(1)', 'java\rscript:alert(1)',
    ' javascript:alert(1)', '\u0000javascript:alert(1)', '\u001fjavascript:alert(1)', 'javascript\u007f:alert(1)',
    'data:text/html,<script>alert(1)</script>', 'vbscript:msgbox(1)', 'file:///etc/passwd', 'ftp://' + host + '/x',
    `blob:${origin}/7c1f0d2e`,
    // Each of these is another site to a browser, however it looks to a pattern.
    '//evil.com/x', '/\\evil.com/x', '\\\\evil.com/x', '\\/evil.com', '/\t/evil.com', '/\n/evil.com', '//\\evil.com',
    'https:evil.com', 'https:/evil.com', 'https:\\\\evil.com', 'http://evil.com', 'https://evil.com/' + host,
    `http://${host}@evil.com/x`, 'http://good@evil.com/x', `http://${host}.evil.com/x`, `http://${host}%2f@evil.com/`,
    `https://${host}/x`, `http://${new URL(BASE).hostname}:1/x`, 'http://localhost:' + new URL(BASE).port + '/x',
    // This site's, but not as a link should be: credentials, whitespace or a control character around or inside.
    `http://user:secret@${host}/x`, `http://user@${host}/x`, '/v1/x ', ' /v1/x', '/v1/x\n', '\t/v1/x', '/v1/\tx',
    `${origin}/x\u000b`, '\u00a0/v1/x',
    // Not URLs at all.
    '', 'http://[::1', 'http://', null, undefined, 42, ['/v1/x'],
  ];
  const good = [
    ['/v1/demo/exports/abc/file', origin + '/v1/demo/exports/abc/file'],
    ['files/orders.csv', origin + '/files/orders.csv'],
    ['?job=7', origin + '/?job=7'],
    [origin + '/x?y=1#z', origin + '/x?y=1#z'],
    [origin.toUpperCase() + '/X', origin + '/X'],
    ['%2F%2Fevil.com', origin + '/%2F%2Fevil.com'],
    // Same scheme as the page: the parser reads a path on this site (https:evil.com, above, is another site).
    ['http:evil.com', origin + '/evil.com'],
  ];
  const results = await page.evaluate(async ({ hostile, good }) => {
    const { Alimi } = await import('/alimi.js');
    const files = { allowedOrigins: ['https://files.example.com/ignored/path'] };
    const threw = name => { try { Alimi.safeLink('/x', { allowedOrigins: [name] }); return null; } catch (e) { return e.name; } };
    return {
      hostile: hostile.map(url => [url, Alimi.safeLink(url), Alimi.safeLink(url, files)]),
      good: good.map(([url]) => [url, Alimi.safeLink(url), Alimi.safeLink(url, files)]),
      allowed: ['https://files.example.com/a.csv', 'https://FILES.example.com:443/a.csv', 'https://files.example.com:8443/a.csv',
        'http://files.example.com/a.csv', 'https://files.example.com.evil.com/a.csv', 'https://evil.com@files.example.com/a.csv',
        'https://files.example.com@evil.com/a.csv', '//files.example.com/a.csv']
        .map(url => [url, Alimi.safeLink(url), Alimi.safeLink(url, files)]),
      invalidOrigin: threw('not an origin'),
    };
  }, { hostile, good });
  for (const [url, own, withFiles] of results.hostile) {
    assert.equal(own, null, `${JSON.stringify(url)} is not a link`);
    assert.equal(withFiles, null, `${JSON.stringify(url)} is not a link, whatever other origin is allowed`);
  }
  for (const [i, [url, own, withFiles]] of results.good.entries()) {
    assert.equal(own, good[i][1], `${JSON.stringify(url)} is a link on this site`);
    assert.equal(withFiles, good[i][1], `${JSON.stringify(url)} is a link on this site`);
  }
  assert.deepEqual(results.allowed, [
    ['https://files.example.com/a.csv', null, 'https://files.example.com/a.csv'],
    ['https://FILES.example.com:443/a.csv', null, 'https://files.example.com/a.csv'],
    ['https://files.example.com:8443/a.csv', null, null],
    ['http://files.example.com/a.csv', null, null],
    ['https://files.example.com.evil.com/a.csv', null, null],
    ['https://evil.com@files.example.com/a.csv', null, null],
    ['https://files.example.com@evil.com/a.csv', null, null],
    // Scheme-relative: http: like the page, so not the allowed https: origin.
    ['//files.example.com/a.csv', null, null],
  ]);
  assert.equal(results.invalidOrigin, 'TypeError', 'an allowed origin that is not a URL is a mistake, said at once');
  await context.close();
});

test('an event\'s link to another site, however written, is no link in the console\'s toast', async () => {
  const context = await profile();
  const page = await context.newPage();
  await signIn(page, 'dev-admin-1-token');
  const stamp = Date.now();
  const hostile = ['/\\evil.com', '/\\evil.com/orders.csv', '//evil.com/orders.csv', '\\\\evil.com/orders.csv',
    'https:evil.com/orders.csv', 'http://good@evil.com/orders.csv', 'java\tscript:window.pwned=3', ' /v1/demo/exports/x/file'];
  for (const [i, downloadUrl] of hostile.entries()) {
    const fileName = `LINK-${stamp}-${i}.csv`;
    await publish({ id: fileName, type: 'excel.export.completed', targets: 'admin:1', data: { fileName, downloadUrl } });
    await toastWith(page, fileName);
    const toast = page.locator('.toast', { hasText: fileName });
    assert.equal(await toast.locator('a').count(), 0, `no link from ${JSON.stringify(downloadUrl)}`);
  }
  // This site's own link still is one, as the browser resolved it.
  const fileName = `LINK-${stamp}-own.csv`;
  await publish({ id: fileName, type: 'excel.export.completed', targets: 'admin:1',
    data: { fileName, downloadUrl: '/v1/demo/exports/x/file' } });
  await toastWith(page, fileName);
  const link = page.locator('.toast', { hasText: fileName }).locator('a.download');
  assert.equal(await link.getAttribute('href'), new URL(BASE).origin + '/v1/demo/exports/x/file');
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  await context.close();
});
