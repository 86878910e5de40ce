// The live dashboard served at GET /: one self-contained page (no external resources) that
// polls GET stats every second and shows, per backend, the request rate, latency
// percentiles from the histogram deltas, errors, state, health and connections, with
// hand-drawn SVG sparklines. With a token, open it as `http://host:port/#token=SECRET`:
// the page keeps the token in session storage, removes it from the address bar and sends
// it as `Authorization: Bearer`; without one it asks for it when the API answers 401.
// The page is static (no data in it), so it is served without the token; everything it
// fetches needs it. Its Content-Security-Policy allows only its own inline script and
// style (by hash) and requests to the same origin.
import { createHash } from 'node:crypto';

const css = String.raw`
:root {
  --bg: #0b1118; --panel: #111a25; --panel-2: #16212e; --border: #213044; --text: #e4ebf3;
  --muted: #8799ae; --faint: #5b6b7f; --accent: #4cc2ff; --green: #3ecf8e; --amber: #f2b64b;
  --red: #ff6b6b; --violet: #a78bfa; --gray: #7b8794;
  color-scheme: dark;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
.num, td.n, .value { font-variant-numeric: tabular-nums; }
header { display: flex; align-items: center; gap: 16px; padding: 14px 28px; border-bottom: 1px solid var(--border); background: var(--panel); }
.brand { display: flex; align-items: center; gap: 10px; font-weight: 650; font-size: 17px; letter-spacing: .2px; }
.brand svg { display: block; }
.brand small { font-weight: 400; color: var(--muted); font-size: 13px; }
.spacer { flex: 1; }
.meta { color: var(--muted); font-size: 13px; }
.pill { display: inline-flex; align-items: center; gap: 7px; padding: 4px 11px; border-radius: 999px; font-size: 12.5px; font-weight: 600; background: var(--panel-2); border: 1px solid var(--border); color: var(--muted); }
.pill::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--gray); }
.pill.live { color: var(--green); } .pill.live::before { background: var(--green); box-shadow: 0 0 0 3px rgba(62, 207, 142, .18); }
.pill.down { color: var(--red); } .pill.down::before { background: var(--red); }
.pill.auth { color: var(--amber); } .pill.auth::before { background: var(--amber); }
main { padding: 22px 28px 28px; max-width: 1500px; margin: 0 auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 14px; margin-bottom: 22px; }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; padding: 14px 16px 10px; min-height: 112px; display: flex; flex-direction: column; }
.card h3 { margin: 0; font-size: 12px; font-weight: 600; text-transform: uppercase; letter-spacing: .7px; color: var(--muted); }
.card .value { font-size: 28px; font-weight: 650; margin-top: 4px; line-height: 1.15; white-space: nowrap; }
.card .value .unit { font-size: 14px; font-weight: 500; color: var(--muted); margin-left: 4px; }
.card .sub { font-size: 12.5px; color: var(--muted); margin-top: 2px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card svg.spark { margin-top: auto; width: 100%; height: 30px; }
section.panel { background: var(--panel); border: 1px solid var(--border); border-radius: 10px; overflow: hidden; }
section.panel > h2 { margin: 0; padding: 13px 18px; font-size: 14px; font-weight: 650; border-bottom: 1px solid var(--border); display: flex; align-items: baseline; gap: 10px; }
section.panel > h2 small { font-weight: 400; color: var(--muted); font-size: 12.5px; }
table { width: 100%; border-collapse: collapse; }
th, td { padding: 9px 12px; text-align: left; white-space: nowrap; }
th { font-size: 11.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .6px; color: var(--muted); background: var(--panel-2); border-bottom: 1px solid var(--border); }
td { border-bottom: 1px solid rgba(33, 48, 68, .6); }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover td { background: rgba(76, 194, 255, .04); }
th.n, td.n { text-align: right; }
td.id { color: var(--faint); width: 36px; }
td.addr { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 13px; }
td.addr .host { display: block; color: var(--faint); font-size: 11.5px; }
td.muted, span.muted { color: var(--muted); }
td.bad { color: var(--red); font-weight: 600; }
td.spark-cell { width: 132px; padding-top: 4px; padding-bottom: 4px; }
td.spark-cell svg { display: block; width: 120px; height: 28px; }
.badge { display: inline-block; padding: 2px 9px; border-radius: 6px; font-size: 12px; font-weight: 600; border: 1px solid transparent; }
.badge.ready { color: var(--green); background: rgba(62, 207, 142, .12); border-color: rgba(62, 207, 142, .25); }
.badge.drain { color: var(--amber); background: rgba(242, 182, 75, .12); border-color: rgba(242, 182, 75, .25); }
.badge.maint { color: var(--gray); background: rgba(123, 135, 148, .14); border-color: rgba(123, 135, 148, .3); }
.badge.down, .badge.ejected { color: var(--red); background: rgba(255, 107, 107, .12); border-color: rgba(255, 107, 107, .28); }
.health { display: block; font-size: 11.5px; color: var(--muted); margin-top: 2px; }
.health:empty { display: none; }
.table-wrap { overflow-x: auto; }
.empty { padding: 28px; text-align: center; color: var(--muted); }
footer { display: flex; flex-wrap: wrap; gap: 8px 26px; margin-top: 16px; color: var(--muted); font-size: 12.5px; }
footer b { color: var(--text); font-weight: 600; margin-left: 4px; }
svg.spark path.line { fill: none; stroke-width: 1.6; stroke-linejoin: round; stroke-linecap: round; vector-effect: non-scaling-stroke; }
svg.spark path.area { stroke: none; opacity: .16; }
svg.spark.blue path.line { stroke: var(--accent); } svg.spark.blue path.area { fill: var(--accent); }
svg.spark.violet path.line { stroke: var(--violet); } svg.spark.violet path.area { fill: var(--violet); }
svg.spark.red path.line { stroke: var(--red); } svg.spark.red path.area { fill: var(--red); }
svg.spark.green path.line { stroke: var(--green); } svg.spark.green path.area { fill: var(--green); }
svg.spark.amber path.line { stroke: var(--amber); } svg.spark.amber path.area { fill: var(--amber); }
#auth { position: fixed; inset: 0; background: rgba(5, 9, 14, .72); display: flex; align-items: center; justify-content: center; }
#auth[hidden] { display: none; }
#auth form { background: var(--panel); border: 1px solid var(--border); border-radius: 12px; padding: 22px 24px; width: 380px; }
#auth h2 { margin: 0 0 6px; font-size: 16px; }
#auth p { margin: 0 0 14px; color: var(--muted); font-size: 13px; }
#auth input { width: 100%; padding: 9px 11px; border-radius: 7px; border: 1px solid var(--border); background: var(--bg); color: var(--text); font: inherit; }
#auth button { margin-top: 12px; width: 100%; padding: 9px; border: 0; border-radius: 7px; background: var(--accent); color: #04121c; font: inherit; font-weight: 650; cursor: pointer; }
`;

