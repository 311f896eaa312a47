/**
 * The engine and the task lifecycle over in-memory stores, on the test clock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { DurationOutOfRangeError } from "../src/Errors.js"
import type { FaceAnalyzerService } from "../src/FaceAnalyzer.js"
import type { FileKey } from "../src/Ids.js"
import * as Task from "../src/Task.js"
import { MODEL } from "../src/Wire.js"
import { historyOf, makeStores, startEngine } from "./helpers/Engine.js"
import type { Stores } from "./helpers/Engine.js"
import { alice, analysis, bob, jpegBytes, pendingTask, urlInput } from "./helpers/fixtures.js"

/** Lets every forked fiber run until it waits on the clock. */
const settle = TestClock.adjust(0)

/** An analysis that takes `duration` and counts its runs and interruptions. */
const timedAnalyzer = (duration: Duration.DurationInput) => {
  const counts = { runs: 0, interrupted: 0 }
  const analyze: FaceAnalyzerService["analyze"] = () =>
    Effect.sync(() => counts.runs++).pipe(
      Effect.zipRight(Effect.sleep(duration)),
      Effect.as(analysis),
      Effect.onInterrupt(() => Effect.sync(() => counts.interrupted++))
    )
  return { analyze, counts }
}

/** Seeds the store with a task that a stopped process left `processing` after `attempts` starts. */
const seedProcessing = (stores: Stores, attempts: number) =>
  Effect.gen(function* () {
    const pending = pendingTask({ attempts: attempts - 1 })
    yield* stores.tasks.insert(pending)
    yield* stores.tasks.modify(pending.id, (task) => Either.right(Task.start(task as Task.PendingTask, 0)))
    return pending.id
  })

describe("TaskEngine lifecycle", () => {
  it.scoped("runs a task pending -> processing -> completed, and its progress never goes back", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const engine = yield* startEngine(stores, (_, onProgress) =>
        Effect.gen(function* () {
          yield* onProgress(0.25)
          yield* Effect.sleep("1 second")
          yield* onProgress(0.75)
          yield* onProgress(0.5) // a late, lower report
          yield* Effect.sleep("1 second")
          return analysis
        })
      )
      const submitted = yield* engine.submit(alice, urlInput())
      expect(submitted._tag).toBe("pending")
      yield* TestClock.adjust("1500 millis")
      expect(yield* engine.get(alice, submitted.id)).toMatchObject({ _tag: "processing", progress: 0.75, attempts: 1 })
      yield* TestClock.adjust("1 second")
      const done = yield* engine.get(alice, submitted.id)
      if (done._tag !== "completed") return expect.fail(`expected completed, got ${done._tag}`)
      expect(done.result.faces.map(({ faceId, startMs, endMs }) => ({ faceId, startMs, endMs }))).toEqual([
        { faceId: "0", startMs: 0, endMs: 5200 },
        { faceId: "1", startMs: 6000, endMs: 9000 }
      ])
      expect(done.metadata).toEqual(analysis.metadata)
      expect(done.timings).toMatchObject({ fetch: 0, probe: 3, analyze: 40 })
      const screenshot = yield* stores.artifacts.get(done.result.faces[0]?.imageKey as FileKey, 0)
      expect(Option.map(screenshot, (file) => file.bytes)).toEqual(Option.some(jpegBytes))

      const history = historyOf(stores, submitted.id)
      expect([...new Set(history.map((entry) => entry.split(" ")[0]))]).toEqual(["pending", "processing", "completed"])
      const progress = history.filter((entry) => entry.startsWith("processing")).map((entry) => Number(entry.split(" ")[1]))
      expect(progress).toEqual([...progress].sort((a, b) => a - b))
      expect(progress).toContain(0.25)
      expect(progress).not.toContain(0.5)
    }))

  it.scoped("ends a task the analysis refuses failed with the refusal's code", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const engine = yield* startEngine(stores, () => Effect.fail(new DurationOutOfRangeError({ message: "the video is 75 s long" })))
      const { id } = yield* engine.submit(alice, urlInput())
      yield* settle
      expect(yield* engine.get(alice, id)).toMatchObject({
        _tag: "failed",
        error: { code: "014002112", error_message: "the video is 75 s long" }
      })
    }))

  it.scoped("ends a task whose analysis dies failed with 014002095, without the defect's details", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const engine = yield* startEngine(stores, () => Effect.die(new Error("secret internals at /srv/x")))
      const { id } = yield* engine.submit(alice, urlInput())
      yield* settle
      const task = yield* engine.get(alice, id)
      expect(task).toMatchObject({ _tag: "failed", error: { code: "014002095" } })
      expect(JSON.stringify(task)).not.toContain("secret")
    }))

  it.scoped("ends a run longer than taskTimeout failed with 014002099 and stops the analysis", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const { analyze, counts } = timedAnalyzer("1 hour")
      const engine = yield* startEngine(stores, analyze, { taskTimeout: Duration.seconds(5) })
      const { id } = yield* engine.submit(alice, urlInput())
      yield* TestClock.adjust("4999 millis")
      expect((yield* engine.get(alice, id))._tag).toBe("processing")
      yield* TestClock.adjust("1 millis")
      expect(yield* engine.get(alice, id)).toMatchObject({ _tag: "failed", error: { code: "014002099" } })
      expect(counts.interrupted).toBe(1)
    }))
})

