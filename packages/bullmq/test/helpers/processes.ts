/**
 * Separate `node` processes of the repository's apps (their sources through tsx), with their
 * output kept for the test to wait on and read. Also used by `@identify-face/reliability`.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"

const appSource = (app: string, file: string) => fileURLToPath(new URL(`../../../../apps/${app}/src/${file}`, import.meta.url))

/** A started process and everything it printed. */
export interface Started {
  readonly child: ChildProcess
  /** stdout and stderr so far. */
  readonly output: () => string
  /** Resolves with the first match of `pattern` in the output, waiting for it up to `timeoutMs`. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>
  /** Whether the process has exited. */
  readonly exited: () => boolean
}

/** Starts `apps/worker/src/<file>` with `env` over this process's environment. */
export const start = (file: "main.ts" | "apiNode.ts", env: Record<string, string>): Started => startApp("worker", file, env)

/**
 * Starts `apps/<app>/src/<file>` with `env` over this process's environment; in a process group of
 * its own when `ownProcessGroup` is set, so that a signal can be sent to it and its children alone.
 */
export const startApp = (app: string, file: string, env: Record<string, string>, ownProcessGroup = false): Started => {
  const child = spawn(process.execPath, ["--conditions=@identify-face/source", "--import", "tsx", appSource(app, file)], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: ownProcessGroup
  })
  let output = ""
  let exited = false
  const listeners = new Set<() => void>()
  const append = (chunk: Buffer) => {
    output += chunk.toString("utf8")
    for (const listener of listeners) listener()
  }
  child.stdout?.on("data", append)
  child.stderr?.on("data", append)
  child.once("exit", () => {
    exited = true
    for (const listener of listeners) listener()
  })
  const waitFor = (pattern: RegExp, timeoutMs = 45_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = output.match(pattern)
        if (match !== null) return done(() => resolve(match))
        if (exited) return done(() => reject(new Error(`${file} exited before printing ${pattern}:\n${output}`)))
      }
      const timer = setTimeout(() => done(() => reject(new Error(`${file} did not print ${pattern} within ${timeoutMs} ms:\n${output}`))), timeoutMs)
      const done = (settle: () => void) => {
        clearTimeout(timer)
        listeners.delete(check)
        settle()
      }
      listeners.add(check)
      check()
    })
  return { child, output: () => output, waitFor, exited: () => exited }
}

/** Sends `signal` and waits until the process has exited. */
export const stop = (started: Started, signal: NodeJS.Signals = "SIGTERM") =>
  new Promise<void>((resolve) => {
    if (started.exited()) return resolve()
    started.child.once("exit", () => resolve())
    started.child.kill(signal)
  })
