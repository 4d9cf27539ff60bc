// Labels of the live map: zone ranks and tower names as HTML elements over the canvas,
// with their own collision handling. MapLibre's symbol layers would need a glyphs URL
// (fonts served as PBF ranges); these use the page's own font, so the map stays offline.
// After every frame (throttled to one layout per animation frame) the labels are laid
// out greedily: zones by rank (zone 1 first), then towers by their highest intensity;
// each tries a few spots around its feature and takes the first free one inside the
// map (clear of other labels, of every tower's dot and of the panels), or is hidden.
// window.__map.labels reports what is shown, for the tests.

const GAP_PX = 6;
const PAD_PX = 2;
const DOT_PX = 5; // half the size of a tower's dot kept clear of labels

function ringCentroid(ring) {
  // Area-weighted centroid of a closed ring (lon/lat are fine at this scale).
  let a = 0, x = 0, y = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x0, y0] = ring[i], [x1, y1] = ring[i + 1];
    const cross = x0 * y1 - x1 * y0;
    a += cross; x += (x0 + x1) * cross; y += (y0 + y1) * cross;
  }
  if (Math.abs(a) < 1e-18) return ring[0];
  return [x / (3 * a), y / (3 * a)];
}

function outerRings(geometry) {
  if (geometry.type === "Polygon") return [geometry.coordinates[0]];
  if (geometry.type === "MultiPolygon") return geometry.coordinates.map((p) => p[0]);
  return [];
}

function anchorOf(geometry) {
  // The centroid of the largest outer ring (by vertex count as a cheap proxy), or the point.
  if (geometry.type === "Point") return geometry.coordinates;
  const rings = outerRings(geometry).sort((a, b) => b.length - a.length);
  return rings.length ? ringCentroid(rings[0]) : null;
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

export function createLabels(map, state) {
  const layer = document.createElement("div");
  layer.className = "map-labels";
  map.getContainer().append(layer);
  let labels = []; // {kind, text, lngLat, priority, el, w, h}
  const visible = { zone: true, tower: true };
  let pending = false;

  function make(kind, text, lngLat, priority) {
    const el = document.createElement("div");
    el.className = `map-label map-label-${kind}`;
    el.textContent = text;
    el.dataset.kind = kind;
    layer.append(el);
    return { kind, text, lngLat, priority, el, w: el.offsetWidth + 2 * PAD_PX, h: el.offsetHeight + 2 * PAD_PX };
  }

  function candidates(label, p) {
    const { w, h } = label;
    if (label.kind === "zone") {
      // centred on the zone, then rings of spots around it (towers crowd zone centres)
      const spots = [[p.x - w / 2, p.y - h / 2]];
      for (const step of [1, 2, 3]) {
        const dx = step * (w / 2 + GAP_PX), dy = step * (h + GAP_PX) / 1.5;
        for (const [ux, uy] of [[0, -1], [0, 1], [1, 0], [-1, 0], [1, -1], [-1, -1], [1, 1], [-1, 1]]) {
          spots.push([p.x - w / 2 + ux * dx, p.y - h / 2 + uy * dy]);
        }
      }
      return spots;
    }
    return [
      [p.x + GAP_PX, p.y - h / 2], [p.x - GAP_PX - w, p.y - h / 2],
      [p.x - w / 2, p.y - GAP_PX - h], [p.x - w / 2, p.y + GAP_PX],
    ];
  }

  function layout() {
    pending = false;
    const width = layer.clientWidth, height = layer.clientHeight;
    // every tower's dot is an obstacle: no label covers a tower
    const placed = labels.filter((l) => l.kind === "tower" && visible.tower).map((l) => {
      const p = map.project(l.lngLat);
      return { left: p.x - DOT_PX, top: p.y - DOT_PX, right: p.x + DOT_PX, bottom: p.y + DOT_PX };
    });
    // nor under the page's panels
    const origin = layer.getBoundingClientRect();
    for (const panel of document.querySelectorAll("aside:not([hidden])")) {
      const r = panel.getBoundingClientRect();
      placed.push({ left: r.left - origin.left, top: r.top - origin.top, right: r.right - origin.left, bottom: r.bottom - origin.top });
    }
    const shown = { zone: [], tower: [] };
    let hidden = 0;
    for (const label of labels) {
      let spot = null;
      if (visible[label.kind]) {
        const p = map.project(label.lngLat);
        for (const [left, top] of candidates(label, p)) {
          const box = { left, top, right: left + label.w, bottom: top + label.h };
          const inside = box.left >= 0 && box.top >= 0 && box.right <= width && box.bottom <= height;
          if (inside && !placed.some((other) => overlaps(box, other))) { spot = box; break; }
        }
      }
      if (spot) {
        placed.push(spot);
        shown[label.kind].push(label.text);
        label.el.style.transform = `translate(${spot.left + PAD_PX}px, ${spot.top + PAD_PX}px)`;
        label.el.hidden = false;
      } else {
        label.el.hidden = true;
        if (visible[label.kind]) hidden += 1;
      }
    }
    state.labels = { zones: shown.zone, towers: shown.tower, hidden };
  }

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(layout);
  }

  map.on("move", schedule);
  map.on("resize", schedule);

  return {
    /** Replace the labels: zones (GeoJSON features with rank) and towers (features with name). */
    set(zones, towers) {
      layer.replaceChildren();
      const next = [];
      for (const zone of zones) {
        const at = anchorOf(zone.geometry);
        const rank = zone.properties.rank;
        if (at && rank != null) next.push(make("zone", `Zone ${rank}`, at, rank));
      }
      for (const tower of towers) {
        const at = anchorOf(tower.geometry);
        const worst = tower.properties.intensity_max ?? 0;
        if (at) next.push(make("tower", tower.properties.name || tower.id, at, 1e6 - worst * 1e5));
      }
      labels = next.sort((a, b) => a.priority - b.priority);
      schedule();
    },
    /** Lay out again (a panel opened or closed). */
    relayout: schedule,
    /** Show or hide one kind ("zone" or "tower"), as the layer checkboxes do. */
    toggle(kind, on) {
      visible[kind] = on;
      schedule();
    },
  };
}
