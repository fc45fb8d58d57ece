// The package as a frontend team gets it: `npm pack`, installed into a scratch project that
// type-checks test/scratch/app.ts against the installed declarations, then runs it against the
// real server (`python -m aiclone serve` on 127.0.0.1).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = resolve(here, "..");
const repoRoot = resolve(packageDir, "../..");
const python = process.env.AICLONE_PYTHON ?? join(repoRoot, ".venv/bin/python");
const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));

function run(command, args, cwd, env) {
  try {
    return execFileSync(command, args, { cwd, env: env ?? process.env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    throw new Error(`${command} ${args.join(" ")} failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
  }
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function startServer(port, dataDir) {
  const env = {
    ...process.env,
    PYTHONPATH: join(repoRoot, "src"),
    AICLONE_DATA_DIR: dataDir,
    AICLONE_DATABASE_URL: "",
    AICLONE_RATE_LIMIT_ENABLED: "false",
    AICLONE_LOG_LEVEL: "WARNING",
  };
  const child = spawn(python, ["-m", "aiclone", "serve", "--port", String(port), "--no-worker"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("npm pack, install into a scratch project, type-check and run against the server", { timeout: 300_000 }, async (t) => {
  assert.ok(existsSync(python), `no Python interpreter at ${python}; set AICLONE_PYTHON`);
  const work = mkdtempSync(join(tmpdir(), "aiclone-sdk-"));
  let server;
  t.after(() => {
    server?.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  });

  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], packageDir));
  const files = packed.files.map((f) => f.path);
  assert.ok(files.includes("dist/index.d.ts") && files.includes("dist/generated/openapi.d.ts"), files.join(", "));
  assert.ok(files.includes("README.md"));
  assert.ok(!files.some((f) => f.startsWith("src/") || f.startsWith("test/")), files.join(", "));

  const scratch = join(work, "scratch");
  run("mkdir", ["-p", scratch]);
  writeFileSync(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  copyFileSync(join(here, "scratch/app.ts"), join(scratch, "app.ts"));
  copyFileSync(join(here, "scratch/tsconfig.json"), join(scratch, "tsconfig.json"));
  const typescript = `typescript@${manifest.devDependencies.typescript}`;
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(work, packed.filename), typescript], scratch);
  run("npx", ["tsc", "-p", "tsconfig.json"], scratch); // fails on any type error, or an unused @ts-expect-error

  const port = await freePort();
  server = await startServer(port, join(work, "data"));
  const output = run("node", ["out/app.js"], scratch, { ...process.env, AICLONE_BASE: `http://127.0.0.1:${port}` });
  const seen = JSON.parse(output.trim().split("\n").pop());
  assert.equal(seen.prospect, "Ada Lovelace");
  assert.deepEqual(seen.listed, ["Ada Lovelace"]);
  assert.equal(seen.missingStatus, 404);
  assert.match(seen.problemType, /\/not-found$/);
  assert.deepEqual([...seen.eventTypes].sort(), [...seen.clientEventTypes].sort());
  assert.ok(seen.requestId, "X-Request-ID on every response");
});
