/**
 * The SQLite stores on real database files: tasks and idempotency keys survive a restart, the
 * schema migrates forward, and core's engine resumes from the file. The webhook outbox is written
 * with the final write of a task, and core's deliverer over it sends each callback as the
 * in-memory delivery did, to a receiver on loopback, retries included across a restart.
 */
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as ArtifactStore from "@identify-face/core/ArtifactStore"
import * as Client from "@identify-face/core/Client"
import * as Config from "@identify-face/core/Config"
import { UnsupportedResolutionError } from "@identify-face/core/Errors"
import { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import type { FaceAnalyzerService } from "@identify-face/core/FaceAnalyzer"
import { makeFileKey, makeRequestId, makeSessionId, makeTaskId } from "@identify-face/core/Ids"
import * as Pricing from "@identify-face/core/Pricing"
import * as Task from "@identify-face/core/Task"
import * as TaskEngine from "@identify-face/core/TaskEngine"
import { TaskNotifier } from "@identify-face/core/TaskNotifier"
import type { TaskNotifierService } from "@identify-face/core/TaskNotifier"
import { TaskStore } from "@identify-face/core/TaskStore"
import type { TaskStoreService } from "@identify-face/core/TaskStore"
import { fileUrlAt, toTaskObject } from "@identify-face/core/TaskView"
import * as VideoSource from "@identify-face/core/VideoSource"
import * as VideoStore from "@identify-face/core/VideoStore"
import * as WebhookOutbox from "@identify-face/core/WebhookOutbox"
import * as Webhooks from "@identify-face/core/Webhooks"
import { MODEL } from "@identify-face/core/Wire"
import SqliteDatabase from "better-sqlite3"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { startReceiver } from "../../bullmq/test/helpers/receiver.js"
import type { Answer } from "../../bullmq/test/helpers/receiver.js"
import * as SqliteStore from "../src/SqliteStore.js"
import * as WebhookSender from "../src/WebhookSender.js"
import { migrations } from "../src/internal/sqlite/migrations.js"
import { tempDir } from "./support/tempDir.js"

const NOW = 1_764_140_000_000
const DAY = 24 * 60 * 60 * 1000
const tenant = { id: "tenant_a" }

/** A database file in a fresh temp dir. */
const databaseFile = Effect.map(tempDir("sqlite"), (dir) => join(dir, "identify-face.db"))

/** Opens the stores on `filename`, uses them and closes the database: one process lifetime. */
const withStores = <A, E>(filename: string, use: (stores: SqliteStore.SqliteStore) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.flatMap(SqliteStore.make({ filename }), use))

/** Reads the database file directly, as a migration of another version would. */
const withRawDatabase = <A>(filename: string, use: (db: SqliteDatabase.Database) => A) =>
  Effect.acquireUseRelease(
    Effect.sync(() => new SqliteDatabase(filename)),
    (db) => Effect.sync(() => use(db)),
    (db) => Effect.sync(() => db.close())
  )

const pendingTask = (overrides: Partial<Task.PendingTask> = {}): Task.PendingTask => ({
  _tag: "pending",
  id: makeTaskId(),
  tenant: tenant.id,
  model: MODEL,
  video: { _tag: "VideoUrl", url: "https://videos.example.com/clip.mp4" },
  requestId: makeRequestId(),
  sessionId: makeSessionId(),
  createdAt: NOW,
  updatedAt: NOW,
  expiresAt: NOW + DAY,
  attempts: 0,
  ...overrides
})

/** A task in every state, each with the optional fields it can carry. */
const everyState = (): ReadonlyArray<Task.Task> => {
  const processing = () =>
    Task.describe(
      Task.advance(Task.start(pendingTask({ callbackUrl: "https://hooks.example.com/done" }), NOW + 1), 0.42, NOW + 2),
      { duration_ms: 14_000, width: 1920, height: 1080, fps: 30, format: "mp4" },
      { fetch: 3, probe: 4 },
      NOW + 3
    )
  const result: Task.TaskResult = {
    faces: [{ faceId: "0", imageKey: makeFileKey(), startMs: 0, endMs: 5200 }],
    usage: { cost: "0.0000", discount: 0 },
    unitDeduction: "1"
  }
  return [
    pendingTask(),
    pendingTask({ video: { _tag: "VideoId", id: "vid_0000000000000000000000000a" }, callbackUrl: "https://hooks.example.com/done" }),
    processing(),
    Task.complete(processing(), result, NOW + 4),
    Task.fail(processing(), new UnsupportedResolutionError({ message: "resolution 640x480 is not 720p or 1080p" }), NOW + 4),
    Task.cancel(pendingTask(), NOW + 1)
  ]
}

/** Keeps a task in any state: inserted pending, then changed to it. */
const keep = (store: TaskStoreService, task: Task.Task) =>
  Effect.zipRight(store.insert(pendingTask({ id: task.id })), store.modify(task.id, () => Either.right(task)))

/** The message of the defect an effect died with. */
const defectMessage = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(effect), (exit) => (Exit.isFailure(exit) && Cause.isDie(exit.cause) ? String(Cause.squash(exit.cause)) : "no defect"))

