/**
 * The engine: accepts tasks, runs them with bounded concurrency and never loses one. A run that
 * fails ends `failed` with its code, a defect with 014002095, a timeout with 014002099; a run
 * stopped by a shutdown goes back to `pending`, and a run a crash cut short is retried once.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { ArtifactStore } from "./ArtifactStore.js"
import type { Tenant } from "./Authenticator.js"
import { Config } from "./Config.js"
import type { TaskInput } from "./CreateRequest.js"
import { ConflictError, InternalGenerationError, NotFoundError, TaskInterruptedError } from "./Errors.js"
import type { IdentifyFaceError, TaskError, VideoNotFoundError, VideoUrlRefusedError } from "./Errors.js"
import { FaceAnalyzer } from "./FaceAnalyzer.js"
import { isTaskId, makeRequestId, makeSessionId, makeTaskId } from "./Ids.js"
import type { TaskId } from "./Ids.js"
import { Pricing } from "./Pricing.js"
import * as Task from "./Task.js"
import { TaskStore } from "./TaskStore.js"
import { VideoSource } from "./VideoSource.js"
import { VideoStore } from "./VideoStore.js"

/** The engine's operations, for one tenant at a time. */
export interface TaskEngineService {
  /** Checks the video reference, then keeps and queues a new task. */
  readonly submit: (tenant: Tenant, input: TaskInput) => Effect.Effect<Task.Task, VideoNotFoundError | VideoUrlRefusedError>
  /** The tenant's task; another tenant's, or a malformed id, is 404. */
  readonly get: (tenant: Tenant, id: string) => Effect.Effect<Task.Task, NotFoundError>
  /** Cancels a task that has not finished; a finished one is 409. */
  readonly cancel: (tenant: Tenant, id: string) => Effect.Effect<Task.Task, NotFoundError | ConflictError>
  /** Deletes the tasks, uploads and screenshots whose session expired; never a running task. */
  readonly sweep: Effect.Effect<number>
}

/** The engine in use. */
export class TaskEngine extends Context.Tag("@identify-face/core/TaskEngine")<TaskEngine, TaskEngineService>() {}

/** A retried run that is cut short again ends the task with 014002099. */
const MAX_ATTEMPTS = 2

const taskNotFound = (id: string) =>
  new NotFoundError({ message: isTaskId(id) ? `task ${id} not found` : "not a task id of this service" })

/** What a run's failure ends the task with. */
const toTaskError = (error: TaskError | NotFoundError): IdentifyFaceError =>
  error._tag === "NotFoundError" ? new InternalGenerationError({ message: error.message }) : error

/** Builds the engine; its runners and sweeper live as long as the scope. */
export const make: Effect.Effect<
  TaskEngineService,
  never,
  Scope.Scope | Config | TaskStore | VideoSource | VideoStore | FaceAnalyzer | ArtifactStore | Pricing
