/**
 * Core's {@link TaskQueue} for API nodes: a task becomes a BullMQ job (its id is the task's, so a
 * task is queued once however often it is enqueued) that a worker anywhere runs (see `Worker`).
 * Stopping a task removes its job if it is still waiting, and tells the worker running it to
 * stop, over a Redis channel every worker listens on.
 *
 * Nothing is lost between the store and the queue: at start and every minute, every unfinished
 * task is queued again, a no-op for those whose job exists.
 *
 * @since 0.1.0
 */
import { TaskQueue } from "@identify-face/core/TaskQueue"
import type { TaskQueueService } from "@identify-face/core/TaskQueue"
import { TaskStore } from "@identify-face/core/TaskStore"
import { Queue } from "bullmq"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { QUEUE_NAME } from "./internal/keys.js"
import { RedisConnection } from "./RedisConnection.js"

/** How often unfinished tasks are queued again, in case their job was lost. */
export const REQUEUE_INTERVAL = Duration.minutes(1)

/** The BullMQ queue of analysis runs on the shared connection; closed with the scope. */
export const make: Effect.Effect<TaskQueueService, never, Scope.Scope | RedisConnection | TaskStore> = Effect.gen(function* () {
  const { client, keys } = yield* RedisConnection
  const store = yield* TaskStore
  const queue = yield* Effect.acquireRelease(
    Effect.sync(() =>
      new Queue(QUEUE_NAME, {
        connection: client,
        prefix: keys.prefix,
        // The task in the store is the record; a finished job is only clutter.
        defaultJobOptions: { removeOnComplete: true, removeOnFail: true }
      })
    ),
    (queue) => Effect.promise(() => queue.close())
  )

  const enqueue: TaskQueueService["enqueue"] = (id) => Effect.promise(() => queue.add("run", {}, { jobId: id }))

  const requeueUnfinished = Effect.flatMap(store.active, (tasks) => Effect.forEach(tasks, (task) => enqueue(task.id), { discard: true }))
  yield* requeueUnfinished
  yield* Effect.forkScoped(
    Effect.repeat(requeueUnfinished.pipe(Effect.catchAllCause(Effect.logWarning)), Schedule.spaced(REQUEUE_INTERVAL))
  )

  return {
    enqueue,
    stop: (id) =>
      Effect.promise(async () => {
        await client.publish(keys.stopChannel, id)
        // A job a worker holds is not removed: the message above stops it.
        await queue.remove(id)
      })
  } satisfies TaskQueueService
})

/** The queue as a layer. */
export const layer: Layer.Layer<TaskQueue, never, RedisConnection | TaskStore> = Layer.scoped(TaskQueue, make)
