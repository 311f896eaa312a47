/**
 * The servers the scenarios run against: a demo app as a child process (what an operator runs,
 * so it can be killed), or the embedded API in this process (so a test can open the SSRF guard
 * with functions).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Client from "@identify-face/core/Client"
import * as NodeHttp from "@identify-face/core/NodeHttp"
import * as Server from "@identify-face/core/Server"
import * as NodeServer from "@identify-face/node/NodeServer"
import { startApp, stop } from "../../bullmq/test/helpers/processes.js"
import type { Started } from "../../bullmq/test/helpers/processes.js"
import { watchTasks } from "../../bullmq/test/helpers/watch.js"

/** The bearer key of every server here. */
export const API_KEY = "reliability-key"

/** A fresh data directory; `remove()` deletes it. */
export const makeDataDir = () => {
  const path = mkdtempSync(join(tmpdir(), "identify-face-reliability-"))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** A demo app running as a child process. */
export interface DemoServer {
  readonly url: string
  readonly client: Client.PromiseClient
  readonly process: Started
  /** Sends `signal` and resolves with the exit code once the process has exited. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** The demo apps of `apps/`. */
export type DemoApp = "hono-demo" | "express-demo"

/**
 * Starts a demo app on a free loopback port with its data under `dataDir`, and waits until it
 * listens. `env` adds to the app's settings, e.g. `IDENTIFY_FACE_ANALYZER: "double"`. With
 * `ownProcessGroup`, the app and its children are a process group, whose id is the app's pid.
 */
export const startDemo = async (
  dataDir: string,
  env: Record<string, string> = {},
  app: DemoApp = "hono-demo",
  ownProcessGroup = false
): Promise<DemoServer> => {
  const settings = { IDENTIFY_FACE_API_KEYS: API_KEY, IDENTIFY_FACE_DATA_DIR: dataDir, HOST: "127.0.0.1", PORT: "0", ...env }
  const started = startApp(app, "main.ts", settings, ownProcessGroup)
  try {
    const [, url = ""] = await started.waitFor(/listening on (http:\/\/\S+)/, 90_000)
    return {
      url,
      client: Client.makePromise({ baseUrl: url, apiKey: API_KEY, poll: { initialDelay: "50 millis", maxDelay: "200 millis" } }),
      process: started,
      stop: (signal) => stop(started, signal).then(() => started.child.exitCode)
    }
  } catch (error) {
    await stop(started, "SIGKILL")
    throw error
  }
}

/** The embedded API in this process, on a free loopback port. */
export interface InProcessServer {
  readonly url: string
  readonly client: Client.PromiseClient
  readonly close: () => Promise<void>
}

/** Serves `NodeServer.layer(options)` on node:http in this process, once it is built. */
export const serveInProcess = async (options: Omit<NodeServer.NodeServerOptions, "apiKeys">): Promise<InProcessServer> => {
  const handler = await Server.makeWebHandlerReady(NodeServer.layer({ ...options, apiKeys: [API_KEY] }))
  const server = createServer((incoming, outgoing) => {
    NodeHttp.serve(incoming, outgoing, `http://${incoming.headers.host ?? "127.0.0.1"}${incoming.url ?? "/"}`, handler.handle).catch(() => outgoing.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    client: Client.makePromise({ baseUrl: url, apiKey: API_KEY, poll: { initialDelay: "50 millis", maxDelay: "200 millis" } }),
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await handler.dispose()
    }
  }
}

/** A process's resident memory now and at its peak, in bytes, from `/proc` (Linux). */
export const memoryOf = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kilobytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024
  return { rss: kilobytes("VmRSS"), peak: kilobytes("VmHWM") }
}

/** The pids of the live child processes of `pid` whose command line contains `named`. */
export const childrenOf = (pid: number, named: string): Array<number> =>
  readdirSync(`/proc/${pid}/task`)
    .flatMap((thread) => readFileSync(`/proc/${pid}/task/${thread}/children`, "utf8").split(" "))
    .filter((child) => child !== "")
    .map(Number)
    .filter((child) => {
      try {
        return readFileSync(`/proc/${child}/cmdline`, "utf8").includes(named)
      } catch {
        return false // exited meanwhile
      }
    })

/** The live processes of process group `group`; zombies, exited but not yet reaped, are not counted. */
export const processesOf = (group: number): Array<number> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const [state, , pgrp] = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
        return Number(pgrp) === group && state !== "Z"
      } catch {
        return false // exited meanwhile
      }
    })
    .map(Number)

/** An upload for the scripted analyzer, which reads no video. */
export const SCRIPTED_VIDEO = new Blob(["a clip for the scripted analyzer"])

/**
 * What every scenario checks last, that the service still serves: `/healthz` status, and the
 * status of a new task on `video` once it has finished.
 */
export const stillServes = async (url: string, client: Client.PromiseClient, video: Blob = SCRIPTED_VIDEO) => {
  const healthz = (await fetch(`${url}/healthz`)).status
  const upload = await client.uploadVideo(video, "video/mp4")
  const task = await client.createTask({ videoId: upload.video_id })
  const [finished] = (await watchTasks(client, [task.id], 60_000)).tasks
  return { healthz, task: finished?.status }
}

/** Reads the tasks until one of them is `status`, and answers its id; fails after `timeoutMs`. */
export const waitForStatus = async (client: Client.PromiseClient, ids: ReadonlyArray<string>, status: string, timeoutMs = 10_000) => {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const found = (await Promise.all(ids.map((id) => client.getTask(id)))).find((task) => task.status === status)
    if (found !== undefined) return found.id
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`none of ${ids.join(", ")} was ${status} within ${timeoutMs} ms`)
}