describe("SqliteStore tasks", () => {
  it.scoped("decodes a task of every state as it was written, after a reopen too", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const tasks = everyState()
      yield* withStores(filename, ({ tasks: store }) =>
        Effect.forEach(tasks, (task) =>
          Effect.gen(function* () {
            yield* keep(store, task)
            expect(yield* store.get(task.id)).toEqual(Option.some(task))
          })
        )
      )
      const reread = yield* withStores(filename, ({ tasks: store }) => Effect.forEach(tasks, (task) => store.get(task.id)))
      expect(reread).toEqual(tasks.map(Option.some))
    }))

  it.scoped("modifies atomically under concurrent fibers, on one connection and on two", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const first = yield* SqliteStore.make({ filename })
      const second = yield* SqliteStore.make({ filename })
      const task = pendingTask()
      yield* first.tasks.insert(task)
      const increment = (store: TaskStoreService) =>
        store.modify(task.id, (current) => Either.right({ ...current, attempts: current.attempts + 1 }))
      yield* Effect.all(
        Array.from({ length: 200 }, (_, index) => increment(index % 2 === 0 ? first.tasks : second.tasks)),
        { concurrency: "unbounded" }
      )
      const stored = yield* second.tasks.get(task.id)
      expect(Option.map(stored, (current) => current.attempts)).toEqual(Option.some(200))
    }))

  it.scoped("leaves a task as it was when the change refuses, and answers none for an unknown id", () =>
    Effect.gen(function* () {
      const { tasks: store } = yield* SqliteStore.make({ filename: yield* databaseFile })
      const task = pendingTask()
      yield* store.insert(task)
      const refused = yield* store.modify(task.id, () => Either.left("finished" as const)).pipe(Effect.flip)
      expect(refused).toBe("finished")
      expect(yield* store.get(task.id)).toEqual(Option.some(task))
      expect(yield* store.modify(makeTaskId(), () => Either.right(task))).toEqual(Option.none())
      expect(yield* store.get(makeTaskId())).toEqual(Option.none())
    }))

  it.scoped("answers the unfinished tasks oldest first, a processing one still there after a restart", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const newest = pendingTask({ createdAt: NOW + 3 })
      const oldest = Task.start(pendingTask({ createdAt: NOW + 1 }), NOW + 5)
      const middle = pendingTask({ createdAt: NOW + 2 })
      const finished = Task.cancel(pendingTask({ createdAt: NOW }), NOW + 4)
      yield* withStores(filename, ({ tasks: store }) => Effect.forEach([newest, oldest, middle, finished], (task) => keep(store, task)))
      const active = yield* withStores(filename, ({ tasks: store }) => store.active)
      expect(active).toEqual([oldest, middle, newest])
    }))

  it.scoped("answers the tasks expired at a time, and removes a task", () =>
    Effect.gen(function* () {
      const { tasks: store } = yield* SqliteStore.make({ filename: yield* databaseFile })
      const [gone, due, kept] = [NOW - 1, NOW, NOW + 1].map((expiresAt) => pendingTask({ expiresAt }))
      yield* Effect.forEach([gone, due, kept], (task) => store.insert(task!))
      const ids = (tasks: ReadonlyArray<Task.Task>) => tasks.map((task) => task.id).sort()
      expect(ids(yield* store.expired(NOW))).toEqual([gone!.id, due!.id].sort())
      yield* store.remove(gone!.id)
      expect(yield* store.get(gone!.id)).toEqual(Option.none())
      expect(ids(yield* store.expired(NOW))).toEqual([due!.id])
    }))

  it.scoped("dies naming the task when a stored row does not decode", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const { tasks: store } = yield* SqliteStore.make({ filename })
      const task = pendingTask()
      yield* store.insert(task)
      yield* withRawDatabase(filename, (db) => db.prepare("UPDATE tasks SET task = ? WHERE id = ?").run('{"_tag":"pending"}', task.id))
      const message = yield* defectMessage(store.get(task.id))
      expect(message).toContain(`stored task ${task.id} does not decode as a Task`)
      expect(yield* defectMessage(store.active)).toContain(task.id)
    }))

  it.scoped("makes the data dir and keeps the database in it as identify-face.db", () =>
    Effect.gen(function* () {
      const dataDir = join(yield* tempDir("sqlite"), "nested", "data")
      const task = pendingTask()
      yield* Effect.scoped(Effect.flatMap(SqliteStore.make({ dataDir }), ({ tasks }) => tasks.insert(task)))
      const found = yield* withStores(join(dataDir, "identify-face.db"), ({ tasks }) => tasks.get(task.id))
      expect(found).toEqual(Option.some(task))
    }))
})

