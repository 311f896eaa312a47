/**
 * The distributed setup for real, once: one API node and two workers as separate processes on
 * one Redis. Tasks are created over HTTP, a worker is killed (SIGKILL) in the middle of its tasks,
 * and the tasks are read until all have finished. Run by the distributed test, and ten times over
 * by `npm run bench:reliability`.
 */
import * as Client from "@identify-face/core/Client"
import { Redis } from "ioredis"
import { start, stop } from "./processes.js"
import type { Started } from "./processes.js"
import { REDIS_URL, deleteKeys, freshPrefix } from "./redis.js"
import { watchTasks } from "./watch.js"
import type { Watched } from "./watch.js"

const API_KEY = "distributed-test-key"

/** What one run saw: the tasks as the client last read them, and more. */
export interface KilledWorkerRun extends Watched {
  /** The tasks created. */
  readonly ids: ReadonlyArray<string>
  /** The task the killed worker had taken when it was killed. */
  readonly taken: string | undefined
  /** The ids of the tasks each worker's log says it completed. */
  readonly completedBy: { readonly killed: ReadonlyArray<string>; readonly survivor: ReadonlyArray<string> }
  /** The answer to the first screenshot of the taken task. */
  readonly screenshot: { readonly status: number; readonly contentType: string | null } | undefined
}

/** A worker with the scripted analyzer (1.5 s a task, two at once) and a short lock, so a kill is noticed in about 2 s. */
const startWorker = (shared: Record<string, string>) =>
  start("main.ts", {
    ...shared,
    IDENTIFY_FACE_ANALYZER: "double",
    IDENTIFY_FACE_ANALYZER_DELAY_MS: "1500",
    IDENTIFY_FACE_CONCURRENCY: "2",
    IDENTIFY_FACE_LOCK_MS: "1500",
    IDENTIFY_FACE_STALLED_INTERVAL_MS: "500"
  })

const completedBy = (worker: Started) => [...worker.output().matchAll(/task (task_\w+) completed/g)].flatMap((match) => (match[1] === undefined ? [] : [match[1]]))

/**
 * Creates `tasks` tasks, kills the worker that took the first one, and reads them all until they
 * have finished or `deadlineMs` has passed. Every process is stopped and the run's Redis keys
 * deleted before it answers.
 */
export const runKilledWorker = async (options: { readonly tasks: number; readonly deadlineMs: number }): Promise<KilledWorkerRun> => {
  const prefix = freshPrefix()
  const shared = { IDENTIFY_FACE_REDIS_URL: REDIS_URL, IDENTIFY_FACE_REDIS_PREFIX: prefix }
  const api = start("apiNode.ts", { ...shared, IDENTIFY_FACE_API_KEYS: API_KEY, PORT: "0" })
  const [killed, survivor] = [startWorker(shared), startWorker(shared)]
  try {
    const [listening] = await Promise.all([
      api.waitFor(/listening on (http:\/\/\S+)/),
      killed.waitFor(/worker: ready/),
      survivor.waitFor(/worker: ready/)
    ])
    const client = Client.makePromise({ baseUrl: listening[1]!, apiKey: API_KEY })

    const upload = await client.uploadVideo(new Blob(["a clip for the scripted analyzer"]), "video/mp4")
    const created = await Promise.all(Array.from({ length: options.tasks }, () => client.createTask({ videoId: upload.video_id })))
    const ids = created.map((task) => task.id)

    const [, taken] = await killed.waitFor(/task (task_\w+) taken/)
    await stop(killed, "SIGKILL")

    const watched = await watchTasks(client, ids, options.deadlineMs)

    const result = watched.tasks.find((task) => task.id === taken)
    const faceImage = (JSON.parse(result?.output?.[0]?.content[0]?.text ?? "{}") as { data?: { face_data: Array<{ face_image: string }> } })
      .data?.face_data[0]?.face_image
    const screenshot = faceImage === undefined ? undefined : await fetch(faceImage)
    return {
      ...watched,
      ids,
      taken,
      completedBy: { killed: completedBy(killed), survivor: completedBy(survivor) },
      screenshot: screenshot && { status: screenshot.status, contentType: screenshot.headers.get("content-type") }
    }
  } finally {
    await Promise.all([stop(killed, "SIGKILL"), stop(survivor), stop(api)])
    const redis = new Redis(REDIS_URL)
    await deleteKeys(redis, prefix)
    await redis.quit()
  }
}