// Plain browser JavaScript. Written without template literals so that it sits in the
// String.raw above unchanged.
const script = String.raw`
'use strict';
(function () {
  var POLL_MS = 1000;          // how often GET stats is polled
  var HISTORY = 60;            // sparkline points (one per poll)
  var WINDOW = 5;              // percentiles cover the last WINDOW polls
  var TOKEN_KEY = 'lb-native-admin-token';
  var token = readToken();
  var snaps = [];              // { at, stats }, newest last, WINDOW + 1 at most
  var series = { rate: [], p99: [], errors: [], conns: [], traffic: [] };
  var rows = new Map();        // backend id -> row
  var svgNs = 'http://www.w3.org/2000/svg';

  function $(id) { return document.getElementById(id); }

  function readToken() {
    var fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
    if (fromHash) {
      try { sessionStorage.setItem(TOKEN_KEY, fromHash); } catch (e) { /* storage off: keep it in memory */ }
      history.replaceState(null, '', location.pathname + location.search);
      return fromHash;
    }
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; }
  }

  // ---- formatting ----
  function fmtInt(n) { return Math.round(n).toLocaleString('en-US'); }
  function fmtRate(n) {
    if (n === null || n === undefined) return '\u2013';
    if (n < 100) return n.toFixed(1);
    return fmtInt(n);
  }
  function fmtMs(ms, bounds) {
    if (ms === undefined) return '\u2013';
    if (ms === Infinity) return '>' + (bounds[bounds.length - 1] || 0);
    if (ms < 10) return ms.toFixed(2);
    if (ms < 100) return ms.toFixed(1);
    return fmtInt(ms);
  }
  function fmtBytes(n) {
    if (n === null || n === undefined) return '\u2013';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var u = 0;
    while (n >= 1024 && u < units.length - 1) { n /= 1024; u += 1; }
    return (u === 0 || n >= 100 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[u];
  }

  // ---- histograms: per-bucket counts, the last bucket unbounded ----
  function delta(now, before) {
    if (!before || before.length !== now.length) return now.slice();
    var out = now.map(function (c, i) { return c - (before[i] || 0); });
    return out.some(function (d) { return d < 0; }) ? now.slice() : out;
  }
  function percentile(counts, bounds, q) {
    var total = counts.reduce(function (s, c) { return s + c; }, 0);
    if (total <= 0) return undefined;
    var rank = q * total, cum = 0;
    for (var i = 0; i < counts.length; i += 1) {
      var c = counts[i] || 0;
      if (c > 0 && cum + c >= rank) {
        if (i >= bounds.length) return Infinity;
        var lower = i === 0 ? 0 : bounds[i - 1];
        return lower + (bounds[i] - lower) * Math.max(0, rank - cum) / c;
      }
      cum += c;
    }
    return Infinity;
  }
  function addInto(sum, counts) {
    for (var i = 0; i < counts.length; i += 1) sum[i] = (sum[i] || 0) + counts[i];
    return sum;
  }

  // ---- sparklines ----
  function sparkSvg(color, width, height) {
    var svg = document.createElementNS(svgNs, 'svg');
    svg.setAttribute('class', 'spark ' + color);
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    svg.setAttribute('preserveAspectRatio', 'none');
    var area = document.createElementNS(svgNs, 'path');
    area.setAttribute('class', 'area');
    var line = document.createElementNS(svgNs, 'path');
    line.setAttribute('class', 'line');
    svg.appendChild(area);
    svg.appendChild(line);
    return svg;
  }
  function drawSpark(svg, values) {
    var box = svg.viewBox.baseVal, w = box.width, h = box.height, pad = 2;
    var line = svg.querySelector('path.line'), area = svg.querySelector('path.area');
    if (values.length < 2) { line.setAttribute('d', ''); area.setAttribute('d', ''); return; }
    // Headroom above the highest point, so a steady series does not hug the top.
    var max = Math.max.apply(null, values.concat([1e-9])) * 1.15;
    // Until HISTORY points have arrived, the points that have are spread over the width.
    var step = w / (values.length - 1);
    var x0 = 0;
    var d = '';
    values.forEach(function (v, i) {
      var x = x0 + step * i, y = h - pad - (h - 2 * pad) * (v / max);
      d += (i === 0 ? 'M' : 'L') + x.toFixed(1) + ' ' + y.toFixed(1);
    });
    line.setAttribute('d', d);
    area.setAttribute('d', d + 'L' + w + ' ' + h + 'L' + x0.toFixed(1) + ' ' + h + 'Z');
  }
  function push(list, value) {
    list.push(value);
    if (list.length > HISTORY) list.shift();
  }

  // ---- rendering ----
  function setText(el, text) { if (el.textContent !== text) el.textContent = text; }
  function setValue(id, text, unit) {
    var el = $(id);
    setText(el.querySelector('.v'), text);
    if (unit !== undefined) setText(el.querySelector('.unit'), unit);
  }
  function setStatus(kind, text) {
    var pill = $('status');
    pill.className = 'pill ' + kind;
    setText(pill, text);
  }
  function errorsOf(b) { return b.responses5xx + b.connectErrors + b.backendErrors; }
  function stateOf(b, workers) {
    if (b.state !== 'ready') return [b.state, b.state];
    if (b.health === 'down') return ['down', 'down'];
    if (b.ejectedWorkers > 0) return ['ejected', 'ejected ' + b.ejectedWorkers + '/' + workers];
    return ['ready', 'ready'];
  }

  function makeRow(b) {
    var tr = document.createElement('tr');
    tr.dataset.backendId = String(b.id);
    var names = ['id', 'addr', 'state', 'weight', 'rate', 'spark', 'p50', 'p95', 'p99', 'errors', 'active', 'idle', 'requests'];
    var classes = { id: 'id n', weight: 'n', rate: 'n', p50: 'n', p95: 'n', p99: 'n', errors: 'n', active: 'n', idle: 'n', requests: 'n muted', spark: 'spark-cell', addr: 'addr' };
    var cells = {};
    names.forEach(function (name) {
      var td = document.createElement('td');
      if (classes[name]) td.className = classes[name];
      td.dataset.col = name;
      cells[name] = td;
      tr.appendChild(td);
    });
    var addr = document.createElement('span');
    var host = document.createElement('span');
    host.className = 'host';
    cells.addr.appendChild(addr);
    cells.addr.appendChild(host);
    var badge = document.createElement('span');
    var health = document.createElement('span');
    health.className = 'health';
    cells.state.appendChild(badge);
    cells.state.appendChild(health);
    var spark = sparkSvg('blue', 120, 28);
    cells.spark.appendChild(spark);
    return { tr: tr, cells: cells, addr: addr, host: host, badge: badge, health: health, spark: spark, rates: [] };
  }

  function render(stats, at) {
    snaps.push({ at: at, stats: stats });
    if (snaps.length > WINDOW + 1) snaps.shift();
    var prev = snaps.length > 1 ? snaps[snaps.length - 2] : null;
    var oldest = snaps.length > 1 ? snaps[0] : null;
    var dt = prev ? (at - prev.at) / 1000 : 0;
    function rate(now, before) {
      if (!prev || dt <= 0 || before === undefined) return null;
      return Math.max(0, now - before) / dt;
    }
    var bounds = stats.latencyBoundsMs;
    var prevById = new Map(), oldById = new Map();
    if (prev) prev.stats.backends.forEach(function (b) { prevById.set(b.id, b); });
    if (oldest) oldest.stats.backends.forEach(function (b) { oldById.set(b.id, b); });

    // Balancer-wide.
    var reqRate = rate(stats.requests, prev && prev.stats.requests);
    var errRate = rate(stats.responses5xx, prev && prev.stats.responses5xx);
    var all = [];
    stats.backends.forEach(function (b) {
      var old = oldById.get(b.id);
      addInto(all, oldest ? delta(b.totalTime, old ? old.totalTime : null) : b.totalTime);
    });
    var p50 = percentile(all, bounds, 0.5), p99 = percentile(all, bounds, 0.99);
    var inRate = rate(stats.bytesFromClients, prev && prev.stats.bytesFromClients);
    var outRate = rate(stats.bytesToClients, prev && prev.stats.bytesToClients);
    if (reqRate !== null) {
      push(series.rate, reqRate);
      push(series.errors, errRate || 0);
      push(series.p99, p99 === undefined || p99 === Infinity ? 0 : p99);
      push(series.conns, stats.activeClientConnections);
      push(series.traffic, (inRate || 0) + (outRate || 0));
    }
    setValue('c-rate', fmtRate(reqRate), 'req/s');
    setText($('c-rate-sub'), fmtInt(stats.requests) + ' requests since start');
    $('total-requests').dataset.value = String(stats.requests);
    setValue('c-p99', fmtMs(p99, bounds), 'ms');
    setText($('c-p99-sub'), 'p50 ' + fmtMs(p50, bounds) + ' ms \u00b7 last ' + WINDOW + ' s');
    setValue('c-errors', fmtRate(errRate), '5xx/s');
    setText($('c-errors-sub'), fmtInt(stats.responses5xx) + ' 5xx \u00b7 ' + fmtInt(stats.responses4xx) + ' 4xx since start');
    setValue('c-conns', fmtInt(stats.activeClientConnections), 'open');
    setText($('c-conns-sub'), fmtInt(stats.acceptedConnections) + ' accepted since start');
    setValue('c-in', inRate === null ? '\u2013' : fmtBytes(inRate) + '/s', 'in');
    setText($('c-in-sub'), (outRate === null ? '\u2013' : fmtBytes(outRate) + '/s') + ' out \u00b7 ' + fmtBytes(stats.bytesToClients) + ' sent');
    drawSpark($('s-rate'), series.rate);
    drawSpark($('s-p99'), series.p99);
    drawSpark($('s-errors'), series.errors);
    drawSpark($('s-conns'), series.conns);
    drawSpark($('s-traffic'), series.traffic);

    // Backends.
    var tbody = $('backends');
    var seen = new Set();
    stats.backends.forEach(function (b, index) {
      seen.add(b.id);
      var row = rows.get(b.id);
      if (!row) { row = makeRow(b); rows.set(b.id, row); }
      if (tbody.children[index] !== row.tr) tbody.insertBefore(row.tr, tbody.children[index] || null);
      var before = prevById.get(b.id), old = oldById.get(b.id);
      var r = rate(b.requests, before ? before.requests : (prev ? 0 : undefined));
      if (r !== null) push(row.rates, r);
      var lat = oldest ? delta(b.totalTime, old ? old.totalTime : null) : b.totalTime;
      var st = stateOf(b, stats.workers);
      var er = rate(errorsOf(b), before ? errorsOf(before) : (prev ? 0 : undefined));
      setText(row.cells.id, String(b.id));
      setText(row.addr, b.address);
      var numeric = b.host + ':' + b.port;
      setText(row.host, b.address.indexOf(b.host) === -1 && b.host ? numeric : '');
      row.badge.className = 'badge ' + st[0];
      setText(row.badge, st[1]);
      // Why a backend is down, in short (the whole reason in the tooltip).
      var reason = b.health === 'down' && b.healthReason ? b.healthReason : '';
      setText(row.health, reason.length > 26 ? reason.slice(0, 25) + '\u2026' : reason);
      row.health.title = reason;
      setText(row.cells.weight, String(b.weight));
      setText(row.cells.rate, fmtRate(r));
      setText(row.cells.p50, fmtMs(percentile(lat, bounds, 0.5), bounds));
      setText(row.cells.p95, fmtMs(percentile(lat, bounds, 0.95), bounds));
      setText(row.cells.p99, fmtMs(percentile(lat, bounds, 0.99), bounds));
      setText(row.cells.errors, er === null ? fmtInt(errorsOf(b)) : fmtRate(er));
      row.cells.errors.className = 'n' + (er ? ' bad' : '');
      row.cells.errors.title = fmtInt(errorsOf(b)) + ' since start: ' + fmtInt(b.responses5xx) + ' 5xx, ' + fmtInt(b.connectErrors) + ' connect, ' + fmtInt(b.backendErrors) + ' backend errors, ' + fmtInt(b.retries) + ' retries';
      setText(row.cells.active, fmtInt(b.activeConnections));
      setText(row.cells.idle, fmtInt(b.idleConnections));
      setText(row.cells.requests, fmtInt(b.requests));
      drawSpark(row.spark, row.rates);
    });
    rows.forEach(function (row, id) {
      if (!seen.has(id)) { row.tr.remove(); rows.delete(id); }
    });
    $('no-backends').hidden = stats.backends.length > 0;
    setText($('backend-count'), stats.backends.length + (stats.backends.length === 1 ? ' backend' : ' backends') + ' \u00b7 ' + stats.workers + (stats.workers === 1 ? ' worker' : ' workers'));

    // Balancer-generated failures and internals.
    setText($('f-bad'), fmtInt(stats.badRequests));
    setText($('f-nobackend'), fmtInt(stats.noBackend));
    setText($('f-502'), fmtInt(stats.badGateway));
    setText($('f-504'), fmtInt(stats.gatewayTimeout));
    setText($('f-worker'), fmtInt(stats.workerErrors));
    setText($('f-dropped'), fmtInt(stats.eventsDropped + stats.accessLogDropped));
    setText($('updated'), 'updated ' + new Date().toLocaleTimeString('en-GB'));
  }

  // ---- polling ----
  function showAuth(show) {
    $('auth').hidden = !show;
    if (show) $('token').focus();
  }
  async function poll() {
    var res;
    try {
      res = await fetch('stats', { headers: token ? { Authorization: 'Bearer ' + token } : {}, cache: 'no-store' });
    } catch (e) {
      setStatus('down', 'Disconnected \u2013 retrying');
      return;
    }
    if (res.status === 401) {
      setStatus('auth', 'Token required');
      showAuth(true);
      return;
    }
    if (!res.ok) {
      var message = 'HTTP ' + res.status;
      try { message = (await res.json()).error.message; } catch (e) { /* not our JSON */ }
      setStatus('down', message);
      return;
    }
    var stats = await res.json();
    showAuth(false);
    render(stats, performance.now());
    setStatus('live', 'Live');
  }
  function loop() {
    poll().catch(function (e) { setStatus('down', String(e && e.message || e)); })
      .then(function () { setTimeout(loop, POLL_MS); });
  }
  $('auth').addEventListener('submit', function (event) {
    event.preventDefault();
    token = $('token').value.trim();
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* memory only */ }
    $('token').value = '';
    showAuth(false);
  });
  setText($('where'), location.host);
  ['s-rate', 's-p99', 's-errors', 's-conns', 's-traffic'].forEach(function (id, i) {
    var svg = sparkSvg(['blue', 'violet', 'red', 'green', 'amber'][i], 200, 30);
    svg.id = id;
    $(id + '-slot').replaceWith(svg);
  });
  loop();
})();
`;