describe("SqliteStore migrations", () => {
  const versions = (filename: string) =>
    withRawDatabase(filename, (db) => db.prepare("SELECT version FROM migrations ORDER BY version").pluck().all())
  const allVersions = migrations.map((migration) => migration.version)

  it.scoped("applies each migration once, however often the database opens", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      for (let open = 0; open < 3; open++) yield* withStores(filename, () => Effect.void)
      expect(yield* versions(filename)).toEqual(allVersions)
    }))

  it.scoped("brings a file of an older version up to date, keeping its tasks", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const task = pendingTask()
      // A file of version 1 holding a task: the task's row as this version writes it, the later tables gone.
      yield* withStores(filename, (stores) => stores.tasks.insert(task))
      yield* withRawDatabase(filename, (db) => {
        db.exec("DROP TABLE idempotency_keys; DROP TABLE webhook_outbox; DELETE FROM migrations WHERE version > 1")
      })
      expect(yield* versions(filename)).toEqual([1])
      const found = yield* withStores(filename, (stores) =>
        Effect.zipLeft(stores.tasks.get(task.id), stores.idempotency.once({ tenant: tenant.id, key: "k", fingerprint: "f" }, Effect.succeed(task.id)))
      )
      expect(found).toEqual(Option.some(task))
      expect(yield* versions(filename)).toEqual(allVersions)
    }))

  it.scoped("refuses a file of a newer version", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      yield* withStores(filename, () => Effect.void)
      yield* withRawDatabase(filename, (db) => db.prepare("INSERT INTO migrations (version, applied_at) VALUES (99, 0)").run())
      expect(yield* defectMessage(withStores(filename, () => Effect.void))).toContain("schema version 99, newer than this version knows")
    }))
})

