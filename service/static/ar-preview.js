// The AR preview: subscribes to /ws/overlays like a headset and renders every overlay's
// glTF asset at its GeoPose, in a local East-North-Up scene around the viewpoint
// (three.js is Y-up: east -> +x, up -> +y, north -> -z, the same frame as the assets).
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

const state = { overlays: 0, loaded: 0, errors: [], ready: false, messages: 0 };
window.__preview = state;

const params = new URLSearchParams(location.search);
const hashKey = new URLSearchParams(location.hash.slice(1)).get("key");
const $ = (id) => document.getElementById(id);
$("lon").value = params.get("lon") ?? "";
$("lat").value = params.get("lat") ?? "";
$("range").value = params.get("range") ?? "200";
$("key").value = hashKey ?? "";

const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
renderer.setSize(innerWidth, innerHeight);
document.body.appendChild(renderer.domElement);
const scene = new THREE.Scene();
scene.background = new THREE.Color(0x101418);
scene.add(new THREE.HemisphereLight(0xffffff, 0x223344, 2.0));
const sun = new THREE.DirectionalLight(0xffffff, 1.5);
sun.position.set(100, 200, 50);
scene.add(sun);
scene.add(new THREE.GridHelper(1000, 50, 0x335566, 0x223344));
const camera = new THREE.PerspectiveCamera(55, innerWidth / innerHeight, 0.5, 5000);
const loader = new GLTFLoader();
const nodes = new Map(); // overlay id -> { version, object }
let origin = null;

function local(position) {
  // GeoPose position -> metres east/north/up of the viewpoint (equirectangular: fine in range)
  const east = (position.lon - origin.lon) * Math.cos(origin.lat * Math.PI / 180) * 111320;
  const north = (position.lat - origin.lat) * 110540;
  return new THREE.Vector3(east, position.h - origin.h, -north);
}

function place(overlay) {
  const previous = nodes.get(overlay.id);
  if (previous && previous.version >= overlay.version) return;
  loader.load(overlay.asset, (gltf) => {
    const object = gltf.scene;
    const q = overlay.geopose.quaternion; // ENU components -> three's (x=e, y=u, z=-n)
    object.quaternion.set(q.x, q.z, -q.y, q.w);
    object.position.copy(local(overlay.geopose.position));
    object.userData.overlay = overlay.id;
    const old = nodes.get(overlay.id);
    if (old) scene.remove(old.object); else state.loaded += 1;
    nodes.set(overlay.id, { version: overlay.version, object });
    scene.add(object);
    report();
  }, undefined, (error) => { state.errors.push(String(error)); report(); });
}

function remove(id) {
  const node = nodes.get(id);
  if (node) { scene.remove(node.object); nodes.delete(id); state.loaded -= 1; state.overlays -= 1; }
}

function report() {
  $("status").textContent = `overlays ${state.loaded}/${state.overlays}, messages ${state.messages}` +
    (state.errors.length ? `, errors: ${state.errors.slice(-2).join("; ")}` : "");
  state.ready = state.loaded === state.overlays && state.overlays > 0;
}

function connect() {
  const lon = Number($("lon").value), lat = Number($("lat").value);
  const range = Number($("range").value);
  origin = { lon, lat, h: Number(params.get("h") ?? "46") };
  camera.position.set(0, range * 0.35, range * 0.55);
  camera.lookAt(0, 0, 0);
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/overlays`, ["blightmap.v1"]);
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "auth", key: $("key").value }));
    ws.send(JSON.stringify({
      type: "subscribe", range_m: range, convention: "geopose",
      layers: ["towers", "tiers", "heat", "zones", "fronts"],
      viewer: { position: { lat, lon, h: origin.h }, quaternion: { x: 0, y: 0, z: 0, w: 1 } },
    }));
  };
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    state.messages += 1;
    if (message.type === "snapshot") {
      for (const id of [...nodes.keys()]) remove(id);
      state.overlays = message.overlays.length;
      message.overlays.forEach(place);
    } else if (message.type === "delta") {
      for (const overlay of message.upserts) { if (!nodes.has(overlay.id)) state.overlays += 1; place(overlay); }
      message.removes.forEach(remove);
    } else if (message.type === "error") {
      state.errors.push(`${message.code}: ${message.detail}`);
    }
    report();
  };
  ws.onclose = (event) => { $("status").textContent += ` (closed ${event.code})`; };
}

$("go").onclick = connect;
if ($("lon").value && $("lat").value && $("key").value) connect();

(function animate() {
  requestAnimationFrame(animate);
  renderer.render(scene, camera);
})();
addEventListener("resize", () => {
  camera.aspect = innerWidth / innerHeight;
  camera.updateProjectionMatrix();
  renderer.setSize(innerWidth, innerHeight);
});
