// Colours of the live map from the service's legends (/legend/{layer}.json): the very
// colormap the raster tiles and the AR overlays use. Pure functions of a legend.

export const NO_DATA = "#9e9e9e";

function stopsOf(legend) {
  // [[value, "#rrggbb"], ...]
  return legend.stops.map((stop) => [stop.value, stop.color]);
}

export function colorExpression(legend, input, fallback) {
  // A MapLibre expression colouring a numeric input through the legend; NO_DATA for null.
  if (!legend) return fallback;
  const value = ["interpolate", ["linear"], ["to-number", input], ...stopsOf(legend).flat()];
  return ["case", ["==", ["typeof", input], "number"], value, NO_DATA];
}

export function colorAt(legend, value) {
  // The legend's colour at value, interpolated in sRGB between stops as MapLibre does.
  if (!legend || value === null || value === undefined) return NO_DATA;
  const stops = stopsOf(legend);
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let i = 0;
  while (i < stops.length - 2 && value > stops[i + 1][0]) i += 1;
  const [v0, c0] = stops[i], [v1, c1] = stops[i + 1];
  const t = Math.min(1, Math.max(0, (value - v0) / (v1 - v0)));
  const mix = rgb(c0).map((a, k) => Math.round(a + t * (rgb(c1)[k] - a)));
  return `#${mix.map((c) => c.toString(16).padStart(2, "0")).join("")}`;
}

export function legendBox(layer, legend) {
  // A legend panel: title (units unless dimensionless), a colour ramp and three ticks.
  const stops = stopsOf(legend);
  const box = document.createElement("div");
  box.className = "legend";
  box.dataset.layer = layer;
  const units = legend.units && legend.units !== "1" ? ` (${legend.units})` : "";
  const lo = legend.min ?? stops[0][0], hi = legend.max ?? stops[stops.length - 1][0];
  const ramp = stops.map(([v, c]) => `${c} ${(100 * (v - lo)) / (hi - lo)}%`).join(", ");
  const title = document.createElement("div");
  title.textContent = `${legend.label ?? layer}${units}`;
  title.title = legend.description ?? "";
  const bar = document.createElement("div");
  bar.className = "ramp";
  bar.style.background = `linear-gradient(to right, ${ramp})`;
  const ticks = document.createElement("div");
  ticks.className = "ticks";
  for (const v of [lo, (lo + hi) / 2, hi]) {
    const tick = document.createElement("span");
    tick.textContent = String(Number(v.toFixed(3)));
    ticks.append(tick);
  }
  box.append(title, bar, ticks);
  return box;
}
