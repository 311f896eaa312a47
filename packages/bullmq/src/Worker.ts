/**
 * The analysis worker: a BullMQ worker whose jobs are core's {@link TaskRunner} runs, on any
 * machine that reaches the Redis the API nodes use.
 *
 * - A worker killed mid-task loses its job's lock; after `lockDuration` another worker's stalled
 *   check hands the job on and the task runs again. A task whose run was already cut short
 *   `MAX_ATTEMPTS` times ends failed with 014002099 instead, as in core's in-process queue.
 * - A stop published by an API node (a cancel) interrupts the run at once.
 * - Closing the worker (its scope) takes no more jobs and interrupts its runs, which hand their
 *   tasks back to `pending` and their jobs back to the queue, within `shutdownTimeout`; runs that
 *   do not end by then are left to the stalled check.
 *
 * @since 0.1.0
 */
import { Config } from "@identify-face/core/Config"
import { TaskInterruptedError } from "@identify-face/core/Errors"
import { isTaskId } from "@identify-face/core/Ids"
import type { TaskId } from "@identify-face/core/Ids"
import * as Task from "@identify-face/core/Task"
import { MAX_ATTEMPTS, TaskRunner } from "@identify-face/core/TaskRunner"
import { TaskStore } from "@identify-face/core/TaskStore"
import { WaitingError, Worker } from "bullmq"
import type { Job } from "bullmq"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as FiberMap from "effect/FiberMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import { QUEUE_NAME } from "./internal/keys.js"
import { RedisConnection } from "./RedisConnection.js"

/** Options of {@link runWorker}; tasks run `Config.concurrency` at a time. */
export interface WorkerOptions {
  /**
   * How long a job's lock lasts without renewal (renewed every half of it while the worker lives):
   * how soon a killed worker's task is taken over. Default 30 seconds.
   */
  readonly lockDuration?: Duration.DurationInput | undefined
  /** How often this worker looks for jobs whose worker died. Default 15 seconds. */
  readonly stalledInterval?: Duration.DurationInput | undefined
  /** How long closing waits for running tasks to be handed back. Default 10 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

const interruptedTwice = () => new TaskInterruptedError({ message: "the analysis was interrupted twice" })

const millis = (duration: Duration.DurationInput | undefined, fallback: Duration.Duration) =>
  Duration.toMillis(Duration.decode(duration ?? fallback))

/**
 * Runs a worker for the length of the scope and answers the BullMQ `Worker`, for its events.
 */
export const runWorker = (
  options: WorkerOptions = {}
): Effect.Effect<Worker, never, Scope.Scope | RedisConnection | Config | TaskRunner | TaskStore> =>
  Effect.gen(function* () {
    const { client, keys } = yield* RedisConnection
    const config = yield* Config
    const runner = yield* TaskRunner
    const store = yield* TaskStore
    const runtime = yield* Effect.runtime<never>()
    const runs = yield* FiberMap.make<TaskId>()
    let closing = false

    /** Runs the job's task; answers whether the task was handed back (and so the job must wait again). */
    const runJob = (id: TaskId): Effect.Effect<boolean> =>
      Effect.gen(function* () {
        if (closing) return true
        const task = yield* store.get(id)
        // A job re-queued after its task finished (or expired) has nothing left to run.
        if (Option.isNone(task) || Task.isFinished(task.value)) return false
        if (task.value._tag === "processing" && task.value.attempts >= MAX_ATTEMPTS) {
          yield* runner.fail(id, interruptedTwice())
          yield* Effect.logInfo(`identify-face worker: task ${id} failed, its runs were cut short ${MAX_ATTEMPTS} times`)
          return false
        }
        yield* Effect.logInfo(`identify-face worker: task ${id} taken`)
        yield* Fiber.await(yield* FiberMap.run(runs, id, runner.run(id)))
        const after = yield* store.get(id)
        const status = Option.match(after, { onNone: () => "gone", onSome: (current) => current._tag })
        yield* Effect.logInfo(`identify-face worker: task ${id} ${status === "pending" ? "handed back" : status}`)
        return status === "pending"
      })

    const processor = async (job: Job, token?: string) => {
      const id = job.id
      if (id === undefined || !isTaskId(id)) return
      if (await Runtime.runPromise(runtime)(runJob(id))) {
        await job.moveToWait(token)
        // Tells BullMQ the job was moved back to the queue, neither completed nor failed.
        throw new WaitingError()
      }
    }

    // Stops published by API nodes (cancels, expiry) interrupt the run of that task here, if any.
    yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const connection = client.duplicate()
        connection.on("message", (_channel: string, id: string) => {
          if (isTaskId(id)) Runtime.runFork(runtime)(FiberMap.remove(runs, id))
        })
        await connection.subscribe(keys.stopChannel)
        return connection
      }),
      (connection) => Effect.promise(() => connection.quit().catch(() => connection.disconnect()))
    )

    return yield* Effect.acquireRelease(
      Effect.sync(() => {
        const worker = new Worker(QUEUE_NAME, processor, {
          connection: client,
          prefix: keys.prefix,
          concurrency: config.concurrency,
          lockDuration: millis(options.lockDuration, Duration.seconds(30)),
          stalledInterval: millis(options.stalledInterval, Duration.seconds(15)),
          // The task's own attempts decide when it has been cut short too often; this only has to
          // let the job come back that often.
          maxStalledCount: MAX_ATTEMPTS
        })
        worker.on("error", (error) => Runtime.runFork(runtime)(Effect.logWarning("identify-face worker:", error)))
        return worker
      }),
      (worker) => {
        closing = true
        const closed = worker.close()
        return Effect.zipRight(FiberMap.clear(runs), Effect.promise(() => closed)).pipe(
          Effect.timeoutOption(millis(options.shutdownTimeout, Duration.seconds(10))),
          Effect.flatMap(Option.match({
            onNone: () => Effect.logWarning("identify-face worker: runs still going at the shutdown deadline are left to the stalled check"),
            onSome: () => Effect.void
          }))
        )
      }
    )
  })

/** A worker as a layer: it runs while the layer lives. */
export const layer = (options: WorkerOptions = {}): Layer.Layer<never, never, RedisConnection | Config | TaskRunner | TaskStore> =>
  Layer.scopedDiscard(runWorker(options))
