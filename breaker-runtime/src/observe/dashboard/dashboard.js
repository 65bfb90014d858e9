// The live dashboard: loads `circuits` once, then follows `events` (server-sent
// `snapshot` and `transition` events). Every value from the server is data: it is put in
// the page with `textContent` and attributes only, never parsed as HTML.
"use strict";

(function () {
  const STATES = ["closed", "open", "half-open", "forced-open", "disabled", "metrics-only"];
  // Problems first: the order tiles are shown in.
  const SEVERITY = { "open": 0, "forced-open": 1, "half-open": 2, "closed": 3, "metrics-only": 4, "disabled": 5 };
  const CHART_POINTS = 60;
  const HISTORY_KEPT = 20;
  const HISTORY_SHOWN = 6;
  const SVG = "http://www.w3.org/2000/svg";

  // service -> { summary, generation, history, points, previous, ageBase, ageAt, tile }
  const circuits = new Map();
  const tiles = document.getElementById("tiles");

  // ---- formatting ---------------------------------------------------------------

  function num(value) {
    return typeof value === "number" && isFinite(value) ? value : null;
  }

  function count(value) {
    const n = num(value);
    return n === null ? "–" : n.toLocaleString("en-US");
  }

  function latency(seconds) {
    const s = num(seconds);
    if (s === null) return "–";
    if (s === 0) return "0 ms";
    if (s < 0.001) return (s * 1e6).toFixed(0) + " µs";
    if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : s < 0.1 ? 1 : 0) + " ms";
    return s.toFixed(2) + " s";
  }

  function age(seconds) {
    const s = Math.max(0, Math.floor(num(seconds) || 0));
    if (s < 60) return s + "s";
    const two = (big, bigUnit, small, smallUnit) => big + bigUnit + (small ? " " + small + smallUnit : "");
    if (s < 3600) return two(Math.floor(s / 60), "m", s % 60, "s");
    if (s < 86400) return two(Math.floor(s / 3600), "h", Math.floor((s % 3600) / 60), "m");
    return two(Math.floor(s / 86400), "d", Math.floor((s % 86400) / 3600), "h");
  }

  function percent(rate) {
    const r = num(rate);
    return r === null ? "–" : (r * 100).toFixed(1) + "%";
  }

  function clock(unixSeconds) {
    const t = num(unixSeconds);
    if (t === null) return "";
    const d = new Date(t * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function stateName(state) {
    return STATES.includes(state) ? state : "unknown";
  }

  // ---- DOM helpers --------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attributes) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    return node;
  }

  function row(list, label, ...values) {
    list.append(el("dt", null, label));
    const dd = el("dd");
    values.filter((v) => v !== null).forEach((value, i) => {
      if (i > 0) dd.append(el("br"));
      dd.append(typeof value === "string" ? document.createTextNode(value) : value);
    });
    list.append(dd);
  }

  // ---- the model ----------------------------------------------------------------

  function entry(service) {
    let c = circuits.get(service);
    if (!c) {
      c = { summary: { service }, generation: -1, history: [], points: [], previous: null, ageBase: 0, ageAt: performance.now(), tile: null };
      circuits.set(service, c);
    }
    return c;
  }

  // The same transition seen twice (as an event and in a summary): by generation when
  // both carry one, else by what it says and when.
  function sameTransition(a, b) {
    if (a.generation !== null && b.generation !== null) return a.generation === b.generation && a.to === b.to;
    return a.from === b.from && a.to === b.to && a.reason === b.reason && Math.abs((a.time || 0) - (b.time || 0)) < 1;
  }

  function remember(c, records) {
    for (const r of records) {
      if (!r || typeof r !== "object" || typeof r.to !== "string") continue;
      const record = {
        from: String(r.from || ""),
        to: r.to,
        reason: r.reason == null ? "" : String(r.reason),
        time: num(r.time),
        generation: num(r.generation),
        error: r.last_error == null ? "" : String(r.last_error),
      };
      const known = c.history.find((h) => sameTransition(h, record));
      if (!known) c.history.push(record);
      else if (!known.error && record.error) known.error = record.error; // events carry no error text
    }
    c.history.sort((a, b) =>
      a.generation !== null && b.generation !== null ? a.generation - b.generation : (a.time || 0) - (b.time || 0));
    if (c.history.length > HISTORY_KEPT) c.history.splice(0, c.history.length - HISTORY_KEPT);
  }

  // Calls completed since the previous summary: one chart point.
  function sample(c, calls) {
    if (!calls || typeof calls !== "object") return;
    const now = { ok: num(calls.successes) || 0, err: (num(calls.failures) || 0) + (num(calls.timeouts) || 0) };
    if (c.previous) {
      c.points.push({ ok: Math.max(0, now.ok - c.previous.ok), err: Math.max(0, now.err - c.previous.err) });
      if (c.points.length > CHART_POINTS) c.points.splice(0, c.points.length - CHART_POINTS);
    }
    c.previous = now;
  }

  function applySummaries(list) {
    if (!Array.isArray(list)) throw new Error("expected a JSON array of circuits");
    const seen = new Set();
    for (const s of list) {
      if (!s || typeof s.service !== "string") continue;
      seen.add(s.service);
      const c = entry(s.service);
      const generation = num(s.generation);
      // A transition event may be newer than this summary: keep its state then.
      const stale = generation !== null && generation < c.generation;
      c.summary = stale ? Object.assign({}, s, { state: c.summary.state, generation: c.generation }) : s;
      if (!stale) {
        if (generation !== null) c.generation = generation;
        c.ageBase = num(s.state_age_seconds) || 0;
        c.ageAt = performance.now();
      }
      sample(c, s.calls);
      remember(c, Array.isArray(s.transitions_recent) ? s.transitions_recent : []);
      if (s.last_transition) remember(c, [s.last_transition]);
    }
    // A breaker gone from the registry goes from the page.
    for (const [service, c] of circuits) {
      if (!seen.has(service)) {
        if (c.tile) c.tile.remove();
        circuits.delete(service);
      }
    }
    render();
  }

  function applyTransition(t) {
    if (!t || typeof t.service !== "string" || typeof t.to !== "string") return;
    const c = entry(t.service);
    const generation = num(t.generation);
    if (generation !== null && generation < c.generation) return;
    if (generation !== null) c.generation = generation;
    c.summary = Object.assign({}, c.summary, { state: t.to, generation: t.generation });
    c.ageBase = 0;
    c.ageAt = performance.now();
    remember(c, [t]);
    render();
  }

  // ---- rendering ----------------------------------------------------------------

  function renderSummary() {
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const c of circuits.values()) {
      const state = stateName(c.summary.state);
      if (state in counts) counts[state] += 1;
    }
    for (const state of STATES) {
      const node = document.querySelector('[data-summary="' + state + '"]');
      if (!node) continue;
      node.dataset.count = String(counts[state]);
      node.querySelector(".n").textContent = String(counts[state]);
      node.classList.toggle("zero", counts[state] === 0);
    }
    document.getElementById("summary").dataset.total = String(circuits.size);
  }

  function chart(points) {
    const width = 240;
    const height = 44;
    const root = svg("svg", { viewBox: "0 0 " + width + " " + height, class: "chart", role: "img", preserveAspectRatio: "none" });
    const okTotal = points.reduce((n, p) => n + p.ok, 0);
    const errTotal = points.reduce((n, p) => n + p.err, 0);
    const title = svg("title", {});
    title.textContent = "calls per interval over the last " + points.length + " intervals: " + okTotal + " succeeded, " + errTotal + " failed";
    root.append(title);
    root.append(svg("line", { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: "axis" }));
    const max = Math.max(1, ...points.map((p) => p.ok + p.err));
    const slot = width / CHART_POINTS;
    const offset = width - points.length * slot; // the newest point at the right edge
    points.forEach((p, i) => {
      const x = offset + i * slot + slot * 0.1;
      const w = slot * 0.8;
      const okH = (p.ok / max) * (height - 2);
      const errH = (p.err / max) * (height - 2);
      if (errH > 0) root.append(svg("rect", { x, y: height - 1 - errH, width: w, height: errH, class: "err" }));
      if (okH > 0) root.append(svg("rect", { x, y: height - 1 - errH - okH, width: w, height: okH, class: "ok" }));
    });
    return root;
  }

  function historyList(c) {
    const list = el("ol", "history");
    const recent = c.history.slice(-HISTORY_SHOWN).reverse();
    for (const h of recent) {
      const item = el("li");
      const move = el("span", "move");
      move.append(el("span", "st st-" + stateName(h.from), h.from), document.createTextNode(" → "), el("span", "st st-" + stateName(h.to), h.to));
      const why = el("span", "why", h.reason);
      if (h.error) why.append(el("span", "last-error", " · " + h.error));
      item.append(el("time", null, clock(h.time)), move, why);
      list.append(item);
    }
    if (recent.length === 0) list.append(el("li", "none", "no transitions seen"));
    return list;
  }

  function renderTile(c) {
    const s = c.summary;
    const state = stateName(s.state);
    if (!c.tile) {
      c.tile = el("article", "tile");
      c.tile.dataset.service = s.service;
    }
    const tile = c.tile;
    tile.dataset.state = typeof s.state === "string" ? s.state : "unknown";
    tile.className = "tile st-" + state;

    const head = el("header", "tile-head");
    head.append(el("h2", "service", s.service), el("span", "badge", s.state || "unknown"));

    const since = el("p", "since");
    const ageNode = el("span", "age", age(c.ageBase));
    since.append(document.createTextNode(s.state ? (s.state + " for ") : "for "), ageNode);
    c.ageNode = ageNode;
    if (num(s.retry_after_seconds) !== null) since.append(document.createTextNode(" · probe in " + age(Math.ceil(s.retry_after_seconds))));
    if (num(s.generation) !== null) since.append(document.createTextNode(" · generation " + s.generation));

    const last = c.history.length ? c.history[c.history.length - 1] : null;
    const why = el("p", "why-line");
    why.append(el("span", "label", "reason "));
    const reason = el("span", "reason", last ? last.reason : "");
    if (!last) {
      reason.textContent = "no transition yet";
      reason.classList.add("empty");
    }
    why.append(reason);
    if (last && last.error) why.append(el("span", "last-error", " · " + last.error));

    const figure = el("figure", "trend");
    const plot = el("div", "plot");
    plot.append(chart(c.points));
    if (!c.points.some((p) => p.ok + p.err > 0)) {
      plot.append(el("span", "plot-note", c.points.length ? "no calls completed lately" : "waiting for updates"));
    }
    figure.append(plot);
    const legend = el("figcaption");
    legend.append(el("span", "key ok", "successes"), el("span", "key err", "failures"), document.createTextNode(" per interval"));
    figure.append(legend);

    const stats = el("dl", "stats");
    const calls = s.calls || {};
    row(stats, "calls", count(calls.successes) + " ok · " + count(calls.failures) + " failed · " + count(calls.timeouts) + " timed out · " + count(calls.ignored) + " ignored");
    const w = s.window || {};
    if (Object.keys(w).length) {
      row(stats, "window", percent(w.failure_rate) + " failing of " + count(w.calls) + " calls in " + age(w.length_seconds) + (num(w.slow_call_rate) ? " · " + percent(w.slow_call_rate) + " slow" : ""));
    }
    const l = s.latency || {};
    const percentiles = [["p50", l.p50_seconds], ["p90", l.p90_seconds], ["p99", l.p99_seconds], ["p99.9", l.p999_seconds]]
      .filter(([, v]) => num(v) !== null)
      // The histogram's first bucket holds every call up to 1 ms (the real clock's
      // resolution): a percentile inside it says no more than that.
      .map(([k, v]) => k + " " + (num(v) > 0 && num(v) <= 0.001 ? "≤ 1 ms" : latency(v)))
      .join(" · ");
    row(stats, "latency", "mean " + latency(l.mean_seconds) + " · max " + latency(l.max_seconds), percentiles || null);
    const r = s.rejections || {};
    row(stats, "rejected", "open " + count(r.open) + " · probe limit " + count(r.probe_limit) + " · bulkhead " + count(r.bulkhead) + " · forced " + count(r.forced_open));
    const b = s.bulkhead || {};
    const meter = el("span", "meter");
    const used = num(b.in_use) || 0;
    const max = num(b.max_concurrent) || 0;
    const fill = el("span", "fill");
    fill.style.width = (max > 0 ? Math.min(100, (used / max) * 100) : 0) + "%";
    meter.append(fill);
    const bulk = el("span");
    bulk.append(document.createTextNode(count(b.in_use) + " / " + count(b.max_concurrent) + " in use · " + count(b.queued) + " queued "), meter);
    row(stats, "bulkhead", bulk);
    const f = s.fallbacks || {};
    row(stats, "fallbacks", count(f.runs) + " runs · " + count(f.successes) + " ok · " + count(f.failures) + " failed");
    if (num(s.consecutive_failures) || num(s.open_count)) {
      const opened = num(s.open_count) === 1 ? "once" : count(s.open_count) + " times";
      row(stats, "failures", count(s.consecutive_failures) + " in a row · opened " + opened);
    }

    const transitions = el("section", "transitions");
    transitions.append(el("h3", null, "recent transitions"), historyList(c));

    tile.replaceChildren(head, since, why, figure, stats, transitions);
    return tile;
  }

  function render() {
    const placeholder = document.getElementById("placeholder");
    if (placeholder) placeholder.remove();
    const ordered = [...circuits.values()].sort((a, b) => {
      const sa = SEVERITY[a.summary.state] ?? 9;
      const sb = SEVERITY[b.summary.state] ?? 9;
      return sa - sb || (a.summary.service < b.summary.service ? -1 : a.summary.service > b.summary.service ? 1 : 0);
    });
    for (const c of ordered) tiles.append(renderTile(c)); // appending moves: this also orders
    if (ordered.length === 0 && !document.getElementById("empty")) {
      const none = el("p", "placeholder", "No circuit breakers are registered in this process.");
      none.id = "empty";
      tiles.append(none);
    } else if (ordered.length > 0) {
      const none = document.getElementById("empty");
      if (none) none.remove();
    }
    renderSummary();
    document.getElementById("updated").textContent = "updated " + clock(Date.now() / 1000);
  }

  function tick() {
    const now = performance.now();
    for (const c of circuits.values()) {
      if (c.ageNode) c.ageNode.textContent = age(c.ageBase + (now - c.ageAt) / 1000);
    }
  }

  // ---- loading and following ----------------------------------------------------

  function showError(message) {
    const banner = document.getElementById("error");
    banner.textContent = message;
    banner.hidden = false;
  }

  function hideError() {
    document.getElementById("error").hidden = true;
  }

  function connection(state, text) {
    const node = document.getElementById("connection");
    node.dataset.connection = state;
    node.textContent = text;
  }

  function follow() {
    if (typeof EventSource !== "function") {
      connection("off", "no live updates in this browser");
      return;
    }
    const events = new EventSource("events");
    events.onopen = () => {
      connection("live", "live");
      hideError();
    };
    events.onerror = () => connection("reconnecting", "reconnecting…");
    events.addEventListener("snapshot", (e) => {
      try {
        applySummaries(JSON.parse(e.data));
      } catch (err) {
        showError("A snapshot could not be read: " + err.message);
      }
    });
    events.addEventListener("transition", (e) => {
      try {
        applyTransition(JSON.parse(e.data));
      } catch (err) {
        showError("A transition could not be read: " + err.message);
      }
    });
  }

  async function load() {
    try {
      const response = await fetch("circuits", { headers: { accept: "application/json" }, cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status + " " + response.statusText);
      applySummaries(await response.json());
    } catch (err) {
      connection("off", "not loaded");
      showError("Could not load the circuits from " + new URL("circuits", document.baseURI).pathname + ": " + err.message + ". Retrying…");
      setTimeout(load, 5000);
      return;
    }
    hideError();
    document.body.dataset.ready = "true";
    follow();
    backfill();
  }

  // The breakers' recent past from the history's finest tier (10 s points), so the
  // charts do not start empty; live updates then add a point each. Bounded: the first
  // services only, one request each, and a failure only leaves a chart to fill live.
  const BACKFILLED = 50;
  async function backfill() {
    for (const [service, c] of Array.from(circuits.entries()).slice(0, BACKFILLED)) {
      try {
        const response = await fetch("circuits/" + encodeURIComponent(service), { cache: "no-store" });
        if (!response.ok) continue;
        const body = await response.json();
        const tier = Array.isArray(body.history) ? body.history[0] : null;
        if (!tier || !Array.isArray(tier.points)) continue;
        const past = tier.points.map((p) => ({ ok: num(p.successes) || 0, err: (num(p.failures) || 0) + (num(p.timeouts) || 0) }));
        c.points = past.concat(c.points).slice(-CHART_POINTS);
        renderTile(c);
      } catch (err) {
        // The live updates fill the chart anyway.
      }
    }
  }

  setInterval(tick, 1000);
  load();
})();
