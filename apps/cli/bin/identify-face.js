#!/usr/bin/env node
// Runs the CLI from its TypeScript sources, reading the workspace packages through their private
// `@identify-face/source` export condition, so `npx identify-face` works right after `npm ci`
// with nothing built.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const main = fileURLToPath(new URL("../src/main.ts", import.meta.url))
const child = spawn(process.execPath, ["--conditions=@identify-face/source", "--import", "tsx", main, ...process.argv.slice(2)], { stdio: "inherit" })
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => process.exit(signal === null ? (code ?? 1) : 1))
