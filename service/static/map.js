// The planners' live map: the district's own layers in MapLibre GL JS (vendored from npm,
// nothing fetched from outside the service; the only basemap is one the user imported,
// served by the service at /basemap.geojson), kept current by the AR overlay
// stream /ws/overlays (docs/ar-protocol.md). Tower colours come from the stream's tower
// markers (the colormap the AR clients see); every delta also re-reads the field's data
// version and, when it moved, the towers, the zones and the raster tiles (cache-busted
// with ?v=<data version>), so the map follows new observations without a reload.
import * as maplibregl from "/vendor/maplibre-gl/maplibre-gl.mjs";
import { NO_DATA, colorAt, colorExpression, legendBox } from "/map/map-colours.js";
import { fmt, renderHistory, renderTiers } from "/map/map-tower.js";
import { createLabels } from "/map/map-labels.js";

const MAX_RANGE_M = 2000; // range_m maximum of ar-protocol.schema.json
const TMS = "WebMercatorQuad";
const RASTERS = { blight: { opacity: 0.7 }, uncertainty: { opacity: 0.7 }, forecast: { opacity: 0.75 } };

const $ = (id) => document.getElementById(id);
const state = {
  ready: false, live: false, dataVersion: null, towers: 0, markers: 0, messages: 0,
  deltas: 0, errors: [], rasters: {}, legends: {}, forecastDays: [], selected: null,
};
window.__map = state;

let key = new URLSearchParams(location.hash.slice(1)).get("key") ?? "";
const towersById = new Map(); // tower id -> GeoJSON feature from /collections/towers/items
const markers = new Map(); // tower id -> {color, intensity} from the stream's tower markers
const stream = { epoch: null, offset: null, socket: null, retry: 0 };
let started = false; // the first reads succeeded and the layers are on the map
let labels = null; // zone ranks and tower names (map-labels.js), once the layers are on

async function api(path) {
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  const response = await fetch(path, { headers });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail ?? detail; } catch { /* not JSON */ }
    const error = new Error(`${path}: ${response.status} ${detail}`);
    error.status = response.status;
    error.detail = detail;
    throw error;
  }
  return response.json();
}

function fail(error) {
  state.errors.push(String(error.message ?? error));
  report();
}

// ---------------------------------------------------------------- legends and colours

async function loadLegend(layer) {
  try {
    state.legends[layer] = await api(`/legend/${layer}.json`);
  } catch (error) {
    if (error.status !== 404) fail(error);
    return;
  }
  const box = legendBox(layer, state.legends[layer]);
  box.hidden = !document.querySelector(`[data-layers="${layer}"]`).checked;
  $("legends").append(box);
}

// ---------------------------------------------------------------- map layers

const map = new maplibregl.Map({
  container: "map",
  style: {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#eceae4" } }],
  },
  attributionControl: { compact: true, customAttribution: "blightmap" },
  center: [0, 0],
  zoom: 1,
});
window.__maplibre = map;
const mapLoaded = new Promise((resolve) => map.once("load", resolve));
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "bottom-right");
map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");

function centroid(geometry) {
  if (geometry.type === "Point") return geometry.coordinates;
  const ring = geometry.type === "Polygon" ? geometry.coordinates[0] : geometry.coordinates[0][0];
  const points = ring.slice(0, -1);
  const sum = points.reduce((a, p) => [a[0] + p[0], a[1] + p[1]], [0, 0]);
  return [sum[0] / points.length, sum[1] / points.length];
}

function towerSources() {
  const features = [...towersById.values()].map((f) => ({
    type: "Feature", geometry: f.geometry,
    properties: { tower_id: f.id, name: f.properties.name ?? f.id, intensity_max: f.properties.intensity_max ?? null },
  }));
  const points = features.map((f) => ({ ...f, geometry: { type: "Point", coordinates: centroid(f.geometry) } }));
  return [
    { type: "FeatureCollection", features },
    { type: "FeatureCollection", features: points },
  ];
}

