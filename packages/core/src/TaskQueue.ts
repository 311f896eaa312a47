/**
 * Where accepted tasks wait and who runs them. The default runs them in this process with
 * bounded concurrency; a distributed backend (e.g. `@identify-face/bullmq`) hands them to
 * workers anywhere.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { Config } from "./Config.js"
import { TaskInterruptedError } from "./Errors.js"
import type { TaskId } from "./Ids.js"
import { MAX_ATTEMPTS, TaskRunner } from "./TaskRunner.js"
import { TaskStore } from "./TaskStore.js"

/** A queue of tasks to run. */
export interface TaskQueueService {
  /** Queues a kept task; queuing one that is queued or running does nothing. */
  readonly enqueue: (id: TaskId) => Effect.Effect<void>
  /** Stops the task's run if it is queued or running (its state was already set to cancelled). */
  readonly stop: (id: TaskId) => Effect.Effect<void>
}

/** The task queue in use. */
export class TaskQueue extends Context.Tag("@identify-face/core/TaskQueue")<TaskQueue, TaskQueueService>() {}

/**
 * Runs tasks in this process, `concurrency` at a time, in the order they came. At start it
 * resumes what a previous process left: pending tasks run, a run cut short is retried once.
 * Closing the scope interrupts the runs, which hand their tasks back to `pending`.
 */
export const makeLocal: Effect.Effect<TaskQueueService, never, Scope.Scope | Config | TaskStore | TaskRunner> = Effect.gen(function* () {
  const config = yield* Config
  const store = yield* TaskStore
  const runner = yield* TaskRunner
  const runs = yield* FiberMap.make<TaskId>()
  const permits = yield* Effect.makeSemaphore(config.concurrency)
  const enqueue = (id: TaskId) => Effect.asVoid(FiberMap.run(runs, id, permits.withPermits(1)(runner.run(id)), { onlyIfMissing: true }))

  for (const task of yield* store.active) {
    if (task._tag === "processing" && task.attempts >= MAX_ATTEMPTS) {
      yield* runner.fail(task.id, new TaskInterruptedError({ message: "the analysis was interrupted twice" }))
    } else {
      yield* enqueue(task.id)
    }
  }

  return { enqueue, stop: (id) => FiberMap.remove(runs, id) }
})

/** The in-process queue as a layer. */
export const layerLocal: Layer.Layer<TaskQueue, never, Config | TaskStore | TaskRunner> = Layer.scoped(TaskQueue, makeLocal)
