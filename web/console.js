// The demo console: sign in as a development admin, watch the bell, toasts and timeline, export to Excel, send
// events through Kafka. Everything live goes through /alimi.js, exactly as a back office would use it.
import { Alimi } from '/alimi.js';

const $ = id => document.getElementById(id);
const TITLES = {
  'order.created': data => `새 주문 ${data?.orderNo ?? ''}`,
  'claim.requested': data => `클레임 접수 ${data?.claimNo ?? ''}`,
  'inquiry.created': () => '1:1 문의가 등록되었습니다',
  'product.approval.completed': data => `상품 승인 완료 ${data?.productNo ?? ''}`,
  'product.qna.created': data => `상품 문의: ${data?.question ?? ''}`,
  'fds.alert.raised': () => 'FDS 이상거래 경보',
  'notice.published': data => `공지: ${data?.title ?? ''}`,
  'excel.export.completed': data => `엑셀 파일이 준비되었습니다: ${data?.fileName ?? ''}`,
};

let alimi = null;
let token = sessionStorage.getItem('alimi.console.token');
let next = undefined;
let loading = false;
const shown = new Set();

function title(event) {
  return (TITLES[event.type] || (() => event.type))(event.data);
}

function signIn(chosen) {
  token = chosen;
  sessionStorage.setItem('alimi.console.token', token);
  $('sign-in').hidden = true;
  $('signed-in').hidden = false;
  $('app').hidden = false;
  $('who').textContent = $('admin').selectedOptions[0]?.textContent || 'admin';
  // One channel per admin: tabs signed in as different admins never share a connection.
  alimi = new Alimi({ token: () => token, channel: 'alimi-console-' + token });
  alimi.on('unread', unread => {
    $('badge').hidden = unread.count === 0;
    $('badge').textContent = unread.text;
  });
  alimi.on('state', s => {
    $('state').textContent = `${s.state} · ${s.transport}${s.leader ? '' : ' (shared)'}`;
    $('state').className = 'state ' + s.state;
  });
  // The producer panel may send only to the admin's own scopes: start it on one of them (their first mall).
  const stop = alimi.on('ready', ready => {
    stop();
    const targets = $('targets');
    const scopes = Array.isArray(ready?.scopes) ? ready.scopes : [];
    if (scopes.length && targets.value === targets.defaultValue && !scopes.includes(targets.value)) {
      targets.value = scopes.find(s => s.startsWith('mall:')) || scopes.find(s => s !== 'all') || 'all';
    }
  });
  alimi.on('*', event => {
    toast(event);
    prepend(event);
  });
  // Muted on live by the admin's preferences, kept in the inbox: listed, no toast.
  alimi.on('quiet', prepend);
  loadMore(true);
}

function signOut() {
  alimi?.close();
  alimi = null;
  sessionStorage.removeItem('alimi.console.token');
  location.reload();
}

function toast(event) {
  const box = document.createElement('div');
  box.className = 'toast';
  box.dataset.type = event.type;
  box.textContent = title(event);
  // Only an http(s) address on this site becomes a link, as the browser itself reads the URL: never javascript:,
  // data: or another site (//evil.com, /\evil.com) from an event.
  const href = event.type === 'excel.export.completed' ? Alimi.safeLink(event.data?.downloadUrl) : null;
  if (href) {
    box.append(' ');
    const link = document.createElement('a');
    link.href = href;
    link.textContent = '다운로드';
    link.setAttribute('download', event.data.fileName || 'orders.csv');
    link.className = 'download';
    box.append(link);
  }
  $('toasts').append(box);
  setTimeout(() => box.remove(), event.type === 'excel.export.completed' ? 30000 : 6000);
}

function row(item) {
  const li = document.createElement('li');
  li.dataset.id = item.event.id;
  if (item.position) li.dataset.position = item.position;
  li.className = item.read ? 'read' : 'unread';
  const scope = document.createElement('span');
  scope.className = 'scope';
  scope.textContent = item.scope || item.event.targets;
  const text = document.createElement('span');
  text.textContent = title(item.event);
  const time = document.createElement('span');
  time.className = 'time';
  time.textContent = item.event.time ? new Date(item.event.time).toLocaleTimeString() : '';
  li.append(scope, text, time);
  li.addEventListener('click', async () => {
    if (li.className === 'read') return;
    li.className = 'read';
    await alimi.markRead({ eventId: item.event.id });
  });
  return li;
}

function prepend(event) {
  if (shown.has(event.id)) return;
  shown.add(event.id);
  $('items').prepend(row({ event, read: false }));
}

async function loadMore(first) {
  if (loading || (!first && !next)) return;
  loading = true;
  try {
    const page = await alimi.timeline({ before: first ? undefined : next, limit: 20 });
    for (const item of page.items) {
      if (shown.has(item.event.id)) continue;
      shown.add(item.event.id);
      $('items').append(row(item));
    }
    next = page.next;
    $('more').textContent = next ? '…' : '— 끝 —';
  } finally {
    loading = false;
  }
}

async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const reply = await response.json();
  if (!response.ok) throw new Error(reply.detail || response.statusText);
  return reply;
}

$('sign-in').addEventListener('submit', e => {
  e.preventDefault();
  signIn($('admin').value);
});
$('sign-out').addEventListener('click', signOut);
$('transport').addEventListener('change', () => alimi.use($('transport').value));
$('read-all').addEventListener('click', async () => {
  await alimi.markRead({ upTo: 'latest' });
  document.querySelectorAll('#items li.unread').forEach(li => li.className = 'read');
});
$('bell').addEventListener('click', () => $('items').scrollIntoView({ behavior: 'smooth' }));
$('export').addEventListener('click', async () => {
  $('export-status').textContent = '…';
  try {
    const job = await post('/v1/demo/exports');
    $('export-status').textContent = `job ${job.job.slice(0, 6)}… running (about ${Math.round(job.readyIn / 1000)} s)`;
  } catch (e) {
    $('export-status').textContent = e.message;
  }
});
$('producer').addEventListener('submit', async e => {
  e.preventDefault();
  $('send-status').textContent = '…';
  try {
    const data = $('data').value.trim() ? JSON.parse($('data').value) : {};
    const sent = await post('/v1/demo/events', { type: $('type').value, targets: $('targets').value, data });
    $('send-status').textContent = `sent → ${sent.topic}/${sent.partition}@${sent.offset}`;
  } catch (err) {
    $('send-status').textContent = err.message;
  }
});
new IntersectionObserver(entries => {
  if (alimi && entries.some(entry => entry.isIntersecting)) loadMore(false);
}).observe($('more'));

if (token) {
  const option = [...$('admin').options].find(o => o.value === token);
  if (option) option.selected = true;
  signIn(token);
}
