// Plays the user for a tool that prints an authorization URL and waits on a loopback callback
// (the conformance suite's authorization-code-grant scenario): reads the tool's output file
// until the URL appears, signs in and consents through the no-JavaScript pages, then delivers
// the final redirect to the tool's callback server.
// Usage: node approve.mjs OUTPUT_FILE EMAIL PASSWORD   (env AUTH_URL)
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Browser, authorizeInBrowser } from "./browser.mjs";

const [file, email, password] = process.argv.slice(2);
const authorize = `${process.env.AUTH_URL}/api/auth/oauth2/authorize?`;
let url;
for (let i = 0; i < 300 && !url; i++) {
  url = readFileSync(file, "utf8").split("\n").find((l) => l.startsWith(authorize));
  if (!url) await sleep(100);
}
if (!url) throw new Error(`no authorization URL in ${file} after 30 s`);
const flow = await authorizeInBrowser(new Browser(), url.trim(), { email, password });
if (!flow.final) throw new Error(`authorization did not finish: ${flow.error}`);
const res = await fetch(flow.final);
console.log(`approve: delivered the redirect to the callback (HTTP ${res.status})`);
