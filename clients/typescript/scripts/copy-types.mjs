// The generated declarations are types only (no JavaScript): tsc does not emit them, so the
// package ships them next to the compiled files that import them.
import { cpSync } from "node:fs";

cpSync("src/generated", "dist/generated", { recursive: true });