describe("SqliteStore idempotency", () => {
  const scope = { tenant: tenant.id, key: "order-7", fingerprint: "body-1" }

  /** A create that takes a second and counts its runs. */
  const countingCreate = () => {
    const counts = { runs: 0 }
    const create = Effect.sync(() => counts.runs++).pipe(Effect.zipRight(Effect.sleep("1 second")), Effect.map(makeTaskId))
    return { create, counts }
  }

  it.scoped("runs concurrent duplicates once, all answering its task, and refuses another body meanwhile", () =>
    Effect.gen(function* () {
      const { idempotency } = yield* SqliteStore.make({ filename: yield* databaseFile })
      const { create, counts } = countingCreate()
      const duplicates = yield* Effect.fork(Effect.all(Array.from({ length: 5 }, () => idempotency.once(scope, create)), { concurrency: "unbounded" }))
      yield* TestClock.adjust("500 millis")
      const other = yield* idempotency.once({ ...scope, fingerprint: "body-2" }, create).pipe(Effect.flip)
      expect(other).toMatchObject({ _tag: "IdempotencyMismatchError", status: 422 })
      yield* TestClock.adjust("500 millis")
      expect(new Set(yield* Fiber.join(duplicates)).size).toBe(1)
      expect(counts.runs).toBe(1)
    }))

  it.scoped("answers the same task after a restart, and 422 for another body", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const first = yield* withStores(filename, ({ idempotency }) => idempotency.once(scope, Effect.sync(makeTaskId)))
      const refuse = Effect.dieMessage("a repeat must not create")
      const again = yield* withStores(filename, ({ idempotency }) => idempotency.once(scope, refuse))
      expect(again).toBe(first)
      const other = yield* withStores(filename, ({ idempotency }) => Effect.flip(idempotency.once({ ...scope, fingerprint: "body-2" }, refuse)))
      expect(other._tag).toBe("IdempotencyMismatchError")
    }))

  it.scoped("keeps keys apart per tenant", () =>
    Effect.gen(function* () {
      const { idempotency } = yield* SqliteStore.make({ filename: yield* databaseFile })
      const mine = yield* idempotency.once(scope, Effect.sync(makeTaskId))
      const theirs = yield* idempotency.once({ ...scope, tenant: "tenant_b", fingerprint: "other" }, Effect.sync(makeTaskId))
      expect(theirs).not.toBe(mine)
    }))

  it.scoped("forgets a key whose create failed or was interrupted", () =>
    Effect.gen(function* () {
      const { idempotency } = yield* SqliteStore.make({ filename: yield* databaseFile })
      expect(yield* Effect.flip(idempotency.once(scope, Effect.fail("refused" as const)))).toBe("refused")
      const { create } = countingCreate()
      const interrupted = yield* Effect.fork(idempotency.once({ ...scope, fingerprint: "body-2" }, create))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(interrupted)
      const retried = yield* Effect.fork(idempotency.once({ ...scope, fingerprint: "body-3" }, create))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(retried)).toMatch(/^task_/)
    }))

  it.scoped("forgets a key a day after its task was created, and deletes the expired row", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const { idempotency } = yield* SqliteStore.make({ filename })
      const first = yield* idempotency.once(scope, Effect.sync(makeTaskId))
      yield* TestClock.adjust("23 hours")
      expect(yield* idempotency.once(scope, Effect.sync(makeTaskId))).toBe(first)
      yield* TestClock.adjust("1 hour")
      const second = yield* idempotency.once({ ...scope, fingerprint: "body-2" }, Effect.sync(makeTaskId))
      expect(second).not.toBe(first)
      const rows = yield* withRawDatabase(filename, (db) => db.prepare("SELECT task_id FROM idempotency_keys").pluck().all())
      expect(rows).toEqual([second])
    }))
})

describe("SqliteStore with the engine across a restart", () => {
  /** Core's engine over the SQLite store at `filename`, the given uploads and analyzer. */
  const engineLayer = (filename: string, uploads: VideoStore.VideoStoreService, analyze: FaceAnalyzerService["analyze"]) =>
    TaskEngine.layer.pipe(
      Layer.provide(VideoSource.layer()),
      Layer.provide(
        Layer.mergeAll(
          Config.layer(),
          SqliteStore.layer({ filename }),
          Layer.succeed(VideoStore.VideoStore, uploads),
          ArtifactStore.layerMemory,
          Pricing.layerFree,
          Layer.succeed(FaceAnalyzer, { analyze })
        )
      )
    )

  /** Starts the engine in a scope of its own, closed by the caller: a process that can be stopped. */
  const startEngine = (layer: Layer.Layer<TaskEngine.TaskEngine>) =>
    Effect.gen(function* () {
      const process = yield* Scope.make()
      const context = yield* Layer.buildWithScope(layer, process)
      return { engine: Context.get(context, TaskEngine.TaskEngine), stop: Scope.close(process, Exit.void) }
    })

  const findsOneFace: FaceAnalyzerService["analyze"] = (_, onProgress) =>
    Effect.as(onProgress(0.5), {
      metadata: { duration_ms: 14_000, width: 1920, height: 1080, fps: 30, format: "mp4" },
      faces: [{ startMs: 0, endMs: 5200, image: new Uint8Array([0xff, 0xd8, 0xff]) }],
      timings: { analyze: 1 }
    })

  it.scopedLive("finishes after a restart a task whose run a shutdown stopped", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const uploads = yield* VideoStore.makeMemory
      const upload = yield* uploads.put(Stream.make(new Uint8Array([1, 2, 3])), { tenant: tenant.id, maxBytes: 1024, expiresAt: Date.now() + DAY })
      const running = yield* Deferred.make<void>()
      const first = yield* startEngine(
        engineLayer(filename, uploads, (_, onProgress) => onProgress(0.3).pipe(Effect.zipRight(Deferred.succeed(running, undefined)), Effect.zipRight(Effect.never)))
      )
      const submitted = yield* first.engine.submit(tenant, { model: MODEL, video: { _tag: "VideoId", id: upload.id } })
      yield* Deferred.await(running)
      yield* first.stop

      const stopped = yield* withStores(filename, ({ tasks }) => tasks.get(submitted.id))
      expect(Option.map(stopped, (task) => [task._tag, task.attempts])).toEqual(Option.some(["pending", 1]))

      const second = yield* startEngine(engineLayer(filename, uploads, findsOneFace))
      const finished = yield* second.engine.get(tenant, submitted.id).pipe(
        Effect.repeat(Schedule.recurUntil(Task.isFinished).pipe(Schedule.addDelay(() => "10 millis"))),
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "the task did not finish after the restart" })
      )
      yield* second.stop
      expect(finished).toMatchObject({ _tag: "completed", attempts: 2, result: { faces: [{ faceId: "0", startMs: 0, endMs: 5200 }] } })
    }))

  it.scopedLive("fails with 014002099 a task that was cut short twice", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const now = Date.now()
      const twice = Task.start(Task.start(pendingTask({ createdAt: now, updatedAt: now, expiresAt: now + DAY }), now), now)
      yield* withStores(filename, ({ tasks }) => keep(tasks, twice))
      const uploads = yield* VideoStore.makeMemory
      const { engine, stop } = yield* startEngine(engineLayer(filename, uploads, () => Effect.dieMessage("a third run must not start")))
      const task = yield* engine.get(tenant, twice.id)
      yield* stop
      expect(task).toMatchObject({ _tag: "failed", attempts: 2, error: { code: "014002099" } })
    }))
})

