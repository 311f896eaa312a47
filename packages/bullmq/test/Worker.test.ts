/**
 * The queue and the worker in this process over a real Redis: a task submitted on an API node is
 * run by a worker with the scripted analyzer; a cancel stops a running analysis; closing a worker
 * hands its task back for another; a task cut short too often ends with 014002099.
 */
import { describe, expect, it } from "@effect/vitest"
import { FileKey } from "@identify-face/core/Ids"
import * as Task from "@identify-face/core/Task"
import type { FaceAnalyzerService } from "@identify-face/core/FaceAnalyzer"
import * as TestAnalyzer from "@identify-face/testing/TestAnalyzer"
import * as Deferred from "effect/Deferred"
import * as Either from "effect/Either"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { connect, freshPrefix } from "./helpers/redis.js"
import { eventually, startApi, startWorker } from "./helpers/nodes.js"
import { pendingTask } from "./helpers/tasks.js"

const tenant = { id: "tenant_a" }
const MODEL = "kirin_identify_face" as const

/** The scripted analyzer, also telling when an analysis was interrupted. */
const watchedAnalyzer = (options: TestAnalyzer.TestAnalyzerOptions) =>
  Effect.gen(function* () {
    const interrupted = yield* Deferred.make<void>()
    const analyzer = yield* TestAnalyzer.make(options)
    const watched: FaceAnalyzerService = {
      analyze: (video, onProgress) => analyzer.analyze(video, onProgress).pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)))
    }
    return { analyzer: watched, interrupted }
  })

/** A fresh prefix whose keys are deleted once everything on it has closed. */
const isolated = Effect.gen(function* () {
  const prefix = freshPrefix()
  yield* connect(prefix)
  return prefix
})

describe("BullmqTaskQueue and Worker", () => {
  it.scopedLive("run a task submitted on an API node to completion on a worker, upload and screenshot shared through Redis", () =>
    Effect.gen(function* () {
      const prefix = yield* isolated
      const api = yield* startApi(prefix)
      yield* startWorker(prefix, yield* TestAnalyzer.make({ videos: { "clip bytes": { faces: [{ startMs: 0, endMs: 4000 }], delay: "100 millis" } } }))
      const upload = yield* api.uploads.put(Stream.make(new TextEncoder().encode("clip bytes")), {
        tenant: tenant.id,
        maxBytes: 1000,
        expiresAt: Date.now() + 60_000
      })
      const task = yield* api.engine.submit(tenant, { model: MODEL, video: { _tag: "VideoId", id: upload.id } })
      const done = yield* eventually(api.engine.get(tenant, task.id), Task.isFinished)
      expect(done).toMatchObject({ _tag: "completed", attempts: 1, result: { faces: [{ faceId: "0", startMs: 0, endMs: 4000 }] } })
      const imageKey = done._tag === "completed" ? done.result.faces[0]?.imageKey ?? "" : ""
      const screenshot = yield* api.artifacts.get(FileKey.make(imageKey), Date.now())
      expect(Option.map(screenshot, (file) => file.bytes)).toEqual(Option.some(TestAnalyzer.tinyJpeg))
    }))

  it.scopedLive("stop a running analysis at once when its task is cancelled", () =>
    Effect.gen(function* () {
      const prefix = yield* isolated
      const api = yield* startApi(prefix)
      const { analyzer, interrupted } = yield* watchedAnalyzer({ script: { delay: "30 seconds", progress: [0.1, 0.2, 0.3] } })
      yield* startWorker(prefix, analyzer)
      const task = yield* api.engine.submit(tenant, { model: MODEL, video: { _tag: "VideoUrl", url: "https://cdn.example.com/long.mp4" } })
      yield* eventually(api.engine.get(tenant, task.id), (current) => current._tag === "processing")
      const cancelledAt = Date.now()
      expect(yield* api.engine.cancel(tenant, task.id)).toMatchObject({ _tag: "cancelled" })
      yield* Deferred.await(interrupted).pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("the analysis went on") }))
      expect(Date.now() - cancelledAt).toBeLessThan(1000)
      expect(yield* api.engine.get(tenant, task.id)).toMatchObject({ _tag: "cancelled" })
    }))

  it.scopedLive("hand a running task back when a worker closes, for another worker to finish", () =>
    Effect.gen(function* () {
      const prefix = yield* isolated
      const api = yield* startApi(prefix)
      const first = yield* Scope.make()
      const { analyzer: slow, interrupted } = yield* watchedAnalyzer({ script: { delay: "30 seconds" } })
      yield* startWorker(prefix, slow).pipe(Scope.extend(first))
      const task = yield* api.engine.submit(tenant, { model: MODEL, video: { _tag: "VideoUrl", url: "https://cdn.example.com/clip.mp4" } })
      yield* eventually(api.engine.get(tenant, task.id), (current) => current._tag === "processing")
      const closing = Date.now()
      yield* Scope.close(first, Exit.void)
      expect(Date.now() - closing).toBeLessThan(2000)
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
      expect(yield* api.engine.get(tenant, task.id)).toMatchObject({ _tag: "pending", attempts: 1 })
      yield* startWorker(prefix, yield* TestAnalyzer.make())
      const done = yield* eventually(api.engine.get(tenant, task.id), Task.isFinished)
      expect(done).toMatchObject({ _tag: "completed", attempts: 2 })
    }))

  it.scopedLive("end a task whose runs were cut short twice with 014002099 instead of running it again", () =>
    Effect.gen(function* () {
      const prefix = yield* isolated
      const api = yield* startApi(prefix)
      const { analyzer, interrupted } = yield* watchedAnalyzer({})
      yield* startWorker(prefix, analyzer)
      const created = Date.now()
      const task = pendingTask(created, created + 60_000)
      yield* api.tasks.insert(task)
      // As a second worker killed mid-run leaves it.
      yield* api.tasks.modify(task.id, () => Either.right(Task.start(Task.start(task, created), created)))
      yield* api.queue.enqueue(task.id)
      const done = yield* eventually(api.tasks.get(task.id), (stored) => Option.isSome(stored) && Task.isFinished(stored.value))
      expect(done).toMatchObject({ value: { _tag: "failed", attempts: 2, error: { code: "014002099" } } })
      expect(yield* Deferred.isDone(interrupted)).toBe(false)
    }))
})
