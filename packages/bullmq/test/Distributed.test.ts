/**
 * The distributed setup for real: one API node and two workers as separate processes on one Redis.
 * Tasks are created over HTTP, a worker is killed (SIGKILL) in the middle of its tasks, and every
 * task still completes, exactly once, as the client sees it.
 */
import * as Client from "@identify-face/core/Client"
import type { TaskObject } from "@identify-face/core/Wire"
import { Redis } from "ioredis"
import { afterAll, describe, expect, it } from "vitest"
import { start, stop } from "./helpers/processes.js"
import type { Started } from "./helpers/processes.js"
import { REDIS_URL, deleteKeys, freshPrefix } from "./helpers/redis.js"

const TASKS = 8
const API_KEY = "distributed-test-key"
const prefix = freshPrefix()
const started: Array<Started> = []

afterAll(async () => {
  await Promise.all(started.map((process) => stop(process, "SIGKILL")))
  const client = new Redis(REDIS_URL)
  await deleteKeys(client, prefix)
  await client.quit()
})

const shared = { IDENTIFY_FACE_REDIS_URL: REDIS_URL, IDENTIFY_FACE_REDIS_PREFIX: prefix }

/** A worker with the scripted analyzer (1.5 s a task, two at once) and a short lock, so a kill is noticed in about 2 s. */
const startWorker = () => {
  const worker = start("main.ts", {
    ...shared,
    IDENTIFY_FACE_ANALYZER: "double",
    IDENTIFY_FACE_ANALYZER_DELAY_MS: "1500",
    IDENTIFY_FACE_CONCURRENCY: "2",
    IDENTIFY_FACE_LOCK_MS: "1500",
    IDENTIFY_FACE_STALLED_INTERVAL_MS: "500"
  })
  started.push(worker)
  return worker
}

/** The ids of the tasks a worker's log says it completed. */
const completedBy = (worker: Started) => [...worker.output().matchAll(/task (task_\w+) completed/g)].map((match) => match[1])

const isFinished = (task: TaskObject) => task.status === "completed" || task.status === "failed" || task.status === "cancelled"

describe("one API node and two workers on Redis", () => {
  it("complete every task exactly once although a worker is killed mid-task", { timeout: 90_000 }, async () => {
    const api = start("apiNode.ts", { ...shared, IDENTIFY_FACE_API_KEYS: API_KEY, PORT: "0" })
    started.push(api)
    const [killed, survivor] = [startWorker(), startWorker()]
    const [listening] = await Promise.all([
      api.waitFor(/listening on (http:\/\/\S+)/),
      killed.waitFor(/worker: ready/),
      survivor.waitFor(/worker: ready/)
    ])
    const client = Client.makePromise({ baseUrl: listening[1]!, apiKey: API_KEY })

    const upload = await client.uploadVideo(new Blob(["a clip for the scripted analyzer"]), "video/mp4")
    const created = await Promise.all(Array.from({ length: TASKS }, () => client.createTask({ videoId: upload.video_id })))
    const ids = created.map((task) => task.id)

    const [, taken] = await killed.waitFor(/task (task_\w+) taken/)
    await stop(killed, "SIGKILL")
    expect(ids).toContain(taken)

    const deadline = Date.now() + 40_000
    let tasks: Array<TaskObject> = []
    const seenCompleted = new Map<string, string>()
    while (Date.now() < deadline) {
      tasks = await Promise.all(ids.map((id) => client.getTask(id)))
      for (const task of tasks) {
        // Once the client has seen a task completed, it never sees it change again.
        const seen = seenCompleted.get(task.id)
        if (seen !== undefined) expect(JSON.stringify(task)).toBe(seen)
        else if (task.status === "completed") seenCompleted.set(task.id, JSON.stringify(task))
      }
      if (tasks.every(isFinished)) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(tasks.map((task) => task.status)).toEqual(ids.map(() => "completed"))

    // Each task was completed by exactly one run, the killed worker's cut-short ones by the survivor.
    const completions = [...completedBy(killed), ...completedBy(survivor)]
    expect(completions.sort()).toEqual([...ids].sort())
    expect(completedBy(survivor)).toContain(taken)

    // Screenshots are served by the API node, whichever worker stored them.
    const result = await client.getTask(taken!)
    const faceImage = (JSON.parse(result.output?.[0]?.content[0]?.text ?? "{}") as { data: { face_data: Array<{ face_image: string }> } })
      .data.face_data[0]?.face_image
    const screenshot = await fetch(faceImage!)
    expect(screenshot.status).toBe(200)
    expect(screenshot.headers.get("content-type")).toBe("image/jpeg")

    await Promise.all([stop(survivor), stop(api)])
  })
})