describe("SqliteStore webhook outbox", () => {
  const ended = () => {
    const running = Task.start(pendingTask({ callbackUrl: "https://hooks.example.com/done" }), NOW + 1)
    return Task.fail(running, new UnsupportedResolutionError({ message: "resolution 640x480 is not 720p or 1080p" }), NOW + 2)
  }
  const rowsOf = (filename: string) =>
    withRawDatabase(filename, (db) => db.prepare("SELECT task_id, due_at, attempts, claim FROM webhook_outbox ORDER BY task_id").all())

  it.scoped("owes a callback from the write that ends a task with a callback_url, once, and forgets it with the task", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const { outbox, tasks } = yield* SqliteStore.make({ filename })
      const failed = ended()
      const cancelled = Task.cancel(pendingTask({ callbackUrl: "https://hooks.example.com/done" }), NOW + 3)
      yield* keep(tasks, Task.start(pendingTask({ id: failed.id, callbackUrl: "https://hooks.example.com/done" }), NOW + 1))
      yield* keep(tasks, Task.complete(Task.start(pendingTask(), NOW), { faces: [], usage: { cost: "0", discount: 0 }, unitDeduction: "1" }, NOW + 1))
      expect(yield* outbox.due(NOW + DAY, 10)).toEqual([])

      yield* tasks.modify(failed.id, () => Either.right(failed))
      yield* keep(tasks, cancelled)
      // A later write to an ended task owes nothing more.
      yield* tasks.modify(failed.id, (task) => Either.right({ ...task, updatedAt: NOW + 9 }))
      expect(yield* rowsOf(filename)).toEqual(
        [
          { task_id: failed.id, due_at: NOW + 2, attempts: 0, claim: null },
          { task_id: cancelled.id, due_at: NOW + 3, attempts: 0, claim: null }
        ].sort((a, b) => a.task_id.localeCompare(b.task_id))
      )
      expect(yield* outbox.due(NOW + 2, 10)).toEqual([failed.id])

      yield* tasks.remove(failed.id)
      expect(yield* outbox.due(NOW + DAY, 10)).toEqual([cancelled.id])
    }))

  it.scoped("lets one token at a time hold a callback, counting the attempts, and settles it", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const { outbox, tasks } = yield* SqliteStore.make({ filename })
      const task = ended()
      yield* keep(tasks, task)
      expect(yield* outbox.claim(task.id, "a", NOW + 2, NOW + 1000)).toBe(1)
      expect(yield* outbox.claim(task.id, "b", NOW + 2, NOW + 1000)).toBe(0)
      expect(yield* outbox.due(NOW + 999, 10)).toEqual([])
      expect(yield* outbox.renew(task.id, "b", NOW + 5000)).toBe(false)
      expect(yield* outbox.renew(task.id, "a", NOW + 5000)).toBe(true)
      // Its claim ran out: another takes it over, and the first can no longer settle it.
      expect(yield* outbox.claim(task.id, "b", NOW + 5000, NOW + 6000)).toBe(2)
      expect(yield* outbox.settle(task.id, "a", {})).toBe(false)
      expect(yield* outbox.settle(task.id, "b", { retryAt: NOW + 7000 })).toBe(true)
      expect(yield* outbox.due(NOW + 6999, 10)).toEqual([])
      expect(yield* outbox.claim(task.id, "c", NOW + 7000, NOW + 8000)).toBe(3)
      // Handed back uncounted: the next attempt is the third again.
      expect(yield* outbox.settle(task.id, "c", { retryAt: NOW + 7000, refund: true })).toBe(true)
      expect(yield* outbox.claim(task.id, "d", NOW + 7000, NOW + 8000)).toBe(3)
      expect(yield* outbox.settle(task.id, "d", {})).toBe(true)
      expect(yield* rowsOf(filename)).toEqual([])
    }))

  it.scopedLive("makes a callback claimed by a killed process due when the file opens again, its attempt counted", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const task = ended()
      yield* withStores(filename, ({ outbox, tasks }) =>
        Effect.zipRight(keep(tasks, task), outbox.claim(task.id, "killed", NOW + 2, Number.MAX_SAFE_INTEGER))
      )
      const { outbox } = yield* SqliteStore.make({ filename })
      expect(yield* outbox.due(Date.now(), 10)).toEqual([task.id])
      expect(yield* outbox.claim(task.id, "next", Date.now(), Date.now() + 1000)).toBe(2)
    }))
})

