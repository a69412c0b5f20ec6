// tests/dashboard_xlabels.js — injected into a copy of report.html by tests/test_dashboard.sh:
// measures every chart's x labels as Chromium laid them out (getBBox in the label's own
// rotated frame, mapped to the page by getScreenCTM) and writes the verdict into
// <pre id="xlabel-check"> for --dump-dom: no two texts of a chart (x labels, y ticks, title,
// legend) intersect (separating-axis test on the rotated boxes) and no x label reaches
// outside its SVG viewport.
(function () {
  const out = { charts: [], problems: [] };
  const corners = (t) => {
    const b = t.getBBox(), m = t.getScreenCTM();
    return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
      .map(([x, y]) => { const p = new DOMPoint(x, y).matrixTransform(m); return [p.x, p.y]; });
  };
  const axes = (q) => [0, 1].map((i) => [q[i + 1][0] - q[i][0], q[i + 1][1] - q[i][1]]);
  const proj = (q, a) => q.map(([x, y]) => x * a[0] + y * a[1]);
  const intersect = (p, q) => axes(p).concat(axes(q)).every((a) => {
    const s = proj(p, a), t = proj(q, a), len = Math.hypot(a[0], a[1]);
    // overlapping on this axis by more than 0.5 px
    return Math.min(Math.max(...s), Math.max(...t)) - Math.max(Math.min(...s), Math.min(...t)) > 0.5 * len;
  });
  document.querySelectorAll("svg").forEach((svg) => {
    const title = (svg.querySelector("title") || {}).textContent || "?";
    const r = svg.getBoundingClientRect();
    const labels = [...svg.querySelectorAll("text.xlabel")];
    const texts = [...svg.querySelectorAll("text")];
    const boxes = texts.map(corners);
    out.charts.push({ title, labels: labels.length, rotated: labels.some((t) => t.hasAttribute("transform")),
      titles: labels.filter((t) => t.querySelector("title")).length });
    const name = (t) => `${t.getAttribute("class") || "text"} ${JSON.stringify(t.textContent)}`;
    boxes.forEach((q, i) => {
      if (q.some(([x, y]) => x < r.left - 0.5 || x > r.right + 0.5 || y < r.top - 0.5 || y > r.bottom + 0.5))
        out.problems.push(`${title}: ${name(texts[i])} is clipped by the chart`);
      for (let j = i + 1; j < boxes.length; j++)
        if (intersect(q, boxes[j]))
          out.problems.push(`${title}: ${name(texts[i])} and ${name(texts[j])} overlap`);
    });
  });
  const pre = document.createElement("pre");
  pre.id = "xlabel-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
