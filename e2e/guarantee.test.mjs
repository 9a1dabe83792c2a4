// End-to-end: the delivery guarantee through /alimi.js in headless Chromium, on the paths a back office walks: a
// page that followed fewer scopes than the next one, a mall taken away between two page loads, producers whose
// event types look like the browser's or Alimi's own names, a stored cursor the server refuses. Each on SSE,
// WebSocket and long-poll. Admins are HS256 JWTs minted here (ALIMI_JWT_SECRET), so their malls can change;
// events are published over HTTP (ALIMI_API_KEY). Run by BrowserIT:
//   ALIMI_URL=http://127.0.0.1:8080 ALIMI_JWT_SECRET=… ALIMI_API_KEY=… node --test e2e/guarantee.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { launch } from './browser.mjs';

const BASE = process.env.ALIMI_URL;
const SECRET = process.env.ALIMI_JWT_SECRET;
const API_KEY = process.env.ALIMI_API_KEY;
const WAIT = 20000;
const TRANSPORTS = ['sse', 'ws', 'poll'];
let browser;
let unique = Date.now() % 1000000;

before(async () => {
  assert.ok(BASE && SECRET && API_KEY, 'ALIMI_URL, ALIMI_JWT_SECRET and ALIMI_API_KEY must be set');
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

/** Numbers no other test uses: each test has admins and malls of its own. */
function fresh() {
  unique += 1;
  return String(unique);
}

function base64url(text) {
  return Buffer.from(text).toString('base64url');
}

/** An admin token as the back office would issue it: admin number, malls, optionally a partner. */
function jwt(admin, malls, partner) {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = { sub: admin, malls, exp: Math.floor(Date.now() / 1000) + 3600 };
  if (partner) claims.partner = partner;
  const body = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', SECRET).update(header + '.' + body).digest('base64url');
  return header + '.' + body + '.' + signature;
}

/** Publishes over HTTP as a domain service would; returns the response's status. */
async function publish(id, targets, type = 'order.created', source = '/e2e') {
  const response = await fetch(BASE + '/v1/events', {
    method: 'POST',
    headers: { 'Content-Type': 'application/cloudevents+json', 'X-Api-Key': API_KEY },
    body: JSON.stringify({ specversion: '1.0', id, source, type, targets, data: { orderNo: id } }),
  });
  await response.text();
  return response.status;
}

/**
 * A page of the back office on Alimi's origin using /alimi.js: records every event (on('*')), gap, revoked scope
 * and state change in window.seen.
 */
async function open(context, token, options = {}) {
  const page = await context.newPage();
  page.on('pageerror', e => console.error('page error:', e.message));
  await page.goto(BASE + '/health/live');
  await page.evaluate(async ({ token, options }) => {
    const { Alimi } = await import('/alimi.js');
    window.seen = { events: [], gaps: [], revoked: [], states: [], typed: {}, cursors: [], quiet: [] };
    window.token = token;
    const alimi = new Alimi({ token: () => window.token, ...options });
    window.alimi = alimi;
    alimi.on('*', e => { window.seen.events.push(e.id); window.seen.cursors.push(alimi.cursor); });
    alimi.on('gap', g => window.seen.gaps.push(g));
    alimi.on('quiet', e => window.seen.quiet.push(e.id));
    alimi.on('revoked', r => window.seen.revoked.push(...r.scopes));
    alimi.on('state', s => window.seen.states.push(s.state));
    for (const type of ['error', 'message', 'open', 'order.created', 'event:state', 'event:ready', 'event:*']) {
      alimi.on(type, e => (window.seen.typed[type] ||= []).push(e.id));
    }
  }, { token, options });
  await page.waitForFunction(() => window.alimi.state === 'open', null, { timeout: WAIT });
  return page;
}

async function seen(page) {
  return page.evaluate(() => window.seen);
}

/** Waits until the page has every id in ids (and possibly more). */
async function received(page, ids) {
  await page.waitForFunction(ids => ids.every(id => window.seen.events.includes(id)), ids, { timeout: WAIT });
}

/** Fails if an event arrived more than once. */
function once(events) {
  const twice = events.filter((id, i) => events.indexOf(id) !== i);
  assert.deepEqual(twice, [], 'no event twice');
}

for (const transport of TRANSPORTS) {
  test(`${transport}: a page that followed one mall, then the dashboard, gets everything it missed once`, async () => {
    const context = await browser.newContext();
    const admin = fresh();
    const mall = fresh();
    const token = jwt(admin, [mall]);
    // The orders screen follows only its mall; its cursor is the browser's one cursor.
    const orders = await open(context, token, { transport, scopes: 'mall:' + mall });
    await publish('warm-' + mall, 'mall:' + mall);
    await received(orders, ['warm-' + mall]);
    await orders.close();

    const both = 'both-' + mall;
    const onlyMall = 'mall-' + mall;
    const onlyAdmin = 'admin-' + mall;
    assert.equal(await publish(both, `mall:${mall},admin:${admin}`), 202);
    assert.equal(await publish(onlyMall, 'mall:' + mall), 202);
    assert.equal(await publish(onlyAdmin, 'admin:' + admin), 202);

    // The dashboard follows every scope: the scope the cursor did not follow resumes from when it was made.
    const dashboard = await open(context, token, { transport });
    await received(dashboard, [both, onlyMall, onlyAdmin]);
    const live = 'live-' + mall;
    await publish(live, `admin:${admin},mall:${mall}`);
    await received(dashboard, [live]);
    const { events, gaps } = await seen(dashboard);
    once(events);
    assert.ok(!events.includes('warm-' + mall), 'what the orders screen had is not given again');
    assert.deepEqual(gaps, []);
    await context.close();
  });

  test(`${transport}: a mall taken away is dropped and said so, the rest resumes`, async () => {
    const context = await browser.newContext();
    const admin = fresh();
    const kept = fresh();
    const lost = fresh();
    const before = await open(context, jwt(admin, [kept, lost]), { transport });
    await publish('seen-' + lost, 'mall:' + lost);
    await received(before, ['seen-' + lost]);
    await before.close();

    await publish('secret-' + lost, 'mall:' + lost);
    await publish('missed-' + kept, 'mall:' + kept);
    const after = await open(context, jwt(admin, [kept]), { transport });
    await received(after, ['missed-' + kept]);
    await after.waitForFunction(() => window.seen.revoked.length > 0, null, { timeout: WAIT });
    await publish('live-' + kept, 'mall:' + kept);
    await received(after, ['live-' + kept]);
    const { events, revoked, gaps } = await seen(after);
    assert.deepEqual(revoked, ['mall:' + lost]);
    assert.ok(!events.includes('secret-' + lost), 'nothing of the lost mall');
    assert.deepEqual(gaps, []);
    once(events);
    // And the next page load does not carry the lost mall along: nothing is refused, nothing said again.
    await after.close();
    const again = await open(context, jwt(admin, [kept]), { transport });
    await publish('next-' + kept, 'mall:' + kept);
    await received(again, ['next-' + kept]);
    assert.deepEqual((await seen(again)).revoked, []);
    await context.close();
  });

  test(`${transport}: event types named like the browser's or Alimi's own reach on('*') and nothing breaks`, async () => {
    const context = await browser.newContext();
    const admin = fresh();
    const mall = fresh();
    const token = jwt(admin, [mall]);
    const page = await open(context, token, { transport });
    const poison = ['error', 'message', 'open', 'state', '*', 'order.created'];
    const ids = poison.map(type => 'poison-' + type.replace('*', 'star') + '-' + mall);
    for (let i = 0; i < poison.length; i++) {
      assert.equal(await publish(ids[i], 'mall:' + mall, poison[i]), 202, poison[i]);
    }
    for (const reserved of ['ready', 'gap', 'reconnect', 'unread', 'alimi.cursor']) {
      assert.equal(await publish('reserved-' + reserved + mall, 'mall:' + mall, reserved), 400, reserved + ' is refused');
    }
    await received(page, ids);
    const { events, states, typed, gaps } = await seen(page);
    once(events);
    assert.deepEqual(gaps, []);
    assert.ok(!states.includes('reconnecting'), 'the stream never broke: ' + states);
    assert.deepEqual(typed.error, [ids[0]]);
    assert.deepEqual(typed.message, [ids[1]]);
    assert.deepEqual(typed.open, [ids[2]]);
    assert.deepEqual(typed['event:state'], [ids[3]], "a type named like the client's own: on('event:state')");
    assert.deepEqual(typed['event:*'], [ids[4]]);
    assert.deepEqual(typed['order.created'], [ids[5]]);
    assert.ok(states.every(s => typeof s === 'string'), 'a CloudEvent of type "state" is not a state change');

    // The cursor moved past each of them: a reload does not bring them back.
    await page.close();
    const reloaded = await open(context, token, { transport });
    await publish('after-' + mall, 'mall:' + mall);
    await received(reloaded, ['after-' + mall]);
    assert.deepEqual((await seen(reloaded)).events, ['after-' + mall]);
    await context.close();
  });

  test(`${transport}: preferences saved through alimi.js: a type muted in the inbox never arrives, one muted on live arrives quietly`, async () => {
    const context = await browser.newContext();
    const admin = fresh();
    const mall = fresh();
    const page = await open(context, jwt(admin, [mall]), { transport });
    const saved = await page.evaluate(m => window.alimi.savePreferences([
      { type: 'product.qna.*', channels: ['inbox'] },
      { type: 'claim.requested', scope: 'mall:' + m, channels: ['live'] },
      { scope: 'mall:' + m, channels: ['push'] },
    ]), mall);
    assert.equal(saved.saved, true);
    assert.deepEqual(saved.critical, ['fds.alert.raised']);
    for (const [id, type] of [['q', 'product.qna.created'], ['c', 'claim.requested'], ['f', 'fds.alert.raised'], ['o', 'order.created']]) {
      assert.equal(await publish(id + '-' + mall, 'mall:' + mall, type), 202);
    }
    await received(page, ['f-' + mall, 'o-' + mall]);
    await page.waitForFunction(id => window.seen.quiet.includes(id), 'c-' + mall, { timeout: WAIT });
    const { events, quiet, typed } = await seen(page);
    assert.deepEqual([...events].sort(), ['f-' + mall, 'o-' + mall], "the question never arrives; the claim not on on('*')");
    assert.deepEqual(quiet, ['c-' + mall]);
    assert.deepEqual(typed['order.created'], ['o-' + mall]);
    const refused = await page.evaluate(() => window.alimi.savePreferences([{ type: 'fds.alert.raised', channels: ['push'] }])
      .then(() => 'saved', e => e.status + ' ' + e.message));
    assert.match(refused, /^400 mutes\[0\]\.type: type 'fds\.alert\.raised' cannot be muted/);
    assert.equal((await page.evaluate(() => window.alimi.preferences())).mutes.length, 3, 'the refused change left them as they were');
    await page.evaluate(() => window.alimi.resetPreferences());
    assert.equal(await publish('q2-' + mall, 'mall:' + mall, 'product.qna.created'), 202);
    await received(page, ['q2-' + mall]);
    await context.close();
  });

  test(`${transport}: a stored cursor the server refuses starts afresh with a gap, not a loop`, async () => {
    const context = await browser.newContext();
    const admin = fresh();
    const mall = fresh();
    const page = await context.newPage();
    await page.goto(BASE + '/health/live');
    await page.evaluate(() => localStorage.setItem('alimi.alimi.cursor', 'AQBnot-a-cursor'));
    await page.close();
    const fresh1 = await open(context, jwt(admin, [mall]), { transport });
    await fresh1.waitForFunction(() => window.seen.gaps.some(g => g.reason === 'cursor'), null, { timeout: WAIT });
    await publish('after-refusal-' + mall, 'mall:' + mall);
    await received(fresh1, ['after-refusal-' + mall]);
    const { gaps } = await seen(fresh1);
    assert.equal(gaps.length, 1);
    assert.equal(gaps[0].scope, null);
    assert.match(gaps[0].detail, /^cursor/);
    assert.notEqual(await fresh1.evaluate(() => localStorage.getItem('alimi.alimi.cursor')), 'AQBnot-a-cursor');
    await context.close();
  });
}

test('sse: a copy of an event through a second followed scope moves the stored cursor too', async () => {
  const context = await browser.newContext();
  const admin = fresh();
  const mall = fresh();
  const page = await open(context, jwt(admin, [mall]), { transport: 'sse' });
  await publish('two-copies-' + mall, `mall:${mall},admin:${admin}`);
  await received(page, ['two-copies-' + mall]);
  const atEvent = (await seen(page)).cursors.at(-1);
  // The second copy arrives as a cursor-only message (alimi.cursor): the client's cursor moves past it.
  await page.waitForFunction(at => window.alimi.cursor !== at
    && localStorage.getItem('alimi.alimi.cursor') === window.alimi.cursor, atEvent, { timeout: WAIT });
  await context.close();
});