describe("SqliteStore webhook outbox with core's deliverer", () => {
  const PUBLIC_URL = "https://api.example.com"
  const SECRET = Webhooks.generateSecret()

  /** A receiver for the length of the scope. */
  const receiver = (answer: (id: string, nth: number) => Answer) =>
    Effect.acquireRelease(Effect.promise(() => startReceiver(answer)), (started) => Effect.promise(() => started.close()))

  /** Core's deliverer over the outbox of `filename`, in a scope of its own closed by the caller: a process that can be stopped. */
  const startDeliverer = (filename: string, host: string, retryDelays: ReadonlyArray<Duration.DurationInput>) =>
    Effect.gen(function* () {
      const allowHost = (candidate: string) => candidate === host
      const process = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        WebhookOutbox.layer({ secret: SECRET, retryDelays, pollInterval: "50 millis", allowHost }).pipe(
          Layer.provide(WebhookSender.layer({ allowHost })),
          Layer.provide(Config.layer({ publicUrl: PUBLIC_URL })),
          Layer.provideMerge(SqliteStore.layer({ filename }))
        ),
        process
      )
      return { tasks: Context.get(context, TaskStore), notifier: Context.get(context, TaskNotifier), stop: Scope.close(process, Exit.void) }
    })

  /** Ends a task with a callback to `url` as the engine does: the final write, then the notifier. */
  const endTask = (tasks: TaskStoreService, notifier: TaskNotifierService, url: string) =>
    Effect.gen(function* () {
      const now = Date.now()
      const running = Task.start(pendingTask({ callbackUrl: url, createdAt: now, updatedAt: now, expiresAt: now + DAY }), now)
      const task = Task.complete(
        running,
        { faces: [{ faceId: "0", imageKey: makeFileKey(), startMs: 0, endMs: 5200 }], usage: { cost: "0.0000", discount: 0 }, unitDeduction: "1" },
        now
      )
      yield* keep(tasks, task)
      yield* notifier.finished(task)
      return task
    })

  it.scopedLive("delivers a callback byte for byte as core's in-memory delivery, retried with the same webhook-id", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const callbacks = yield* receiver((_id, nth) => (nth === 1 ? "fail" : "ok"))
      const { notifier, tasks } = yield* startDeliverer(filename, callbacks.host, ["300 millis"])
      const task = yield* endTask(tasks, notifier, callbacks.url)
      const received = yield* Effect.promise(() => callbacks.waitFor((all) => all.some((one) => one.answer === "ok")))
      expect(received.map((one) => [one.id, one.answer])).toEqual([[task.id, "fail"], [task.id, "ok"]])

      // What the embedded server sent before the outbox: core's in-memory delivery of the same task.
      const memory = yield* Webhooks.make({ secret: SECRET, allowHost: (host) => host === callbacks.host }).pipe(
        Effect.provide(Layer.merge(WebhookSender.layer({ allowHost: (host) => host === callbacks.host }), Config.layer({ publicUrl: PUBLIC_URL })))
      )
      yield* memory.finished(task)
      const [inMemory] = yield* Effect.promise(() => callbacks.waitFor((all) => all.length === 3)).pipe(Effect.map((all) => all.slice(2)))
      expect(received[1]!.body).toBe(inMemory!.body)
      expect(received[1]!.body).toBe(JSON.stringify(toTaskObject(task, fileUrlAt(PUBLIC_URL))))
      const secret = yield* Webhooks.tenantSecret(SECRET, tenant.id)
      for (const one of received) {
        expect(yield* Client.verifyWebhook({ headers: one.headers, body: one.body }, secret)).toMatchObject({ id: task.id, status: "completed" })
      }
      yield* Effect.sleep("400 millis")
      expect(callbacks.received()).toHaveLength(3)
    }))

  it.scopedLive("makes after a restart the retry that was waiting at the stop, on schedule, with the same webhook-id", () =>
    Effect.gen(function* () {
      const filename = yield* databaseFile
      const callbacks = yield* receiver((_id, nth) => (nth === 1 ? "fail" : "ok"))
      const first = yield* startDeliverer(filename, callbacks.host, ["2 seconds"])
      const task = yield* endTask(first.tasks, first.notifier, callbacks.url)
      const [failed] = yield* Effect.promise(() => callbacks.waitFor((all) => all.length === 1))
      const failedAt = Date.now()
      type OwedRow = { readonly attempts: number; readonly claim: string | null; readonly due_at: number } | undefined
      const owedRow = withRawDatabase(filename, (db): OwedRow =>
        db.prepare<[], NonNullable<OwedRow>>("SELECT attempts, claim, due_at FROM webhook_outbox").get()
      )
      // Stopped once the failed attempt is settled, while its retry waits.
      const owed = yield* owedRow.pipe(Effect.repeat(Schedule.recurUntil((row: OwedRow) => row?.claim === null).pipe(Schedule.addDelay(() => "20 millis"))))
      yield* first.stop
      expect(yield* owedRow).toEqual(owed)
      expect(owed).toMatchObject({ attempts: 1, claim: null })
      expect(owed!.due_at - failedAt).toBeGreaterThan(1000)

      yield* startDeliverer(filename, callbacks.host, ["2 seconds"])
      const received = yield* Effect.promise(() => callbacks.waitFor((all) => all.length === 2))
      expect(Date.now()).toBeGreaterThanOrEqual(owed!.due_at)
      expect(received.map((one) => [one.id, one.answer])).toEqual([[task.id, "fail"], [task.id, "ok"]])
      expect(received[1]!.body).toBe(failed!.body)
    }))
})

// Polls read a task far more often than it changes: the task store decodes a task again only when
// its stored JSON changed, whoever changed it.
describe("SqliteStore task reads", () => {
  it.scoped("answer the task decoded before while it is unchanged, and the new one once another connection changed it", () =>
    Effect.gen(function* () {
      const filename = join(yield* tempDir("sqlite-reads"), "identify-face.db")
      // Two connections to one file, as a restarted process beside a running one would be.
      const reader = (yield* SqliteStore.make({ filename })).tasks
      const writer = (yield* SqliteStore.make({ filename })).tasks
      const task = pendingTask()
      yield* writer.insert(task)
      const first = Option.getOrThrow(yield* reader.get(task.id))
      expect(first).toEqual(task)
      expect(Option.getOrThrow(yield* reader.get(task.id))).toBe(first)

      const started: Task.Task = { ...task, _tag: "processing", progress: 0.5, updatedAt: NOW + 1000, attempts: 1 }
      yield* writer.modify(task.id, () => Either.right(started))
      expect(yield* reader.get(task.id)).toEqual(Option.some(started))
      yield* writer.remove(task.id)
      expect(yield* reader.get(task.id)).toEqual(Option.none())
    }))
})
