// Herald dashboard: the little JavaScript the pages need. No framework; the
// pages work as plain forms, and this adds live refresh, the template
// preview as you type, the live chart and the segment size.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };

  // post sends a form's fields (urlencoded) with the CSRF header; JSON back.
  async function post(url, form) {
    const body = new URLSearchParams(new FormData(form));
    const res = await fetch(url, { method: "POST", body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } });
    let data = null;
    try { data = await res.json(); } catch (e) { data = { message: res.status + " " + res.statusText }; }
    return { ok: res.ok, status: res.status, data };
  }

  function debounce(fn, ms) { let t; return () => { clearTimeout(t); t = setTimeout(fn, ms); }; }

  // Live campaign list: the table body is re-read every 3 s while the tab
  // is visible.
  const rows = $("tbody[data-refresh]");
  if (rows) {
    setInterval(async () => {
      if (document.hidden) return;
      const res = await fetch(rows.dataset.refresh, { credentials: "same-origin" });
      if (res.ok) rows.innerHTML = await res.text();
    }, 3000);
  }

  // Campaign editor: channel skeletons, schedule kinds, preview as you type.
  const form = $("#campaign-form");
  if (form) {
    const skeletons = {
      apple_push: { alert: { title: "Hi {{${first_name} | default: 'there'}}", body: "" } },
      android_push: { title: "Hi {{${first_name} | default: 'there'}}", alert: "" },
      web_push: { title: "Hi {{${first_name} | default: 'there'}}", alert: "" },
      content_card: { type: "CLASSIC", title: "Hi {{${first_name}}}", description: "" },
      webhook: { url: "https://example.com/hook", request_method: "POST", body: "{\"user\": \"{{${user_id}}}\"}" },
    };
    const messages = $("#messages");
    document.querySelectorAll(".add-channel").forEach((b) => b.addEventListener("click", () => {
      let m = {};
      try { m = JSON.parse(messages.value || "{}") || {}; } catch (e) { return; }
      if (!m[b.dataset.channel]) m[b.dataset.channel] = skeletons[b.dataset.channel];
      messages.value = JSON.stringify(m, null, 2);
      schedulePreview();
    }));
    const kinds = {
      immediate: { type: "immediate" },
      scheduled: { type: "scheduled", time: new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, "Z") },
      recurring: { type: "recurring", cron: "0 9 * * *", time_zone: "UTC" },
      api_triggered: { type: "api_triggered" },
    };
    $("#schedule-kind").addEventListener("change", (e) => {
      if (kinds[e.target.value]) $("#schedule").value = JSON.stringify(kinds[e.target.value]);
    });
    const out = $("#preview"), state = $("#preview-state");
    let seq = 0;
    async function preview() {
      const mine = ++seq;
      state.textContent = "rendering…";
      const res = await post("/dashboard/preview", form);
      if (mine !== seq) return; // a newer keystroke won
      out.replaceChildren();
      const d = res.data || {};
      if (!res.ok) {
        state.textContent = d.message || "preview failed";
        (d.errors || []).forEach((p) => out.append(el("p", p.field + ": " + p.reason, "error")));
        return;
      }
      state.textContent = d.user ? (d.user_found ? "as " + d.user : "user " + d.user + " not found: rendered with empty profile") : "for an anonymous user (give an external id)";
      (d.problems || []).forEach((p) => out.append(el("p", p.field + ": " + p.reason, "error")));
      Object.keys(d.messages || {}).sort().forEach((ch) => {
        const box = el("div", undefined, "rendered");
        box.dataset.channel = ch;
        box.append(el("h3", ch), el("pre", JSON.stringify(d.messages[ch], null, 2)));
        out.append(box);
      });
      Object.keys(d.aborted || {}).forEach((ch) => out.append(el("p", ch + ": aborted (" + d.aborted[ch] + ")", "muted")));
    }
    const schedulePreview = debounce(preview, 250);
    form.addEventListener("input", schedulePreview);
    $("#preview_user").addEventListener("input", schedulePreview);
    preview();
  }

  // Live delivery: server-sent stats every second, a chart and a funnel.
  const live = $("#live");
  if (live) {
    const xs = [], delivered = [], total = [];
    let plot = null;
    const chartEl = $("#chart");
    function draw() {
      if (!window.uPlot) return;
      const data = [xs, delivered, total];
      if (!plot) {
        plot = new uPlot({ width: Math.max(320, chartEl.clientWidth || 640), height: 220,
          series: [{}, { label: "delivered", stroke: "#1a7f37", width: 2 }, { label: "messages", stroke: "#0969da", width: 2 }],
          axes: [{}, { size: 60 }] }, data, chartEl);
      } else plot.setData(data);
    }
    const funnelCols = [["send"], ["delivery"], ["bounce"], ["open", "influenced_open", "impression"], ["click", "button_click"]];
    const es = new EventSource(live.dataset.stream);
    es.addEventListener("stats", (e) => {
      const s = JSON.parse(e.data);
      $("#live-state").textContent = "live";
      $("#live-delivered").textContent = s.delivered;
      $("#live-messages").textContent = s.messages;
      $("#live-dispatch-status").textContent = s.status || "–";
      xs.push(s.at); delivered.push(s.delivered); total.push(s.messages);
      if (xs.length > 600) { xs.shift(); delivered.shift(); total.shift(); }
      draw();
      const fb = $("#funnel tbody");
      fb.replaceChildren();
      Object.keys(s.funnel || {}).sort().forEach((ch) => {
        const tr = el("tr"); tr.dataset.channel = ch; tr.append(el("td", ch));
        funnelCols.forEach((kinds) => tr.append(el("td", String(kinds.reduce((n, k) => n + (s.funnel[ch][k] || 0), 0)), "num")));
        fb.append(tr);
      });
      const tb = $("#totals tbody");
      tb.replaceChildren();
      Object.keys(s.totals || {}).sort().forEach((k) => { const tr = el("tr"); tr.append(el("td", k), el("td", String(s.totals[k]), "num")); tb.append(tr); });
    });
    es.addEventListener("error", (e) => { $("#live-state").textContent = e.data ? "error: " + e.data : "reconnecting…"; });
    es.addEventListener("signedout", () => { es.close(); location.href = "/dashboard/signin"; });
    es.addEventListener("shutdown", () => { $("#live-state").textContent = "server restarting: reconnecting…"; });
  }

  // Segment builder: the exact size of the filter being written.
  const seg = $("#segment-form");
  if (seg) {
    const size = $("#segment-size");
    const measure = debounce(async () => {
      size.textContent = "counting…";
      const res = await post("/dashboard/segments/size", seg);
      const d = res.data || {};
      if (!res.ok) {
        size.textContent = (d.errors || []).map((p) => p.field + ": " + p.reason).join("; ") || d.message || "error";
        size.className = "error";
        return;
      }
      size.className = "big";
      size.textContent = d.size + " users";
      const sample = $("#segment-sample");
      if (sample) sample.textContent = (d.sample || []).join(", ");
    }, 300);
    seg.addEventListener("input", measure);
    measure();
    const filter = $("#segment-filter");
    $("#add-condition").addEventListener("click", () => {
      const kind = $("#leaf-kind").value, name = $("#leaf-name").value.trim(), cmp = $("#leaf-cmp").value;
      let value = $("#leaf-value").value.trim();
      try { value = JSON.parse(value); } catch (e) { /* a plain string */ }
      const days = parseInt($("#leaf-days").value, 10);
      let leaf;
      if (kind === "push_enabled") leaf = { push_enabled: {} };
      else if (kind === "custom_event") leaf = { custom_event: { event_name: name, comparison: cmp, count: Number(value) || 0, days: days || 30 } };
      else if (kind === "attribute") leaf = { attribute: { name, comparison: cmp, value } };
      else leaf = { custom_attribute: { custom_attribute_name: name, comparison: cmp, value } };
      if (cmp === "exists" || cmp === "does_not_exist") { const inner = Object.values(leaf)[0]; delete inner.value; }
      let f;
      try { f = JSON.parse(filter.value || "{}"); } catch (e) { f = null; }
      if (f && Array.isArray(f.AND)) f.AND.push(leaf);
      else f = f && Object.keys(f).length ? { AND: [f, leaf] } : { AND: [leaf] };
      filter.value = JSON.stringify(f, null, 2);
      measure();
    });
  }
})();
