// Live progress of the runs in progress, from the server-sent events of
// /runs/live. Text only (textContent): nothing from the server is parsed
// as HTML.
(function () {
  const box = document.getElementById("live");
  if (!box || !window.EventSource) return;
  const cell = (row, text, numeric) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "num";
    row.appendChild(td);
  };
  const render = (runs) => {
    box.replaceChildren();
    if (!runs.length) return;
    const h = document.createElement("h2");
    h.textContent = "In progress";
    box.appendChild(h);
    const table = document.createElement("table");
    const head = document.createElement("tr");
    ["Run", "Pipeline / job", "Started (UTC)", "Extracted", "Loaded", "Failed", "Skipped"].forEach((t, i) => {
      const th = document.createElement("th");
      th.textContent = t;
      if (i >= 3) th.className = "num";
      head.appendChild(th);
    });
    table.appendChild(head);
    for (const r of runs) {
      const row = document.createElement("tr");
      const p = r.progress || {};
      cell(row, r.run_id ? "#" + r.run_id : "ticket " + (r.ticket ?? ""));
      cell(row, r.pipeline || r.job || "");
      cell(row, String(r.started_at || "").replace("T", " ").slice(0, 19));
      for (const k of ["extracted", "loaded", "failed", "skipped"]) cell(row, String(p[k] ?? "—"), true);
      table.appendChild(row);
    }
    box.appendChild(table);
  };
  const events = new EventSource(box.dataset.src);
  events.onmessage = (e) => {
    try { render(JSON.parse(e.data)); } catch (_) { /* a partial event: wait for the next */ }
  };
})();
