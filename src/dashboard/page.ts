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
  td.name { white-space: normal; overflow-wrap: anywhere; min-width: 9em; }
  .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; }
  .green { background: var(--green); } .amber { background: var(--amber); } .red { background: var(--red); }
  svg { width: 100%; height: 120px; }
  ol { margin: 0; padding-left: 18px; max-height: 320px; overflow: auto; } li { margin: 2px 0; color: var(--dim); }
  #conn.off { color: var(--red); }
  section.wide { grid-column: 1 / -1; }
  .filters { display: flex; flex-wrap: wrap; gap: 8px 16px; margin-bottom: 8px; color: var(--dim); }
  select { background: var(--bg); color: var(--text); border: 1px solid #262a33; border-radius: 4px; padding: 2px 4px; }
  td.bad { color: var(--red); } td.trace { font-family: monospace; font-size: 12px; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(18em, 1fr)); gap: 8px 24px; }
  svg.trend { height: 160px; }
  .axis { stroke: #555b66; } .grid { stroke: #262a33; } .tick { fill: var(--dim); font-size: 11px; }
  .legend { color: var(--dim); font-size: 12px; } .key { display: inline-block; width: 10px; height: 3px; vertical-align: middle; margin: 0 4px 0 10px; }
  .bar { display: inline-block; width: 80px; height: 8px; background: #262a33; border-radius: 4px; margin-right: 8px; vertical-align: middle; overflow: hidden; }
  .bar > span { display: block; height: 100%; }
  .k-green { background: var(--green); } .k-red { background: var(--red); } .k-blue { background: #4da3ff; } .k-amber { background: var(--amber); }
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
  <span class="stat">queue waits <b id="waits">-</b></span>
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
    <svg id="chart" class="trend" viewBox="0 0 600 160"></svg>
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
  <section class="wide" id="keys-panel" hidden>
    <h2>Keys</h2>
    <table>
      <thead><tr><th>key</th><th>since</th><th>requests</th><th>tokens in / out</th><th>cost</th><th>budget used</th><th>renews</th></tr></thead>
      <tbody id="keys"></tbody>
    </table>
  </section>
  <section class="wide">
    <h2>Last hour, per minute</h2>
    <div class="charts">
      <div><div class="legend">requests<span class="key k-green"></span>all<span class="key k-red"></span>errors</div><svg id="trend-requests" class="trend" viewBox="0 0 600 160"></svg></div>
      <div><div class="legend">first chunk, ms<span class="key k-blue"></span>p50<span class="key k-amber"></span>p95</div><svg id="trend-latency" class="trend" viewBox="0 0 600 160"></svg></div>
      <div><div class="legend">errors by type, since the start</div><table><tbody id="error-types"></tbody></table></div>
    </div>
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
    set('waits', s.totals.queueWaits + (s.totals.queueWaitP95 !== undefined ? ' (p95 ' + s.totals.queueWaitP95 + ' ms)' : ''));
    set('store', s.store.kind + (s.store.shared ? (s.store.degraded ? ' (degraded)' : ' (shared)') : ''));
    trend('chart', s.rps.map(function (x, i) { return { at: s.at - (s.rps.length - i) * 1000, rps: x }; }), [{ field: 'rps', color: '#2ecc71' }], true);
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
    renderKeys(s.keys);
    renderTrends(s);
    if (keep(s.requests)) renderLog();
  }
  var NS = 'http://www.w3.org/2000/svg';
  function svgEl(tag, attrs, text) { var e = document.createElementNS(NS, tag); Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); }); if (text !== undefined) e.textContent = String(text); return e; }
  // A round top for the y axis: 1, 2 or 5 times a power of ten.
  function niceMax(x) { if (!(x > 0)) return 1; var p = Math.pow(10, Math.floor(Math.log10(x))); var m = x / p; return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p; }
  function clock(t, seconds) { var d = new Date(t); var two = function (n) { return String(n).padStart(2, '0'); }; return two(d.getHours()) + ':' + two(d.getMinutes()) + (seconds ? ':' + two(d.getSeconds()) : ''); }
  // A line chart with its axes: y from 0 to a round maximum (three ticks), x the minutes shown.
  // Drawn at the size it is shown (its viewBox in CSS pixels), so its labels keep their size on a phone.
  function trend(id, minutes, series, seconds) {
    var svg = document.getElementById(id), W = Math.max(200, Math.round(svg.clientWidth) || 600), H = 160, L = 46, R = 10, T = 10, B = 22;
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.replaceChildren();
    var max = 0;
    minutes.forEach(function (m) { series.forEach(function (s) { var v = m[s.field]; if (v !== undefined && v > max) max = v; }); });
    max = niceMax(max);
    var y = function (v) { return H - B - v * (H - B - T) / max; };
    var x = function (i) { return minutes.length < 2 ? L : L + i * (W - R - L) / (minutes.length - 1); };
    [0, max / 2, max].forEach(function (v) {
      svg.appendChild(svgEl('line', { x1: L, y1: y(v), x2: W - R, y2: y(v), class: 'grid' }));
      svg.appendChild(svgEl('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, Math.round(v * 10) / 10));
    });
    svg.appendChild(svgEl('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
    svg.appendChild(svgEl('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
    if (minutes.length > 0) {
      svg.appendChild(svgEl('text', { x: L, y: H - 6, 'text-anchor': 'start', class: 'tick' }, clock(minutes[0].at, seconds)));
      svg.appendChild(svgEl('text', { x: W - R, y: H - 6, 'text-anchor': 'end', class: 'tick' }, clock(minutes[minutes.length - 1].at, seconds)));
    }
    series.forEach(function (s) {
      var pts = [];
      minutes.forEach(function (m, i) { if (m[s.field] !== undefined) pts.push(x(i).toFixed(1) + ',' + y(m[s.field]).toFixed(1)); });
      var line = svgEl('polyline', { points: pts.join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2 });
      line.dataset.series = s.field;
      svg.appendChild(line);
      // A lone point draws no line: mark it.
      if (pts.length === 1) { var p = pts[0].split(','); svg.appendChild(svgEl('circle', { cx: p[0], cy: p[1], r: 3, fill: s.color })); }
    });
    svg.dataset.max = String(max);
  }
  // A budget's amount: tokens, or dollars.
  function spend(b, n) { return b.usd !== undefined ? usd(n) : n + ' tokens'; }
  function renderKeys(keys) {
    document.getElementById('keys-panel').hidden = !keys;
    if (!keys) return;
    var body = document.getElementById('keys');
    body.replaceChildren();
    keys.forEach(function (k) {
      var tr = el('tr'); tr.dataset.key = k.id;
      tr.appendChild(el('td', k.id, 'name'));
      tr.appendChild(el('td', new Date(k.since).toISOString().slice(0, 10)));
      tr.appendChild(el('td', k.requests));
      tr.appendChild(el('td', k.inputTokens + ' / ' + k.outputTokens));
      tr.appendChild(el('td', k.costUsd === undefined ? '-' : usd(k.costUsd)));
      var b = k.budget ? Object.assign({ limit: k.budget.usd !== undefined ? k.budget.usd : k.budget.tokens }, k.budget) : undefined, cell = el('td', undefined, 'budget');
      if (!b) cell.textContent = 'none';
      else if (b.used === undefined) cell.textContent = '? / ' + spend(b, b.limit) + ' a ' + b.per + ' (store away)';
      else {
        var share = Math.min(1, b.used / b.limit);
        var bar = el('span', undefined, 'bar'), fill = el('span', undefined, share >= 1 ? 'k-red' : share >= 0.8 ? 'k-amber' : 'k-green');
        fill.style.width = Math.round(share * 100) + '%'; // through the CSSOM, which the page's CSP allows (a style attribute it would not)
        bar.appendChild(fill);
        cell.appendChild(bar);
        cell.appendChild(el('span', (b.usd !== undefined ? usd(b.used) : b.used) + ' / ' + spend(b, b.limit) + ' a ' + b.per + ' (' + Math.round(share * 100) + ' %)'));
        cell.dataset.share = String(share);
      }
      tr.appendChild(cell);
      tr.appendChild(el('td', b ? new Date(b.renewsAt).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : '-'));
      body.appendChild(tr);
    });
  }
  function renderTrends(s) {
    trend('trend-requests', s.trend, [{ field: 'requests', color: '#2ecc71' }, { field: 'errors', color: '#e74c3c' }]);
    trend('trend-latency', s.trend, [{ field: 'firstChunkP50', color: '#4da3ff' }, { field: 'firstChunkP95', color: '#f5a623' }]);
    var body = document.getElementById('error-types');
    body.replaceChildren();
    if (s.errorTypes.length === 0) body.appendChild(el('tr')).appendChild(el('td', 'none'));
    s.errorTypes.forEach(function (t) { var tr = el('tr'); tr.dataset.type = t.type; tr.appendChild(el('td', t.type)); tr.appendChild(el('td', t.count, 'count')); body.appendChild(tr); });
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