const body = String.raw`
<header>
  <div class="brand">
    <svg width="26" height="26" viewBox="0 0 26 26" aria-hidden="true"><rect x="1" y="1" width="24" height="24" rx="6" fill="#16324a"/><path d="M6 13h5M11 13l5-5h4M11 13l5 5h4M11 13h9" stroke="#4cc2ff" stroke-width="2" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>
    <span>lb-native <small>admin</small></span>
  </div>
  <span class="meta" id="where"></span>
  <span class="spacer"></span>
  <span class="meta" id="updated"></span>
  <span class="pill" id="status">Connecting</span>
</header>
<main>
  <div class="cards">
    <div class="card"><h3>Request rate</h3><div class="value" id="c-rate"><span class="v">&ndash;</span><span class="unit"></span></div><div class="sub" id="c-rate-sub"></div><span id="total-requests" data-testid="total-requests" data-value="0" hidden></span><span id="s-rate-slot"></span></div>
    <div class="card"><h3>Latency p99</h3><div class="value" id="c-p99"><span class="v">&ndash;</span><span class="unit"></span></div><div class="sub" id="c-p99-sub"></div><span id="s-p99-slot"></span></div>
    <div class="card"><h3>Errors</h3><div class="value" id="c-errors"><span class="v">&ndash;</span><span class="unit"></span></div><div class="sub" id="c-errors-sub"></div><span id="s-errors-slot"></span></div>
    <div class="card"><h3>Client connections</h3><div class="value" id="c-conns"><span class="v">&ndash;</span><span class="unit"></span></div><div class="sub" id="c-conns-sub"></div><span id="s-conns-slot"></span></div>
    <div class="card"><h3>Traffic</h3><div class="value" id="c-in"><span class="v">&ndash;</span><span class="unit"></span></div><div class="sub" id="c-in-sub"></div><span id="s-traffic-slot"></span></div>
  </div>
  <section class="panel">
    <h2>Backends <small id="backend-count"></small></h2>
    <div class="table-wrap"><table>
      <thead><tr>
        <th class="n">#</th><th>Backend</th><th>State</th><th class="n">Weight</th><th class="n">Req/s</th><th>Last 60 s</th>
        <th class="n">p50 ms</th><th class="n">p95 ms</th><th class="n">p99 ms</th><th class="n">Errors/s</th>
        <th class="n">Active</th><th class="n">Idle</th><th class="n">Requests</th>
      </tr></thead>
      <tbody id="backends"></tbody>
    </table></div>
    <div class="empty" id="no-backends" hidden>No backends</div>
  </section>
  <footer>
    <span>Bad requests<b id="f-bad">0</b></span>
    <span>No backend (503)<b id="f-nobackend">0</b></span>
    <span>Bad gateway (502)<b id="f-502">0</b></span>
    <span>Gateway timeout (504)<b id="f-504">0</b></span>
    <span>Worker errors<b id="f-worker">0</b></span>
    <span>Events dropped<b id="f-dropped">0</b></span>
    <span class="spacer"></span>
    <span>Latency: request start to last response byte; percentiles over the last 5 s</span>
  </footer>
</main>
<div id="auth" hidden>
  <form>
    <h2>Admin token required</h2>
    <p>This admin API needs a bearer token. It is kept for this browser tab only.</p>
    <input id="token" type="password" autocomplete="off" placeholder="token" aria-label="token">
    <button type="submit">Connect</button>
  </form>
</div>
`;

function sha256Base64(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

/** The page's HTML. */
export const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>lb-native admin</title>
<link rel="icon" href="data:,">
<style>${css}</style>
</head>
<body>${body}<script>${script}</script>
</body>
</html>
`;

/** Its Content-Security-Policy: the inline script and style by hash, requests to the same origin only. */
export const dashboardCsp = [
  "default-src 'none'",
  `script-src 'sha256-${sha256Base64(script)}'`,
  `style-src 'sha256-${sha256Base64(css)}'`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
