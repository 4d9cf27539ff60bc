// Validate GLB files with the Khronos glTF validator (npm "gltf-validator").
// Usage: node validate_gltf.mjs FILE.glb [FILE.glb ...]
// Prints one JSON array with the validator's report of each file, in order.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const validator = require("gltf-validator");

const reports = [];
for (const file of process.argv.slice(2)) {
  const bytes = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(bytes, {
    uri: path.basename(file),
    format: "glb",
    maxIssues: 100,
    writeTimestamp: false,
    externalResourceFunction: (uri) => Promise.reject(`external resource not allowed: ${uri}`),
  });
  reports.push(report);
}
process.stdout.write(JSON.stringify(reports));
