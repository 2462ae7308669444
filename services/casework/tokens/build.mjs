// Copies the Digital Agency design tokens into the web app's local static files (no CDN on a closed network).
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "entrypoints", "static", "vendor");
mkdirSync(out, { recursive: true });
copyFileSync(join(here, "node_modules", "@digital-go-jp", "design-tokens", "dist", "tokens.css"), join(out, "dad-tokens.css"));
copyFileSync(join(here, "node_modules", "@digital-go-jp", "design-tokens", "LICENSE"), join(out, "dad-tokens.LICENSE"));
console.log("design tokens copied to", out);
