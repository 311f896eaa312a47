/**
 * A demo app stopped with SIGTERM while a task runs and an upload is still arriving: the upload
 * must be answered, the process must exit 0 within its deadline with the task handed back to
 * `pending`, and the task must complete after a restart. And the real analysis stopped by a
 * Ctrl-C, which signals its analysis process too.
 */
import { readFileSync } from "node:fs"
import { request } from "node:http"
import { isTaskId } from "@identify-face/core/Ids"
import { TaskStore } from "@identify-face/core/TaskStore"
import * as SqliteStore from "@identify-face/node/SqliteStore"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { watchTasks } from "../../bullmq/test/helpers/watch.js"
import { API_KEY, SCRIPTED_VIDEO, makeDataDir, processesOf, startDemo, stillServes, waitForStatus } from "./servers.js"
import type { DemoApp } from "./servers.js"

/** One graceful stop and restart. */
export interface StopRun {
  readonly exitCode: number | null
  /** From SIGTERM to the exit. */
  readonly stopMs: number
  /** The status of the upload that was arriving at SIGTERM. */
  readonly uploadStatus: number
  /** The running task's status in the database once the process had exited. */
  readonly storedStatus: string | undefined
  /** Its status after the restart, once finished. */
  readonly restartedStatus: string | undefined
  readonly afterwards: { readonly healthz: number; readonly task: string | undefined }
}

/** A raw upload sent as `chunks` pieces `gapMs` apart; resolves with the answer's status. */
const slowUpload = (url: string, chunks: number, gapMs: number) =>
  new Promise<number>((resolve, reject) => {
    const upload = request(`${url}/model/v1/videos`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "video/mp4" }
    })
    upload.on("response", (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    upload.on("error", reject)
    let sent = 0
    const next = () => {
      if (sent++ === chunks) return upload.end()
      upload.write("a chunk of a slow upload ")
      setTimeout(next, gapMs)
    }
    next()
  })

/** The stored status of a task, read from the data directory's database. */
const storedStatus = (dataDir: string, id: string) =>
  Effect.runPromise(
    Effect.flatMap(TaskStore, (store) => (isTaskId(id) ? store.get(id) : Effect.succeedNone)).pipe(
      Effect.map(Option.match({ onNone: () => undefined, onSome: (task) => task._tag })),
      Effect.provide(SqliteStore.layer({ dataDir }))
    )
  )

/** Sends SIGTERM to `app` while a `taskMs` task runs and an upload arrives, then starts it again. */
export const runGracefulStop = async (app: DemoApp, options: { readonly taskMs: number; readonly shutdownSeconds: number }): Promise<StopRun> => {
  const dataDir = makeDataDir()
  const env = {
    IDENTIFY_FACE_ANALYZER: "double",
    IDENTIFY_FACE_ANALYZER_DELAY_MS: String(options.taskMs),
    IDENTIFY_FACE_SHUTDOWN_SECONDS: String(options.shutdownSeconds)
  }
  let server = await startDemo(dataDir.path, env, app)
  try {
    const upload = await server.client.uploadVideo(SCRIPTED_VIDEO, "video/mp4")
    const { id } = await server.client.createTask({ videoId: upload.video_id })
    await waitForStatus(server.client, [id], "processing")

    const arriving = slowUpload(server.url, 5, 200)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const stopped = Date.now()
    const exitCode = await server.stop("SIGTERM")
    const stopMs = Date.now() - stopped
    const uploadStatus = await arriving.catch(() => 0)
    const stored = await storedStatus(dataDir.path, id)

    server = await startDemo(dataDir.path, env, app)
    const [restarted] = (await watchTasks(server.client, [id], options.taskMs + 30_000)).tasks
    return {
      exitCode,
      stopMs,
      uploadStatus,
      storedStatus: stored,
      restartedStatus: restarted?.status,
      afterwards: await stillServes(server.url, server.client)
    }
  } finally {
    await server.stop("SIGKILL")
    dataDir.remove()
  }
}

/** The real analysis stopped as a Ctrl-C stops it, and restarted. */
export interface InterruptRun {
  readonly exitCode: number | null
  /** From the SIGINT to the exit. */
  readonly stopMs: number
  /** The task's status in the database once the process had exited. */
  readonly storedStatus: string | undefined
  /** The processes of the app's group still running once it had exited: its analysis process and ffmpeg, if any. */
  readonly leftover: ReadonlyArray<number>
  /** The task's status after the restart, once finished. */
  readonly restartedStatus: string | undefined
}

/**
 * hono-demo with the real analysis, stopped mid-analysis as a Ctrl-C in its terminal stops it:
 * SIGINT to its whole process group, its analysis process and ffmpeg included. The app must
 * exit 0 with the task handed back to `pending` and nothing of its group left running, and the
 * task must complete after a restart.
 */
export const runInterruptedAnalysis = async (clip: string): Promise<InterruptRun> => {
  const dataDir = makeDataDir()
  let server = await startDemo(dataDir.path, {}, "hono-demo", true)
  try {
    const upload = await server.client.uploadVideo(new Blob([readFileSync(clip)]), "video/mp4")
    const { id } = await server.client.createTask({ videoId: upload.video_id })
    await waitForStatus(server.client, [id], "processing")
    const group = server.process.child.pid ?? 0
    const exited = new Promise<number | null>((resolve) => server.process.child.once("exit", (code) => resolve(code)))
    const stopped = Date.now()
    process.kill(-group, "SIGINT")
    const exitCode = await exited
    const stopMs = Date.now() - stopped
    const leftover = processesOf(group)
    const stored = await storedStatus(dataDir.path, id)

    server = await startDemo(dataDir.path)
    const [restarted] = (await watchTasks(server.client, [id], 60_000)).tasks
    return { exitCode, stopMs, storedStatus: stored, leftover, restartedStatus: restarted?.status }
  } finally {
    await server.stop("SIGKILL")
    dataDir.remove()
  }
}
