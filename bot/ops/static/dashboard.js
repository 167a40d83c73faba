// The hedgebot dashboard: reads GET /status (every 5 s) and GET /history (every 30 s), draws uPlot charts,
// and sends POST /pause, /resume and /kill. Text goes in with textContent only: journal text (reasons,
// alert messages) is never parsed as HTML.
"use strict";

(() => {
  const STATUS_EVERY_MS = 5000;
  const HISTORY_EVERY_MS = 30000;
  const $ = (id) => document.getElementById(id);
  const isNum = (v) => typeof v === "number" && Number.isFinite(v);
  const usd = (v) =>
    isNum(v) ? v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : v === "Infinity" ? "∞" : "-";
  const fixed = (v, digits) => (isNum(v) ? v.toFixed(digits) : v === "Infinity" ? "∞" : "-");
  const when = (ms) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);
  const charts = {};
  // The journal keeps a snapshot with each decision; between decisions the page adds the readings it polls
  // from /status, so the charts move while it is open (these live points are not stored anywhere).
  const live = [];
  let journaled = null;

  async function getJSON(path) {
    const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
    if (response.status === 401) {
      location.assign("/dashboard"); // the session expired or the bot restarted: sign in again
      throw new Error("signed out");
    }
    if (!response.ok) throw new Error(`${path} answered HTTP ${response.status}`);
    return response.json();
  }

  function showStatus(doc) {
    let state = "trading";
    let tone = "ok";
    if (doc.kill_requested) [state, tone] = ["killed", "bad"];
    else if (doc.halted) [state, tone] = [`halted: ${doc.halt_reason}`, "bad"];
    else if (doc.paused) [state, tone] = ["paused", "warn"];
    $("state").textContent = state;
    $("state").className = `badge ${tone}`;
    $("state").title = doc.paused && doc.pause ? `paused by ${doc.pause.source}: ${doc.pause.reason}` : "";
    $("mode").textContent = `mode ${doc.mode}`;
    $("updated").textContent = `updated ${when(doc.now_ms)} UTC`;

    const pos = doc.position;
    $("hf").textContent = pos ? fixed(pos.health_factor, 3) : "-";
    $("distance").textContent = !pos ? "" : isNum(pos.distance_to_liquidation)
      ? `${(pos.distance_to_liquidation * 100).toFixed(1)} % above liquidation` : "no debt";
    $("liq-price").textContent = pos ? usd(pos.liquidation_price_usd) : "-";
    $("collateral-asset").textContent = pos ? pos.collateral_asset : "";
    $("collateral-price").textContent = pos ? usd(pos.collateral_price_usd) : "-";

    const hedge = doc.hedge;
    const side = !hedge ? "-" : hedge.contracts < 0 ? `short ${-hedge.contracts}` : hedge.contracts > 0 ? `long ${hedge.contracts}` : "flat";
    $("hedge-contracts").textContent = side;
    $("hedge-entry").textContent = hedge ? usd(hedge.entry_price) : "-";
    $("mark").textContent = hedge ? usd(hedge.mark_price) : "-";
    $("stops").textContent = !hedge ? "-" : hedge.stops.map((s) => `buy ${s.contracts} @ ${usd(s.price)}`).join(", ") || "none";
    $("pnl-btc").textContent = hedge ? fixed(hedge.pnl_btc, 8) : "-";
    $("pnl-usd").textContent = hedge ? usd(hedge.pnl_usd) : "-";
    $("funding-paid").textContent = hedge ? fixed(hedge.funding_paid_btc, 8) : "-";

    // The guardian: its reserve, what it defended today against the daily limit, where the next defense fires.
    const g = doc.defense;
    const armed = g && "reserve" in g;
    $("reserve").textContent = !g ? "-" : armed ? `${fixed(g.reserve, 2)} ${g.asset_symbol}` : "off";
    $("defended-today").textContent = !g ? "" : armed
      ? `${usd(g.reserve_usd)} USD; defended today ${usd(g.spent_today_usd)} of ${usd(g.max_usd_per_day)} USD`
      : g.problem;
    $("next-defense").textContent = !armed ? "" : (g.enabled ? "" : `cannot defend: ${g.problem}; `)
      + (isNum(g.next_defense_price_usd) ? `next defense at ${usd(g.next_defense_price_usd)} (~${usd(g.next_defense_usd)} USD)` : "no debt");

    const d = doc.last_decision;
    $("last-decision").textContent = d
      ? `#${d.seq} at ${when(d.ts_ms)} UTC, ${d.strategy} → ${d.target_contracts} contracts: ${d.reason}` : "none yet";
    $("feeds").textContent = Object.entries(doc.feeds || {})
      .map(([name, f]) => `${name} ${fixed(f.age_s, 1)} s ago${f.stale ? " STALE" : ""}`).join("; ");

    $("pause").disabled = Boolean(doc.paused || doc.kill_requested);
    $("resume").disabled = !doc.paused;
    $("kill").disabled = Boolean(doc.kill_requested);
  }

  const digits = (d) => (u, values) => values.map((v) => (v === null ? "" : v.toFixed(d)));

  // `more.yDigits`: fixed decimals on the left axis (BTC amounts are too small for uPlot's default ticks).
  function draw(id, x, series, more = {}) {
    const el = $(id);
    if (x.length === 0) {
      if (charts[id]) { charts[id].destroy(); delete charts[id]; }
      el.innerHTML = "";
      const empty = document.createElement("div");
      empty.className = "empty";
      empty.textContent = "nothing journaled in this window yet";
      el.appendChild(empty);
      return;
    }
    const data = [x, ...series.map((s) => s.values)];
    if (charts[id]) { charts[id].setData(data); return; }
    el.innerHTML = "";
    const axis = { stroke: "#8b96a1", grid: { stroke: "#252d35" }, ticks: { stroke: "#252d35" } };
    const opts = {
      width: Math.max(300, el.clientWidth),
      height: 220,
      scales: { x: { time: true } },
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, scale: s.scale || "y", spanGaps: false }))],
      axes: [
        { ...axis },
        { ...axis, scale: "y", ...(more.yDigits ? { values: digits(more.yDigits), size: 80 } : {}) },
        ...(more.extraAxes || []).map((a) => ({ ...axis, ...a })),
      ],
    };
    charts[id] = new uPlot(opts, data, el);
  }

  function showHistory(doc) {
    const snaps = doc.snapshots;
    const x = snaps.ts_ms.map((t) => t / 1000);
    draw("chart-hf", x, [{ label: "health factor", stroke: "#4fa3e0", values: snaps.health_factor }]);
    draw("chart-price", x, [
      { label: "collateral price", stroke: "#2e9d5b", values: snaps.collateral_price_usd },
      { label: "liquidation price", stroke: "#d64545", values: snaps.liquidation_price_usd },
    ]);
    draw(
      "chart-hedge",
      x,
      [
        { label: "short (contracts)", stroke: "#d9a300", values: snaps.hedge_contracts.map((c) => (c === null ? null : -c)) },
        { label: "PnL (BTC)", stroke: "#b07ee8", values: snaps.hedge_pnl_btc, scale: "btc" },
      ],
      { extraAxes: [{ scale: "btc", side: 1, grid: { show: false }, values: digits(5), size: 70 }] },
    );
    let total = 0;
    const received = doc.funding.map((f) => (total += f.amount_btc));
    draw(
      "chart-funding",
      doc.funding.map((f) => f.ts_ms / 1000),
      [{ label: "funding received (BTC)", stroke: "#4fa3e0", values: received }],
      { yDigits: 6 },
    );
    fillTable("decisions", doc.decisions.map((d) => [String(d.seq), when(d.ts_ms), String(d.contracts), d.reason]));
    const events = [
      ...doc.alerts.map((a) => ({ ts: a.ts_ms, what: `${a.severity} (${a.outcome})`, text: a.message, cls: `sev-${a.severity}` })),
      ...doc.controls.map((c) => ({ ts: c.ts_ms, what: `${c.action} by ${c.source}`, text: c.reason, cls: "" })),
    ].sort((a, b) => b.ts - a.ts);
    fillTable("alerts", events.map((e) => [when(e.ts), e.what, e.text]), events.map((e) => e.cls));
  }

  function fillTable(id, rows, classes) {
    const body = $(id).querySelector("tbody");
    body.replaceChildren(
      ...rows.map((cells, i) => {
        const tr = document.createElement("tr");
        if (classes && classes[i]) tr.className = classes[i];
        for (const text of cells) {
          const td = document.createElement("td");
          td.textContent = text;
          tr.appendChild(td);
        }
        return tr;
      }),
    );
  }

  function remember(doc) {
    const pos = doc.position;
    const hedge = doc.hedge;
    if (!pos || !hedge) return;
    live.push({
      ts_ms: doc.now_ms,
      health_factor: isNum(pos.health_factor) ? pos.health_factor : null,
      collateral_price_usd: pos.collateral_price_usd,
      liquidation_price_usd: isNum(pos.liquidation_price_usd) ? pos.liquidation_price_usd : null,
      hedge_contracts: hedge.contracts,
      hedge_pnl_btc: hedge.pnl_btc,
    });
    if (live.length > 2000) live.shift();
  }

  function withLive(doc) {
    const snaps = doc.snapshots;
    const last = snaps.ts_ms.length ? snaps.ts_ms[snaps.ts_ms.length - 1] : -Infinity;
    const merged = Object.fromEntries(Object.entries(snaps).map(([k, v]) => [k, [...v]]));
    for (const point of live) {
      if (point.ts_ms <= last) continue;
      for (const key of Object.keys(merged)) merged[key].push(key in point ? point[key] : null);
    }
    return { ...doc, snapshots: merged };
  }

  async function refreshStatus() {
    const doc = await getJSON("/status");
    showStatus(doc);
    remember(doc);
    if (journaled) showHistory(withLive(journaled));
  }

  async function refreshHistory() {
    journaled = await getJSON("/history?hours=24");
    showHistory(withLive(journaled));
  }

  async function control(action, reason) {
    const response = await fetch(`/${action}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Hedgebot-Source": "dashboard" },
      body: JSON.stringify({ reason }),
    });
    const answer = await response.json().catch(() => ({}));
    $("message").textContent = response.ok ? `${action}: done (${answer.reason || reason})` : `${action} failed: ${answer.error || response.status}`;
    await refreshStatus();
    await refreshHistory();
  }

  $("pause").addEventListener("click", () => {
    const reason = prompt("Pause: no new orders, the stops are kept. Why? (journaled and alerted)", "paused from the dashboard");
    if (reason !== null) control("pause", reason);
  });
  $("resume").addEventListener("click", () => control("resume", "resumed from the dashboard"));
  $("kill").addEventListener("click", () => {
    const reason = prompt(
      "KILL: cancel the entries and stop the bot. A restart refuses to trade until `hedgebot kill --clear`. Why?",
      "killed from the dashboard",
    );
    if (reason !== null) control("kill", reason);
  });

  function report(error) {
    $("message").textContent = String(error.message || error);
  }

  Promise.all([refreshStatus(), refreshHistory()])
    .then(() => { document.body.dataset.loaded = "yes"; })
    .catch(report);
  setInterval(() => refreshStatus().catch(report), STATUS_EVERY_MS);
  setInterval(() => refreshHistory().catch(report), HISTORY_EVERY_MS);
})();