async function addBasemap() {
  // The imported basemap (blightmap basemap import), under everything else; 404: none.
  let basemap;
  try {
    basemap = await api("/basemap.geojson");
  } catch (error) {
    if (error.status !== 404) fail(error);
    return;
  }
  map.addSource("basemap", { type: "geojson", data: basemap });
  map.addLayer({
    id: "basemap-buildings", type: "fill", source: "basemap",
    filter: ["==", ["get", "kind"], "building"],
    paint: { "fill-color": "#d9d5cc", "fill-outline-color": "#9e998c" },
  });
  map.addLayer({
    id: "basemap-streets-casing", type: "line", source: "basemap",
    filter: ["==", ["get", "kind"], "street"],
    paint: { "line-color": "#9e998c", "line-width": ["interpolate", ["linear"], ["zoom"], 14, 1.5, 18, 9] },
  });
  map.addLayer({
    id: "basemap-streets", type: "line", source: "basemap",
    filter: ["==", ["get", "kind"], "street"],
    paint: { "line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 14, 1, 18, 7] },
  });
  state.basemap = basemap.features.length;
  $("basemap-toggle").hidden = false;
}

function addVectorLayers(zones) {
  const [polygons, points] = towerSources();
  map.addSource("zones", { type: "geojson", data: zones });
  map.addSource("towers", { type: "geojson", data: polygons, promoteId: "tower_id" });
  map.addSource("tower-points", { type: "geojson", data: points, promoteId: "tower_id" });
  const band = ["/", ["+", ["get", "threshold_min"], ["get", "threshold_max"]], 2];
  map.addLayer({
    id: "zones-fill", type: "fill", source: "zones",
    paint: { "fill-color": colorExpression(state.legends.blight, band, NO_DATA), "fill-opacity": 0.3 },
  });
  map.addLayer({
    id: "zones-line", type: "line", source: "zones",
    paint: { "line-color": "#3d3323", "line-width": 1.2, "line-dasharray": [3, 2] },
  });
  // The stream's marker colour; before the stream speaks (or without a key), the legend's.
  const color = ["coalesce", ["feature-state", "color"],
    colorExpression(state.legends.blight, ["get", "intensity_max"], NO_DATA)];
  map.addLayer({
    id: "towers-fill", type: "fill", source: "towers",
    paint: { "fill-color": color, "fill-opacity": 0.95 },
  });
  map.addLayer({
    id: "towers-line", type: "line", source: "towers",
    paint: {
      "line-color": ["case", ["boolean", ["feature-state", "selected"], false], "#d7191c", "#1d2430"],
      "line-width": ["case", ["boolean", ["feature-state", "selected"], false], 3, 1],
    },
  });
  map.addLayer({
    id: "towers-dot", type: "circle", source: "tower-points",
    paint: {
      "circle-color": color,
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 12, 3, 16, 6, 18, 4],
      "circle-stroke-color": "#1d2430",
      "circle-stroke-width": 1,
      "circle-opacity": ["interpolate", ["linear"], ["zoom"], 17, 1, 18.5, 0],
      "circle-stroke-opacity": ["interpolate", ["linear"], ["zoom"], 17, 1, 18.5, 0],
    },
  });
}

