// The official OpenAI Node client, unchanged, against `clif serve`: only baseURL points at Clif.
// Usage: CLIF_URL=http://127.0.0.1:7860 node images-generate.mjs   (prints one JSON line; exit 0 when the image is a PNG)
import OpenAI from "openai";

const base = (process.env.CLIF_URL ?? "http://127.0.0.1:7860") + "/v1";
const client = new OpenAI({ baseURL: base, apiKey: "unused-by-clif", maxRetries: 0, timeout: 120_000 });

const models = await client.models.list();
const ids = models.data.map((m) => m.id);
const result = await client.images.generate({ model: "base", prompt: "a red circle", n: 2, size: "32x32", response_format: "b64_json" });
const pngs = result.data.map((d) => Buffer.from(d.b64_json, "base64"));
const isPng = (b) => b.length > 8 && b[0] === 0x89 && b.toString("latin1", 1, 4) === "PNG";
let error = null;
try {
  await client.images.generate({ model: "base", prompt: "x", size: "33x33" });
} catch (e) {
  error = { status: e.status, type: e.type, param: e.param, code: e.code, message: e.message };
}
const ok = pngs.length === 2 && pngs.every(isPng) && ids.includes("base") && error?.status === 400 && error?.param === "size";
console.log(JSON.stringify({ ok, models: ids, images: pngs.length, bytes: pngs.map((b) => b.length), created: result.created, error }));
process.exit(ok ? 0 : 1);
