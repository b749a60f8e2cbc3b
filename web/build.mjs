// Bundles the browser code into the Python package (src/cobrowse/static/), which the server serves.
// Outputs are build products: git ignores them and `scripts/setup` rebuilds them.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

const out = "src/cobrowse/static";
mkdirSync(out, { recursive: true });
const common = { bundle: true, format: "iife", target: "es2019", sourcemap: true, minify: true, logLevel: "info" };

await build({ ...common, entryPoints: ["web/visitor/index.ts"], outfile: `${out}/visitor.js` });
await build({ ...common, entryPoints: ["web/agent/index.ts"], outfile: `${out}/agent.js` });
await build({ ...common, entryPoints: ["web/agent/admin.ts"], outfile: `${out}/admin.js` }); // /agent/admin
copyFileSync("node_modules/@rrweb/replay/dist/style.css", `${out}/rrweb-replay.css`);
copyFileSync("web/visitor/public-api.d.ts", `${out}/visitor.d.ts`); // the visitor API's declarations
// The REST API's docs page is served from here, so it works on a machine without Internet access.
mkdirSync(`${out}/swagger`, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
  copyFileSync(`node_modules/swagger-ui-dist/${file}`, `${out}/swagger/${file}`);
}