describe("TaskEngine cancel", () => {
  it.scoped("cancels a pending task: it never runs", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const { analyze, counts } = timedAnalyzer("1 second")
      const engine = yield* startEngine(stores, analyze, { concurrency: 1 })
      const first = yield* engine.submit(alice, urlInput())
      const second = yield* engine.submit(alice, urlInput())
      yield* settle
      expect((yield* engine.cancel(alice, second.id))._tag).toBe("cancelled")
      yield* TestClock.adjust("5 seconds")
      expect((yield* engine.get(alice, first.id))._tag).toBe("completed")
      expect((yield* engine.get(alice, second.id))._tag).toBe("cancelled")
      expect(counts.runs).toBe(1)
    }))

  it.scoped("cancels a processing task: the run is interrupted and nothing is written after", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const { analyze, counts } = timedAnalyzer("10 seconds")
      const engine = yield* startEngine(stores, analyze)
      const { id } = yield* engine.submit(alice, urlInput())
      yield* TestClock.adjust("1 second")
      expect((yield* engine.cancel(alice, id))._tag).toBe("cancelled")
      expect(counts.interrupted).toBe(1)
      yield* TestClock.adjust("1 minute")
      expect((yield* engine.get(alice, id))._tag).toBe("cancelled")
      expect(historyOf(stores, id).at(-1)).toBe("cancelled")
    }))

  it.scoped("refuses to cancel a finished task with 409", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const engine = yield* startEngine(stores, () => Effect.succeed(analysis))
      const { id } = yield* engine.submit(alice, urlInput())
      yield* settle
      const error = yield* engine.cancel(alice, id).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "ConflictError", status: 409 })
      expect((yield* engine.get(alice, id))._tag).toBe("completed")
    }))
})

describe("TaskEngine scheduling and access", () => {
  it.scoped("with concurrency 1, a second task stays pending until the first finishes", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const engine = yield* startEngine(stores, timedAnalyzer("1 second").analyze, { concurrency: 1 })
      const first = yield* engine.submit(alice, urlInput())
      const second = yield* engine.submit(bob, urlInput())
      const statuses = Effect.all([engine.get(alice, first.id), engine.get(bob, second.id)]).pipe(
        Effect.map((tasks) => tasks.map((task) => task._tag))
      )
      yield* TestClock.adjust("500 millis")
      expect(yield* statuses).toEqual(["processing", "pending"])
      yield* TestClock.adjust("1 second")
      expect(yield* statuses).toEqual(["completed", "processing"])
      yield* TestClock.adjust("1 second")
      expect(yield* statuses).toEqual(["completed", "completed"])
    }))

  it.scoped("answers another tenant's task as not found, for reading and for cancelling", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const engine = yield* startEngine(stores, timedAnalyzer("1 second").analyze)
      const { id } = yield* engine.submit(alice, urlInput())
      expect(yield* engine.get(bob, id).pipe(Effect.flip)).toMatchObject({ _tag: "NotFoundError", status: 404 })
      expect(yield* engine.cancel(bob, id).pipe(Effect.flip)).toMatchObject({ _tag: "NotFoundError", status: 404 })
      yield* TestClock.adjust("2 seconds")
      expect((yield* engine.get(alice, id))._tag).toBe("completed")
    }))

  it.scoped("answers malformed ids as not found without asking the store", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const engine = yield* startEngine(stores, () => Effect.succeed(analysis))
      for (const id of ["", "../x", "task_../../etc/passwd", `task_${"0".repeat(25)}`, `task_${"0".repeat(25)}\u0000`, `task_${"a".repeat(10_000)}`]) {
        expect(yield* engine.get(alice, id).pipe(Effect.flip)).toMatchObject({ _tag: "NotFoundError" })
        expect(yield* engine.cancel(alice, id).pipe(Effect.flip)).toMatchObject({ _tag: "NotFoundError" })
      }
      expect(stores.touched).toEqual([])
    }))
})

