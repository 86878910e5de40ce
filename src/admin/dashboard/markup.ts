// The dashboard's markup: the cards, the backends table, the certificates table (shown
// when ACME runs), the footer counters and the token form, all filled in by script.ts (elements it finds by id).
export const pageBody = String.raw`
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
        <th class="n">Active</th><th class="n">Idle</th><th class="n">Queue</th><th class="n">Requests</th>
      </tr></thead>
      <tbody id="backends"></tbody>
    </table></div>
    <div class="empty" id="no-backends" hidden>No backends</div>
  </section>
  <section class="panel certificates" id="certificates-panel" hidden>
    <h2>Certificates <small>ACME</small></h2>
    <div class="table-wrap"><table>
      <thead><tr>
        <th>Names</th><th>Issuer</th><th class="n">Days left</th><th>Expires</th><th>Next attempt</th><th>Last result</th>
      </tr></thead>
      <tbody id="certificates"></tbody>
    </table></div>
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
    <h2 id="auth-title">Admin token required</h2>
    <p id="auth-text">This admin API needs a bearer token. It is kept for this browser tab only.</p>
    <input id="token" type="password" autocomplete="off" placeholder="token" aria-label="token">
    <button type="submit">Connect</button>
  </form>
</div>
`;
