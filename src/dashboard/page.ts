import { createHash } from 'node:crypto';

/**
 * The dashboard's one page: no framework, no external resource. The script builds every piece
 * of text with `textContent` (never `innerHTML`), so a worker named `<img onerror=...>` is shown,
 * not run. It reads the feed (`feed`, server-sent events) with the token it was opened with.
 * @internal
 */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cortex dashboard</title>
<style>
  :root { --bg: #0f1115; --panel: #181b22; --text: #e6e6e6; --dim: #9aa0aa; --green: #2ecc71; --amber: #f5a623; --red: #e74c3c; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--text); }
  header { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; padding: 14px 20px; border-bottom: 1px solid #262a33; }
  header h1 { font-size: 18px; margin: 0; }
  .stat { color: var(--dim); } .stat b { color: var(--text); font-size: 16px; }
  main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(16em, 1fr); gap: 16px; padding: 16px 20px; }
  @media (max-width: 1500px) { main { grid-template-columns: minmax(0, 1fr); } }
  section { background: var(--panel); border-radius: 8px; padding: 12px 14px; min-width: 0; overflow-x: auto; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--dim); margin: 0 0 8px; }
  h2.spaced { margin-top: 16px; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #262a33; white-space: nowrap; }
  th { color: var(--dim); font-weight: 500; }
  td.name { white-space: normal; word-break: break-all; min-width: 9em; }
  .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; }
  .green { background: var(--green); } .amber { background: var(--amber); } .red { background: var(--red); }
  svg { width: 100%; height: 120px; }
  ol { margin: 0; padding-left: 18px; max-height: 320px; overflow: auto; } li { margin: 2px 0; color: var(--dim); }
  #conn.off { color: var(--red); }
  section.wide { grid-column: 1 / -1; }
  .filters { display: flex; flex-wrap: wrap; gap: 8px 16px; margin-bottom: 8px; color: var(--dim); }
  select { background: var(--bg); color: var(--text); border: 1px solid #262a33; border-radius: 4px; padding: 2px 4px; }
  td.bad { color: var(--red); } td.trace { font-family: monospace; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>cortex</h1>
  <span class="stat">workers up <b id="up">-</b></span>
  <span class="stat">requests/s <b id="rps">-</b></span>
  <span class="stat">most used <b id="most">-</b></span>
  <span class="stat">queued <b id="queued">-</b></span>
  <span class="stat">failovers <b id="failovers">-</b></span>
  <span class="stat">hedges <b id="hedges">-</b></span>
  <span class="stat">cache hits <b id="hits">-</b></span>
  <span class="stat">store <b id="store">-</b></span>
  <span class="stat" id="conn">connecting</span>
</header>
<main>
  <section>
    <h2>Workers</h2>
    <table>
      <thead><tr><th>worker</th><th>kind / model</th><th>state</th><th>in flight</th><th title="requests and tokens in the last minute, against rpm and tpm">last min / limit</th><th>requests</th><th>errors</th><th>first chunk p50 / p95</th><th>total p50 / p95</th><th>tokens in / out</th><th>cost</th><th>cluster</th></tr></thead>
      <tbody id="workers"></tbody>
    </table>
    <h2 class="spaced">Requests per second, last 5 minutes</h2>
    <svg id="chart" viewBox="0 0 600 120" preserveAspectRatio="none"><polyline id="line" fill="none" stroke="#2ecc71" stroke-width="2" points=""></polyline></svg>
    <div id="cluster" hidden>
      <h2 class="spaced">Instances (shared store)</h2>
      <table>
        <thead><tr><th>instance</th><th>requests</th><th>completed</th><th>failed</th><th>in flight</th></tr></thead>
        <tbody id="instances"></tbody>
      </table>
    </div>
  </section>
  <section>
    <h2>Recent</h2>
    <ol id="recent"></ol>
  </section>
  <section class="wide">
    <h2>Requests <span id="log-count"></span></h2>
    <div class="filters">
      <label>outcome <select id="f-outcome"><option value="">all</option></select></label>
      <label>key <select id="f-key"><option value="">all</option></select></label>
      <label>worker <select id="f-worker"><option value="">all</option></select></label>
    </div>
    <table>
      <thead><tr><th>time</th><th>key</th><th>route</th><th>workers</th><th>outcome</th><th>tokens in / out</th><th>cost</th><th>first chunk</th><th>total</th><th>trace</th></tr></thead>
      <tbody id="log"></tbody>
    </table>
  </section>
</main>
<script>
(function () {
  var token = new URLSearchParams(location.search).get('token');
  var feedUrl = 'feed' + (token ? '?token=' + encodeURIComponent(token) : '');
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; }
  function rate(r) {
    if (!r) return '-';
    var parts = [];
    if (r.rpm !== undefined) parts.push(r.requests + ' / ' + r.rpm + ' req');
    if (r.tpm !== undefined) parts.push(r.tokens + ' / ' + r.tpm + ' tok');
    return parts.join(', ');
  }
  // Dollars: 4 decimals, or 2 significant digits below a cent (a request often costs a few millionths).
  function usd(x) { return '$' + (x === 0 || x >= 0.01 ? x.toFixed(4) : x.toPrecision(2)); }
  function set(id, text) { document.getElementById(id).textContent = String(text); }
  function render(s) {
    var body = document.getElementById('workers');
    body.replaceChildren();
    var up = 0;
    s.workers.forEach(function (w) {
      if (w.color !== 'red') up++;
      var tr = el('tr'); tr.dataset.worker = w.name; tr.dataset.color = w.color;
      var name = el('td', undefined, 'name'); name.appendChild(el('span', undefined, 'dot ' + w.color)); name.appendChild(el('span', w.name)); tr.appendChild(name);
      tr.appendChild(el('td', w.kind + (w.model ? ' / ' + w.model : '')));
      tr.appendChild(el('td', w.state));
      tr.appendChild(el('td', w.inflight + (w.capacity !== undefined ? ' / ' + w.capacity : '')));
      tr.appendChild(el('td', rate(w.rate), 'rate'));
      tr.appendChild(el('td', w.requests, 'requests'));
      tr.appendChild(el('td', (w.errorRate * 100).toFixed(1) + ' %'));
      tr.appendChild(el('td', w.firstChunkP50 === undefined ? '-' : w.firstChunkP50 + ' / ' + w.firstChunkP95 + ' ms'));
      tr.appendChild(el('td', w.totalP50 === undefined ? '-' : w.totalP50 + ' / ' + w.totalP95 + ' ms', 'total'));
      tr.appendChild(el('td', w.usage ? w.usage.inputTokens + ' / ' + w.usage.outputTokens : '-', 'tokens'));
      tr.appendChild(el('td', w.usage && w.usage.costUsd !== undefined ? usd(w.usage.costUsd) : '-', 'cost'));
      tr.appendChild(el('td', w.cluster ? w.cluster.requests + ' req' : '-'));
      body.appendChild(tr);
    });
    set('up', up + ' / ' + s.workers.length);
    var last = s.rps.slice(-10); var sum = 0; last.forEach(function (x) { sum += x; });
    set('rps', (sum / Math.max(1, last.length)).toFixed(1));
    set('most', s.mostUsed || '-');
    set('queued', s.queued);
    set('failovers', s.totals.failovers + (s.totals.continuations ? ' + ' + s.totals.continuations + ' continued' : ''));
    set('hedges', s.totals.hedges);
    set('hits', s.totals.cacheHits);
    set('store', s.store.kind + (s.store.shared ? (s.store.degraded ? ' (degraded)' : ' (shared)') : ''));
    var max = 1; s.rps.forEach(function (x) { if (x > max) max = x; });
    var pts = s.rps.map(function (x, i) { return (i * 600 / Math.max(1, s.rps.length - 1)).toFixed(1) + ',' + (118 - x * 110 / max).toFixed(1); });
    document.getElementById('line').setAttribute('points', pts.join(' '));
    var cluster = document.getElementById('cluster');
    cluster.hidden = !s.instances;
    if (s.instances) {
      var rows = document.getElementById('instances');
      rows.replaceChildren();
      var total = { instance: 'all instances', requests: 0, successes: 0, failures: 0, inflight: 0 };
      s.instances.concat([total]).forEach(function (i, n) {
        if (i !== total) { total.requests += i.requests; total.successes += i.successes; total.failures += i.failures; total.inflight += i.inflight; }
        var tr = el('tr'); tr.dataset.instance = i.instance;
        [i.instance, i.requests, i.successes, i.failures, i.inflight].forEach(function (v) { tr.appendChild(el('td', v)); });
        rows.appendChild(tr);
      });
    }
    var recent = document.getElementById('recent');
    recent.replaceChildren();
    s.recent.forEach(function (r) { recent.appendChild(el('li', new Date(r.at).toLocaleTimeString() + '  ' + r.text)); });
    if (keep(s.requests)) renderLog();
  }
  var log = [], lastSeq = 0, LOG = 200, SHOWN = 100;
  var filters = { outcome: document.getElementById('f-outcome'), key: document.getElementById('f-key'), worker: document.getElementById('f-worker') };
  function keep(requests) {
    var fresh = requests.filter(function (r) { return r.seq > lastSeq; });
    if (fresh.length === 0) return false;
    lastSeq = fresh[0].seq;
    log = fresh.concat(log).slice(0, LOG);
    return true;
  }
  function choices(select, values) {
    var want = [''].concat(values.sort());
    var have = Array.prototype.map.call(select.options, function (o) { return o.value; });
    if (JSON.stringify(want) === JSON.stringify(have)) return;
    var chosen = select.value;
    select.replaceChildren();
    want.forEach(function (v) { var o = el('option', v === '' ? 'all' : v); o.value = v; select.appendChild(o); });
    select.value = want.indexOf(chosen) >= 0 ? chosen : '';
  }
  function distinct(pick) { var seen = {}; log.forEach(function (r) { pick(r).forEach(function (v) { if (v !== undefined) seen[v] = true; }); }); return Object.keys(seen); }
  function renderLog() {
    choices(filters.outcome, distinct(function (r) { return [r.outcome]; }));
    choices(filters.key, distinct(function (r) { return [r.tenant]; }));
    choices(filters.worker, distinct(function (r) { return r.workers; }));
    var o = filters.outcome.value, k = filters.key.value, w = filters.worker.value;
    var rows = log.filter(function (r) { return (!o || r.outcome === o) && (!k || r.tenant === k) && (!w || r.workers.indexOf(w) >= 0); });
    set('log-count', '(' + rows.length + ' of the last ' + log.length + ')');
    var body = document.getElementById('log');
    body.replaceChildren();
    rows.slice(0, SHOWN).forEach(function (r) {
      var tr = el('tr'); tr.dataset.outcome = r.outcome;
      tr.appendChild(el('td', new Date(r.at).toLocaleTimeString()));
      tr.appendChild(el('td', r.tenant || '-'));
      tr.appendChild(el('td', r.route || '-'));
      tr.appendChild(el('td', r.workers.join(' \u2192 ') || '-', 'name'));
      var out = el('td', r.outcome, r.outcome === 'complete' || r.outcome === 'cached' ? '' : 'bad'); if (r.reason) out.title = r.reason; tr.appendChild(out);
      tr.appendChild(el('td', r.inputTokens === undefined && r.outputTokens === undefined ? '-' : (r.inputTokens === undefined ? '?' : r.inputTokens) + ' / ' + (r.outputTokens === undefined ? '?' : r.outputTokens)));
      tr.appendChild(el('td', r.costUsd === undefined ? '-' : (r.outcome === 'cached' ? 'saved ' : '') + usd(r.costUsd)));
      tr.appendChild(el('td', r.firstChunkMs === undefined ? '-' : Math.round(r.firstChunkMs) + ' ms'));
      tr.appendChild(el('td', Math.round(r.ms) + ' ms'));
      tr.appendChild(el('td', r.traceId || '-', 'trace'));
      body.appendChild(tr);
    });
  }
  Object.keys(filters).forEach(function (f) { filters[f].addEventListener('change', renderLog); });
  var source = new EventSource(feedUrl);
  source.onmessage = function (m) { set('conn', 'live'); document.getElementById('conn').className = 'stat'; render(JSON.parse(m.data)); };
  source.onerror = function () { set('conn', 'reconnecting'); document.getElementById('conn').className = 'stat off'; };
})();
</script>
</body>
</html>
`;

/**
 * The page's Content-Security-Policy, sent as a header: its one script and one style allowed by
 * their SHA-256 hashes (nothing inline besides), the feed from the same origin, no base URL, no
 * framing, no plugins, no forms. Built on first use. @internal
 */
export function pagePolicy(): string {
  policy ??= [
    "default-src 'none'",
    `script-src '${hashOf(between(PAGE, '<script>', '</script>'))}'`,
    `style-src '${hashOf(between(PAGE, '<style>', '</style>'))}'`,
    "connect-src 'self'",
    "img-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "form-action 'none'",
  ].join('; ');
  return policy;
}
let policy: string | undefined;

function between(text: string, open: string, close: string): string {
  const start = text.indexOf(open) + open.length;
  return text.slice(start, text.indexOf(close, start));
}

function hashOf(text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}