> = Effect.gen(function* () {
  const config = yield* Config
  const store = yield* TaskStore
  const source = yield* VideoSource
  const uploads = yield* VideoStore
  const analyzer = yield* FaceAnalyzer
  const artifacts = yield* ArtifactStore
  const pricing = yield* Pricing
  const runs = yield* FiberMap.make<TaskId>()
  const permits = yield* Effect.makeSemaphore(config.concurrency)

  const update = (id: TaskId, f: (task: Task.Task, now: number) => Task.Task | undefined) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      store.modify(id, (task) => {
        const next = f(task, now)
        return next === undefined ? Either.left("unchanged" as const) : Either.right(next)
      })
    ).pipe(Effect.option, Effect.map(Option.flatten))

  const whileProcessing = (f: (task: Task.ProcessingTask, now: number) => Task.Task) => (task: Task.Task, now: number) =>
    task._tag === "processing" ? f(task, now) : undefined

  const finishWith = (id: TaskId, error: IdentifyFaceError) =>
    update(id, (task, now) => (task._tag === "pending" || task._tag === "processing" ? Task.fail(task, error, now) : undefined))

  const analyse = (task: Task.ProcessingTask) =>
    Effect.gen(function* () {
      const fetchStarted = yield* Clock.currentTimeMillis
      const video = yield* source.open(task.tenant, task.video, fetchStarted)
      const fetched = yield* Clock.currentTimeMillis
      const analysis = yield* analyzer.analyze(video, (progress) =>
        Effect.asVoid(update(task.id, whileProcessing((current, now) => Task.advance(current, progress, now))))
      )
      yield* update(task.id, whileProcessing((current, now) =>
        Task.describe(current, analysis.metadata, { fetch: fetched - fetchStarted, ...analysis.timings }, now)
      ))
      const faces = yield* Effect.forEach(analysis.faces, (face, index) =>
        Effect.map(
          artifacts.put(task.sessionId, { bytes: face.image, contentType: "image/jpeg", expiresAt: task.expiresAt }),
          (imageKey): Task.TaskFace => ({ faceId: String(index), imageKey, startMs: face.startMs, endMs: face.endMs })
        )
      )
      const price = yield* pricing.price(task.tenant, analysis)
      yield* update(task.id, whileProcessing((current, now) =>
        Task.complete(current, { faces, usage: price.usage, unitDeduction: price.unitDeduction }, now)
      ))
    }).pipe(Effect.scoped)

  const run = (id: TaskId) =>
    Effect.gen(function* () {
      const started = yield* update(id, (task, now) =>
        task._tag === "pending" || task._tag === "processing" ? Task.start(task, now) : undefined
      )
      if (Option.isNone(started) || started.value._tag !== "processing") return
      const task = started.value
      yield* analyse(task).pipe(
        Effect.timeoutFail({
          duration: config.taskTimeout,
          onTimeout: () =>
            new TaskInterruptedError({ message: `the analysis took longer than ${Duration.format(config.taskTimeout)}` })
        }),
        Effect.catchAll((error) => finishWith(id, toTaskError(error))),
        Effect.catchAllDefect(() => finishWith(id, new InternalGenerationError({ message: "the analysis failed" }))),
        Effect.onInterrupt(() => update(id, whileProcessing(Task.requeue)))
      )
    })

  const enqueue = (id: TaskId) => FiberMap.run(runs, id, permits.withPermits(1)(run(id)), { onlyIfMissing: true })

  // Resume what a previous process left: pending tasks run, a cut-short run is retried once.
  for (const task of yield* store.active) {
    if (task._tag === "processing" && task.attempts >= MAX_ATTEMPTS) {
      yield* finishWith(task.id, new TaskInterruptedError({ message: "the analysis was interrupted twice" }))
    } else {
      yield* enqueue(task.id)
    }
  }

  const owned = (tenant: Tenant, id: string) =>
    (isTaskId(id) ? store.get(id) : Effect.succeedNone).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.fail(taskNotFound(id)),
        onSome: (task) => (task.tenant === tenant.id ? Effect.succeed(task) : Effect.fail(taskNotFound(id)))
      }))
    )

  const sweep = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const expired = (yield* store.expired(now)).filter((task) => task._tag !== "processing")
    for (const task of expired) {
      yield* FiberMap.remove(runs, task.id)
      yield* artifacts.removeSession(task.sessionId)
      yield* store.remove(task.id)
    }
    return expired.length + (yield* uploads.sweep(now))
  })

  yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(Duration.minutes(1))))

  return {
    submit: (tenant, input) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        yield* source.check(tenant.id, input.video, now)
        const task: Task.PendingTask = {
          _tag: "pending",
          id: makeTaskId(),
          tenant: tenant.id,
          model: input.model,
          video: input.video,
          ...(input.callbackUrl === undefined ? {} : { callbackUrl: input.callbackUrl }),
          requestId: makeRequestId(),
          sessionId: makeSessionId(),
          createdAt: now,
          updatedAt: now,
          expiresAt: now + Duration.toMillis(config.sessionTtl),
          attempts: 0
        }
        yield* store.insert(task)
        yield* enqueue(task.id)
        return task
      }),
    get: owned,
    cancel: (tenant, id) =>
      Effect.gen(function* () {
        const task = yield* owned(tenant, id)
        const cancelled = yield* update(task.id, (current, now) =>
          current._tag === "pending" || current._tag === "processing" ? Task.cancel(current, now) : undefined
        )
        if (Option.isNone(cancelled) || cancelled.value._tag !== "cancelled") {
          return yield* Effect.fail(new ConflictError({ message: `task ${task.id} has already finished` }))
        }
        yield* FiberMap.remove(runs, task.id)
        return cancelled.value
      }),
    sweep
  } satisfies TaskEngineService
})

/** The engine as a layer. */
export const layer: Layer.Layer<
  TaskEngine,
  never,
  Config | TaskStore | VideoSource | VideoStore | FaceAnalyzer | ArtifactStore | Pricing
> = Layer.scoped(TaskEngine, make)