function hash32(text) {
  // FNV-1a: a stable integer cache buster for a forecast id (the tiles' `v` is an integer)
  let h = 0x811c9dc5;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

function rasterUrl(layer) {
  // The TileJSON's template, cache-busted by what the tiles were rendered from: the data
  // version for the field's layers, the forecast (and the chosen day) for the forecast.
  const raster = state.rasters[layer];
  const joiner = raster.template.includes("?") ? "&" : "?";
  if (layer !== "forecast") return `${raster.template}${joiner}v=${state.dataVersion}`;
  return `${raster.template}${joiner}v=${hash32(raster.forecastId)}&day=${$("day").value}`;
}

async function tileJson(layer) {
  try {
    return await api(`/tiles/${layer}/${TMS}/tilejson.json`);
  } catch (error) {
    state.rasters[layer] = { unavailable: error.status ?? "error" };
    if (error.status !== 404 && error.status !== 409) fail(error); // 409: no field yet
    return null;
  }
}

function addRaster(layer, tilejson) {
  state.rasters[layer] = { template: tilejson.tiles[0], forecastId: tilejson["blightmap:forecast_id"] };
  map.addSource(layer, {
    type: "raster",
    tiles: [rasterUrl(layer)],
    tileSize: 256, // no `bounds`: the district may grow, and tiles outside it are transparent
    minzoom: tilejson.minzoom,
    maxzoom: tilejson.maxzoom,
  });
  const visible = document.querySelector(`[data-layers="${layer}"]`).checked;
  map.addLayer(
    {
      id: layer, type: "raster", source: layer,
      layout: { visibility: visible ? "visible" : "none" },
      paint: { "raster-opacity": RASTERS[layer].opacity, "raster-fade-duration": 0 },
    },
    "zones-fill",
  );
}

async function ensureRasters() {
  for (const layer of ["blight", "uncertainty"]) {
    if (map.getSource(layer)) continue;
    const tilejson = await tileJson(layer);
    if (tilejson) addRaster(layer, tilejson);
  }
}

function refreshRasters() {
  for (const layer of Object.keys(state.rasters)) {
    const source = map.getSource(layer);
    if (source && state.rasters[layer].template) source.setTiles([rasterUrl(layer)]);
  }
}

// ---------------------------------------------------------------- forecast day slider

async function updateForecast() {
  // Shown once a forecast has finished; its tiles reload when a newer one replaces it.
  const tilejson = await tileJson("forecast");
  if (!tilejson) return;
  const days = tilejson["blightmap:days"];
  state.forecastDays = days;
  $("day").min = Math.min(...days);
  $("day").max = Math.max(...days);
  if (!map.getSource("forecast")) {
    $("day").value = Math.min(...days);
    addRaster("forecast", tilejson);
    await loadLegend("forecast");
  } else if (state.rasters.forecast.forecastId !== tilejson["blightmap:forecast_id"]) {
    state.rasters.forecast.forecastId = tilejson["blightmap:forecast_id"];
    map.getSource("forecast").setTiles([rasterUrl("forecast")]);
  }
  $("day-label").textContent = `day ${$("day").value} of ${Math.max(...days)}`;
  $("forecast").hidden = false;
  $("forecast-toggle").hidden = false;
}

$("day").addEventListener("input", () => {
  $("day-label").textContent = `day ${$("day").value} of ${$("day").max}`;
  if (map.getSource("forecast")) map.getSource("forecast").setTiles([rasterUrl("forecast")]);
});

// ---------------------------------------------------------------- towers from the stream

function paintTower(id) {
  if (!map.getSource("towers")) return;
  const marker = markers.get(id);
  const paint = marker ? { color: marker.color, intensity: marker.intensity } : { color: null, intensity: null };
  for (const source of ["towers", "tower-points"]) map.setFeatureState({ source, id }, paint);
}

function applyOverlay(overlay) {
  if (overlay.kind !== "tower_marker") return;
  const id = overlay.properties.tower_id;
  markers.set(id, { color: overlay.style.color, intensity: overlay.properties.intensity_max });
  paintTower(id);
}

function removeOverlay(overlayId) {
  if (!overlayId.startsWith("tower:")) return;
  const id = overlayId.slice("tower:".length);
  markers.delete(id);
  paintTower(id);
}

function onStreamMessage(message) {
  state.messages += 1;
  if (message.offset !== undefined) { stream.epoch = message.epoch; stream.offset = message.offset; }
  if (message.type === "snapshot") {
    state.errors = []; // a fresh view: what failed before (a dropped connection...) is over
    const before = [...markers.keys()];
    markers.clear();
    before.forEach(paintTower);
    message.overlays.forEach(applyOverlay);
    state.live = true;
    scheduleRefresh();
  } else if (message.type === "delta") {
    state.deltas += 1;
    message.upserts.forEach(applyOverlay);
    message.removes.forEach(removeOverlay);
    scheduleRefresh();
  } else if (message.type === "error") {
    fail(new Error(`stream: ${message.code}: ${message.detail}`));
  }
  state.markers = markers.size;
  report();
}

function districtView() {
  // Viewer at the centre of the towers' extent with the largest range the stream allows,
  // so that towers added later within it enter the view (and reach the map) by themselves.
  const lons = [], lats = [];
  for (const f of towersById.values()) { const [x, y] = centroid(f.geometry); lons.push(x); lats.push(y); }
  const lon = (Math.min(...lons) + Math.max(...lons)) / 2, lat = (Math.min(...lats) + Math.max(...lats)) / 2;
  const dx = ((Math.max(...lons) - Math.min(...lons)) / 2) * 111320 * Math.cos((lat * Math.PI) / 180);
  const dy = ((Math.max(...lats) - Math.min(...lats)) / 2) * 110540;
  const needed = Math.ceil(Math.hypot(dx, dy) + 50);
  return { lon, lat, range: MAX_RANGE_M, covered: needed <= MAX_RANGE_M };
}

function subscription() {
  // The whole district as one view: tower markers (and forecast fronts) in range.
  const view = districtView();
  state.view = view;
  return {
    type: "subscribe", range_m: view.range, layers: ["towers", "fronts"], convention: "geopose",
    viewer: { position: { lon: view.lon, lat: view.lat, h: 0 }, quaternion: { x: 0, y: 0, z: 0, w: 1 } },
  };
}

function followDistrict() {
  // After the towers changed: subscribe again (a new snapshot) if the district's view moved.
  const ws = stream.socket, old = state.view;
  if (!ws || ws.readyState !== WebSocket.OPEN || !old) return;
  const view = districtView();
  if (view.lon !== old.lon || view.lat !== old.lat) ws.send(JSON.stringify(subscription()));
}

async function waitForTowers() {
  // Nothing to subscribe around yet: look again in a while.
  await loadTowers();
  if (!towersById.size) { setTimeout(() => waitForTowers().catch(fail), 15000); return; }
  const [polygons, points] = towerSources();
  map.getSource("towers").setData(polygons);
  map.getSource("tower-points").setData(points);
  fitDistrict(null);
  connect();
}

function connect() {
  if (!key) { $("keyform").hidden = false; report(); return; }
  if (!towersById.size) { report(); setTimeout(() => waitForTowers().catch(fail), 15000); return; }
  $("keyform").hidden = true;
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/overlays`, ["blightmap.v1"]);
  stream.socket = ws;
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "auth", key }));
    const subscribe = subscription();
    if (stream.epoch !== null) subscribe.resume = { epoch: stream.epoch, offset: stream.offset };
    ws.send(JSON.stringify(subscribe));
  };
  ws.onmessage = (event) => onStreamMessage(JSON.parse(event.data));
  ws.onclose = (event) => {
    state.live = false;
    state.closeCode = event.code;
    report();
    if (event.code === 1008 || event.code === 4031) { askForKey(); return; } // refused or revoked key
    stream.retry = Math.min(stream.retry + 1, 5);
    setTimeout(connect, 1000 * stream.retry);
  };
}

function askForKey() {
  $("keyform").hidden = false;
  $("key").focus();
}

$("keyform").addEventListener("submit", (event) => {
  event.preventDefault();
  key = $("key").value.trim();
  history.replaceState(null, "", `#key=${encodeURIComponent(key)}`);
  stream.retry = 0;
  state.errors = [];
  if (started) connect(); else begin();
});