describe("TaskEngine restart and shutdown", () => {
  it.scoped("re-runs a task a stopped process left processing after one start", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const id = yield* seedProcessing(stores, 1)
      yield* startEngine(stores, () => Effect.succeed(analysis))
      yield* settle
      expect(yield* stores.tasks.get(id)).toEqual(Option.some(expect.objectContaining({ _tag: "completed", attempts: 2 })))
    }))

  it.scoped("fails a task left processing after its second start with 014002099, without running it", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const id = yield* seedProcessing(stores, 2)
      const { analyze, counts } = timedAnalyzer("1 second")
      yield* startEngine(stores, analyze)
      yield* settle
      expect(yield* stores.tasks.get(id)).toEqual(Option.some(expect.objectContaining({ _tag: "failed", error: expect.objectContaining({ code: "014002099" }) })))
      expect(counts.runs).toBe(0)
    }))

  it.scoped("hands a running task back to pending on shutdown; the next engine finishes it", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      const engineScope = yield* Scope.make()
      const first = yield* startEngine(stores, timedAnalyzer("1 hour").analyze).pipe(Scope.extend(engineScope))
      const { id } = yield* first.submit(alice, urlInput())
      yield* settle
      expect((yield* first.get(alice, id))._tag).toBe("processing")
      yield* Scope.close(engineScope, Exit.void)
      expect(yield* stores.tasks.get(id)).toEqual(Option.some(expect.objectContaining({ _tag: "pending", attempts: 1 })))

      const second = yield* startEngine(stores, () => Effect.succeed(analysis))
      yield* settle
      expect(yield* second.get(alice, id)).toMatchObject({ _tag: "completed", attempts: 2 })
    }))
})

describe("TaskEngine sweeper", () => {
  it.scoped("deletes expired finished tasks with their screenshots and uploads, never a processing task", () =>
    Effect.gen(function* () {
      const stores = yield* makeStores
      let runs = 0
      // The first task finishes at once; the second runs for longer than its session.
      const engine = yield* startEngine(stores, () => (runs++ === 0 ? Effect.succeed(analysis) : Effect.never), {
        concurrency: 2,
        sessionTtl: Duration.minutes(2)
      })
      const upload = yield* stores.uploads.put(Stream.make(new Uint8Array(64)), { tenant: alice.id, maxBytes: 1024, expiresAt: Duration.toMillis("2 minutes") })
      const finished = yield* engine.submit(alice, { model: MODEL, video: { _tag: "VideoId", id: upload.id } })
      yield* settle
      const running = yield* engine.submit(alice, urlInput())
      yield* settle
      const completed = yield* engine.get(alice, finished.id)
      const imageKey = (completed._tag === "completed" ? completed.result.faces[0]?.imageKey : undefined) as FileKey
      expect((yield* engine.get(alice, running.id))._tag).toBe("processing")

      // Reads at time 0 tell a deleted entry from one that has merely expired.
      const present = Effect.all({
        finished: Effect.map(stores.tasks.get(finished.id), Option.isSome),
        screenshot: Effect.map(stores.artifacts.get(imageKey, 0), Option.isSome),
        upload: Effect.isSuccess(stores.uploads.get(alice.id, upload.id, 0)),
        running: Effect.map(stores.tasks.get(running.id), Option.isSome)
      })
      yield* TestClock.adjust("1 minute")
      expect(yield* present).toEqual({ finished: true, screenshot: true, upload: true, running: true })
      yield* TestClock.adjust("2 minutes")
      expect(yield* present).toEqual({ finished: false, screenshot: false, upload: false, running: true })
      expect((yield* engine.get(alice, running.id))._tag).toBe("processing")
    }))
})
