/**
 * The engine: accepts tasks, answers them to their tenant only, cancels them and deletes expired
 * sessions; it never loses one. Runs happen through a {@link TaskQueue.TaskQueue} (in this process
 * by default) and a {@link TaskRunner.TaskRunner}. A `callback_url` is checked by the
 * {@link TaskNotifier}, which also hears of a cancel.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { ArtifactStore } from "./ArtifactStore.js"
import type { Tenant } from "./Authenticator.js"
import { Config } from "./Config.js"
import type { TaskInput } from "./CreateRequest.js"
import { ConflictError, NotFoundError } from "./Errors.js"
import type { VideoNotFoundError, VideoUrlRefusedError } from "./Errors.js"
import type { FaceAnalyzer } from "./FaceAnalyzer.js"
import { isTaskId, makeRequestId, makeSessionId, makeTaskId } from "./Ids.js"
import type { Pricing } from "./Pricing.js"
import * as Task from "./Task.js"
import { TaskNotifier } from "./TaskNotifier.js"
import * as TaskQueue from "./TaskQueue.js"
import { TaskQueue as TaskQueueTag } from "./TaskQueue.js"
import * as TaskRunner from "./TaskRunner.js"
import { update } from "./TaskRunner.js"
import { TaskStore } from "./TaskStore.js"
import { VideoSource } from "./VideoSource.js"
import { VideoStore } from "./VideoStore.js"

/** The engine's operations, for one tenant at a time. */
export interface TaskEngineService {
  /** Checks the video reference and the callback URL, then keeps and queues a new task. */
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

const taskNotFound = (id: string) =>
  new NotFoundError({ message: isTaskId(id) ? `task ${id} not found` : "not a task id of this service" })

/**
 * Builds the engine over a task queue: it accepts, reads and cancels tasks, and sweeps expired
 * sessions; the queue decides where runs happen.
 */
export const makeOver: Effect.Effect<
  TaskEngineService,
  never,
  Scope.Scope | Config | TaskStore | TaskQueueTag | VideoSource | VideoStore | ArtifactStore
> = Effect.gen(function* () {
  const config = yield* Config
  const store = yield* TaskStore
  const queue = yield* TaskQueueTag
  const source = yield* VideoSource
  const uploads = yield* VideoStore
  const artifacts = yield* ArtifactStore
  const notifier = yield* TaskNotifier

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
      yield* queue.stop(task.id)
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
        if (input.callbackUrl !== undefined) yield* notifier.checkCallbackUrl(input.callbackUrl)
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
        yield* queue.enqueue(task.id)
        return task
      }),
    get: owned,
    cancel: (tenant, id) =>
      Effect.gen(function* () {
        const task = yield* owned(tenant, id)
        const cancelled = yield* update(store, task.id, (current, now) =>
          current._tag === "pending" || current._tag === "processing" ? Task.cancel(current, now) : undefined
        )
        if (Option.isNone(cancelled) || cancelled.value._tag !== "cancelled") {
          return yield* Effect.fail(new ConflictError({ message: `task ${task.id} has already finished` }))
        }
        yield* notifier.finished(cancelled.value)
        yield* queue.stop(task.id)
        return cancelled.value
      }),
    sweep
  } satisfies TaskEngineService
})

/** The engine with tasks run in this process (see {@link TaskQueue.makeLocal}). */
export const make: Effect.Effect<
  TaskEngineService,
  never,
  Scope.Scope | Config | TaskStore | VideoSource | VideoStore | FaceAnalyzer | ArtifactStore | Pricing
> = Effect.gen(function* () {
  const runner = yield* TaskRunner.make
  const queue = yield* TaskQueue.makeLocal.pipe(Effect.provideService(TaskRunner.TaskRunner, runner))
  return yield* makeOver.pipe(Effect.provideService(TaskQueue.TaskQueue, queue))
})

/** The engine with tasks run in this process, as a layer. */
export const layer: Layer.Layer<
  TaskEngine,
  never,
  Config | TaskStore | VideoSource | VideoStore | FaceAnalyzer | ArtifactStore | Pricing
> = Layer.scoped(TaskEngine, make)

/** The engine over a {@link TaskQueue} the host provides, e.g. a distributed one. */
export const layerOver: Layer.Layer<
  TaskEngine,
  never,
  Config | TaskStore | TaskQueue.TaskQueue | VideoSource | VideoStore | ArtifactStore
> = Layer.scoped(TaskEngine, makeOver)
