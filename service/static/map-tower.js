// The tower panel of the live map: its tiers and its observation history, drawn from
// the API's features; `colour(value)` gives the legend's colour of an intensity.

export const fmt = (v, digits = 3) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function swatched(value, colour) {
  const td = cell(fmt(value), "num");
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = colour(value);
  td.prepend(swatch);
  return td;
}

export function renderTiers(table, feature, colour) {
  // Top tier first: level, crop, intensity (with its colour) and standard error.
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const tier of [...feature.properties.tiers].reverse()) {
    const row = document.createElement("tr");
    row.dataset.tier = tier.level;
    row.append(cell(tier.level), cell(tier.crop ?? ""), swatched(tier.intensity, colour), cell(fmt(tier.std_error), "num"));
    body.append(row);
  }
}

export function renderHistory(svg, table, observations, colour) {
  // Every observation as a dot (time across, intensity up), the latest eight as rows.
  const times = observations.map((o) => Date.parse(o.properties.observed_at));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const ns = "http://www.w3.org/2000/svg";
  svg.replaceChildren();
  observations.forEach((o, i) => {
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", String(t1 > t0 ? 4 + (292 * (times[i] - t0)) / (t1 - t0) : 150));
    dot.setAttribute("cy", String(86 - 82 * Math.min(1, Math.max(0, o.properties.intensity))));
    dot.setAttribute("r", "2");
    dot.setAttribute("fill", colour(o.properties.intensity));
    dot.setAttribute("stroke", "#1d2430");
    dot.setAttribute("stroke-width", "0.4");
    svg.append(dot);
  });
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const o of observations.slice(-8).reverse()) {
    const row = document.createElement("tr");
    const when = o.properties.observed_at.replace("T", " ").slice(0, 16);
    row.append(cell(when), cell(o.properties.tier ?? "–"), swatched(o.properties.intensity, colour), cell(o.properties.source));
    body.append(row);
  }
}