// ---------------------------------------------------------------- data refresh

let refreshing = null, refreshAgain = false;

function scheduleRefresh() {
  if (refreshing) { refreshAgain = true; return; }
  state.refreshing = true;
  refreshing = refresh().catch(fail).finally(() => {
    refreshing = null;
    if (refreshAgain) { refreshAgain = false; scheduleRefresh(); } else state.refreshing = false;
  });
}

async function loadTowers() {
  const body = await api("/collections/towers/items?limit=10000");
  towersById.clear();
  for (const feature of body.features) towersById.set(feature.id, feature);
  state.towers = towersById.size;
  return body;
}

async function fieldOrNull() {
  // The field's metadata, or null while there is none (409: too few observations yet).
  try {
    const field = await api("/fields/blight");
    state.noField = null;
    return field;
  } catch (error) {
    if (error.status !== 409) throw error;
    state.noField = error.detail;
    return null;
  }
}

async function refresh() {
  const field = await fieldOrNull();
  const version = field ? field.data_version : null;
  if (version === state.dataVersion) {
    await updateForecast(); // a forecast may have finished since
    return;
  }
  const [, zones] = await Promise.all([loadTowers(), api("/collections/zones/items?limit=10000")]);
  const [polygons, points] = towerSources();
  map.getSource("towers").setData(polygons);
  map.getSource("tower-points").setData(points);
  map.getSource("zones").setData(zones);
  labels.set(zones.features, [...towersById.values()]);
  [...markers.keys()].forEach(paintTower);
  followDistrict();
  state.dataVersion = version; // the status line shows it once all is reloading
  await ensureRasters();
  refreshRasters();
  report();
  await updateForecast();
  if (state.selected) await showTower(state.selected);
  report();
}

// ---------------------------------------------------------------- tower panel

const blightColour = (value) => colorAt(state.legends.blight, value);

