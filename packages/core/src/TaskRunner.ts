/**
 * Runs one task to its end, wherever runs happen (this process, or a worker of a distributed
 * queue). A run that fails ends `failed` with its code, a defect with 014002095, a timeout with
 * 014002099; a run that is interrupted (shutdown, a worker handing back) goes back to `pending`,
 * and a run whose task was cancelled meanwhile writes nothing. A task that ends is announced to
 * the {@link TaskNotifier} after its final write.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { ArtifactStore } from "./ArtifactStore.js"
import { Config } from "./Config.js"
import { InternalGenerationError, TaskInterruptedError } from "./Errors.js"
import type { IdentifyFaceError } from "./Errors.js"
import { FaceAnalyzer } from "./FaceAnalyzer.js"
import type { TaskId } from "./Ids.js"
import { Pricing } from "./Pricing.js"
import * as Task from "./Task.js"
import { TaskNotifier } from "./TaskNotifier.js"
import { TaskStore } from "./TaskStore.js"
import type { TaskStoreService } from "./TaskStore.js"
import { VideoSource } from "./VideoSource.js"

/** A retried run that is cut short again ends the task with 014002099. */
export const MAX_ATTEMPTS = 2

/** Runs tasks. */
export interface TaskRunnerService {
  /** Runs the task if it is pending (or was cut short), to completion, failure or hand-back. */
  readonly run: (id: TaskId) => Effect.Effect<void>
  /** Ends an active task with an error, e.g. one whose runs were cut short too often. */
  readonly fail: (id: TaskId, error: IdentifyFaceError) => Effect.Effect<void>
}

/** The task runner in use. */
export class TaskRunner extends Context.Tag("@identify-face/core/TaskRunner")<TaskRunner, TaskRunnerService>() {}

/**
 * Applies `f` to the stored task at the current time, atomically. `f` answers undefined to leave
 * the task as it is. Answers the new task when it changed.
 */
export const update = (
  store: TaskStoreService,
  id: TaskId,
  f: (task: Task.Task, now: number) => Task.Task | undefined
): Effect.Effect<Option.Option<Task.Task>> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    store.modify(id, (task) => {
      const next = f(task, now)
      return next === undefined ? Either.left("unchanged" as const) : Either.right(next)
    })
  ).pipe(Effect.option, Effect.map(Option.flatten))

const whileProcessing = (f: (task: Task.ProcessingTask, now: number) => Task.Task) => (task: Task.Task, now: number) =>
  task._tag === "processing" ? f(task, now) : undefined

/** Builds a runner over the stores, video source, analyzer and pricing. */
export const make: Effect.Effect<
  TaskRunnerService,
  never,
  Config | TaskStore | VideoSource | FaceAnalyzer | ArtifactStore | Pricing
> = Effect.gen(function* () {
  const config = yield* Config
  const store = yield* TaskStore
  const source = yield* VideoSource
  const analyzer = yield* FaceAnalyzer
  const artifacts = yield* ArtifactStore
  const pricing = yield* Pricing
  const notifier = yield* TaskNotifier

  /** Writes a task's final state and announces it, with no interruption between the two. */
  const finish = (id: TaskId, f: (task: Task.Task, now: number) => Task.Task | undefined) =>
    update(store, id, f).pipe(
      Effect.tap((changed) => (Option.isSome(changed) && Task.isFinished(changed.value) ? notifier.finished(changed.value) : Effect.void)),
      Effect.uninterruptible
    )

  const fail = (id: TaskId, error: IdentifyFaceError) =>
    Effect.asVoid(finish(id, (task, now) => (task._tag === "pending" || task._tag === "processing" ? Task.fail(task, error, now) : undefined)))

  const analyse = (task: Task.ProcessingTask) =>
    Effect.gen(function* () {
      const fetchStarted = yield* Clock.currentTimeMillis
      const video = yield* source.open(task.tenant, task.video, fetchStarted)
      const fetched = yield* Clock.currentTimeMillis
      const analysis = yield* analyzer.analyze(video, (progress) =>
        Effect.asVoid(update(store, task.id, whileProcessing((current, now) => Task.advance(current, progress, now))))
      )
      yield* update(store, task.id, whileProcessing((current, now) =>
        Task.describe(current, analysis.metadata, { fetch: fetched - fetchStarted, ...analysis.timings }, now)
      ))
      const faces = yield* Effect.forEach(analysis.faces, (face, index) =>
        Effect.map(
          artifacts.put(task.sessionId, { bytes: face.image, contentType: "image/jpeg", expiresAt: task.expiresAt }),
          (imageKey): Task.TaskFace => ({ faceId: String(index), imageKey, startMs: face.startMs, endMs: face.endMs })
        )
      )
      const price = yield* pricing.price(task.tenant, analysis)
      const completed = yield* finish(task.id, whileProcessing((current, now) =>
        Task.complete(current, { faces, usage: price.usage, unitDeduction: price.unitDeduction }, now)
      ))
      // Cancelled meanwhile: the screenshots belong to nobody.
      if (Option.isNone(completed)) yield* artifacts.removeSession(task.sessionId)
    }).pipe(Effect.scoped)

  const run = (id: TaskId) =>
    Effect.gen(function* () {
      const started = yield* update(store, id, (task, now) =>
        task._tag === "pending" || task._tag === "processing" ? Task.start(task, now) : undefined
      )
      if (Option.isNone(started) || started.value._tag !== "processing") return
      yield* analyse(started.value).pipe(
        Effect.timeoutFail({
          duration: config.taskTimeout,
          onTimeout: () =>
            new TaskInterruptedError({ message: `the analysis took longer than ${Duration.format(config.taskTimeout)}` })
        }),
        Effect.catchAll((error) => fail(id, error)),
        Effect.catchAllDefect(() => fail(id, new InternalGenerationError({ message: "the analysis failed" }))),
        Effect.onInterrupt(() => update(store, id, whileProcessing(Task.requeue)))
      )
    })

  return { run, fail }
})

/** The runner as a layer. */
export const layer: Layer.Layer<TaskRunner, never, Config | TaskStore | VideoSource | FaceAnalyzer | ArtifactStore | Pricing> =
  Layer.effect(TaskRunner, make)
