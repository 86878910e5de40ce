// The dashboard's style sheet: one inline <style>, allowed by its hash in the page's
// Content-Security-Policy (dashboard-page.ts).
export const pageStyle = String.raw`
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
td.spark-cell { width: 104px; padding-top: 4px; padding-bottom: 4px; }
td.spark-cell svg { display: block; width: 96px; height: 28px; }
.badge { display: inline-block; padding: 2px 9px; border-radius: 6px; font-size: 12px; font-weight: 600; border: 1px solid transparent; }
.badge.ready { color: var(--green); background: rgba(62, 207, 142, .12); border-color: rgba(62, 207, 142, .25); }
.badge.drain { color: var(--amber); background: rgba(242, 182, 75, .12); border-color: rgba(242, 182, 75, .25); }
.badge.maint { color: var(--gray); background: rgba(123, 135, 148, .14); border-color: rgba(123, 135, 148, .3); }
.badge.down, .badge.ejected { color: var(--red); background: rgba(255, 107, 107, .12); border-color: rgba(255, 107, 107, .28); }
.health { display: block; font-size: 11.5px; color: var(--muted); margin-top: 2px; }
.health:empty { display: none; }
section.certificates { margin-top: 16px; }
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