async function showTower(id) {
  const feature = towersById.get(id);
  if (!feature) { closeTower(); return; }
  if (state.selected && state.selected !== id) map.setFeatureState({ source: "towers", id: state.selected }, { selected: false });
  state.selected = id;
  map.setFeatureState({ source: "towers", id }, { selected: true });
  $("tower").hidden = false;
  $("tower").dataset.tower = id;
  labels?.relayout();
  $("tower-title").textContent = `${feature.properties.name ?? id} (${id})`;
  const marker = markers.get(id);
  $("tower-summary").textContent = `highest tier intensity ${fmt(marker?.intensity ?? feature.properties.intensity_max)}` +
    ` · data version ${feature.properties.field_version ?? state.dataVersion}`;
  renderTiers($("tower-tiers"), feature, blightColour);
  const query = `/collections/observations/items?tower_id=${encodeURIComponent(id)}`;
  const count = (await api(`${query}&limit=1`)).numberMatched ?? 0;
  const page = await api(`${query}&limit=200&offset=${Math.max(0, count - 200)}`);
  if (state.selected === id) renderHistory($("tower-chart"), $("tower-history"), page.features, blightColour);
  state.historyCount = count;
}

function closeTower() {
  if (state.selected) map.setFeatureState({ source: "towers", id: state.selected }, { selected: false });
  state.selected = null;
  $("tower").hidden = true;
  labels?.relayout();
}

$("tower-close").addEventListener("click", closeTower);

// ---------------------------------------------------------------- status and start

function report() {
  const status = $("status");
  const parts = [!key ? "no key (enter a viewer key for live updates)"
    : state.live ? "live" : `offline${state.closeCode ? ` (closed ${state.closeCode})` : ""}`];
  if (state.dataVersion !== null) parts.push(`data version ${state.dataVersion}`);
  if (started && !state.towers) parts.push("no towers yet");
  if (state.view && !state.view.covered) parts.push(`towers beyond ${MAX_RANGE_M} m of the centre are not live`);
  else if (state.noField) parts.push(`no field yet: ${state.noField}`);
  if (state.errors.length) parts.push(`error: ${state.errors[state.errors.length - 1]}`);
  status.textContent = parts.join(" · ");
  status.classList.toggle("down", !state.live);
}

for (const box of document.querySelectorAll("[data-layers]")) {
  box.addEventListener("change", () => {
    for (const id of box.dataset.layers.split(",")) {
      if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", box.checked ? "visible" : "none");
      const legend = document.querySelector(`.legend[data-layer="${id}"]`);
      if (legend) legend.hidden = !box.checked;
    }
    if (box.dataset.labels && labels) labels.toggle(box.dataset.labels, box.checked);
  });
}

function fitDistrict(field) {
  // The field's bounds, or the towers' extent before there is a field.
  let bbox = field?.bbox_wgs84;
  if (!bbox && towersById.size) {
    const points = [...towersById.values()].map((f) => centroid(f.geometry));
    const lons = points.map((p) => p[0]), lats = points.map((p) => p[1]);
    bbox = [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
  }
  if (bbox) map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 30, animate: false, maxZoom: 18 });
}

async function start() {
  // Reads first (a refused key fails here, before the map is touched), then the layers.
  const [field, , zones] = await Promise.all([
    fieldOrNull(), loadTowers(), api("/collections/zones/items?limit=10000"), mapLoaded,
  ]);
  state.dataVersion = field ? field.data_version : null;
  await Promise.all([loadLegend("blight"), loadLegend("uncertainty")]);
  await addBasemap();
  addVectorLayers(zones);
  labels = createLabels(map, state);
  labels.set(zones.features, [...towersById.values()]);
  await ensureRasters();
  await updateForecast();
  fitDistrict(field);
  const hit = ["towers-fill", "towers-dot"];
  map.on("click", hit, (event) => showTower(event.features[0].properties.tower_id).catch(fail));
  map.on("mouseenter", hit, () => { map.getCanvas().style.cursor = "pointer"; });
  map.on("mouseleave", hit, () => { map.getCanvas().style.cursor = ""; });
  started = true;
  connect();
  map.once("idle", () => { state.ready = true; report(); });
  report();
}

function begin() {
  start().catch((error) => {
    fail(error);
    if (error.status === 401 || error.status === 403) askForKey();
  });
}

begin();
