/**
 * An API node's engine and workers in this process, on one Redis prefix: what the in-process
 * tests of the queue and the worker run on.
 */
import * as Distributed from "@identify-face/bullmq/Distributed"
import type { WorkerOptions } from "@identify-face/bullmq/Worker"
import { ArtifactStore } from "@identify-face/core/ArtifactStore"
import * as Config from "@identify-face/core/Config"
import { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import type { FaceAnalyzerService } from "@identify-face/core/FaceAnalyzer"
import * as Pricing from "@identify-face/core/Pricing"
import * as TaskEngine from "@identify-face/core/TaskEngine"
import { TaskQueue } from "@identify-face/core/TaskQueue"
import { TaskStore } from "@identify-face/core/TaskStore"
import { VideoStore } from "@identify-face/core/VideoStore"
import * as TestVideoSource from "@identify-face/testing/TestVideoSource"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import { REDIS_URL } from "./redis.js"

/** The services of an API node, to look into. */
export const startApi = (prefix: string, options: Omit<Distributed.ApiOptions, "url" | "prefix"> = {}) =>
  Effect.map(
    Layer.build(
      TaskEngine.layerOver.pipe(
        Layer.provideMerge(Distributed.layerApi({ ...options, url: REDIS_URL, prefix })),
        Layer.provideMerge(Config.layer())
      )
    ),
    (context) => ({
      engine: Context.get(context, TaskEngine.TaskEngine),
      tasks: Context.get(context, TaskStore),
      queue: Context.get(context, TaskQueue),
      uploads: Context.get(context, VideoStore),
      artifacts: Context.get(context, ArtifactStore)
    })
  )

/**
 * Runs a worker with this analyzer for the length of the scope, logging only warnings; `video_url`s
 * serve their own text. `options` adds to its layer's, e.g. `webhooks`.
 */
export const startWorker = (
  prefix: string,
  analyzer: FaceAnalyzerService,
  worker: WorkerOptions = {},
  options: Omit<Distributed.WorkerLayerOptions, "url" | "prefix" | "worker"> = {}
): Effect.Effect<void, unknown, Scope.Scope> =>
  Effect.asVoid(
    Layer.build(
      Distributed.layerWorker({ videoSource: { fetchUrl: TestVideoSource.make() }, ...options, url: REDIS_URL, prefix, worker }).pipe(
        Layer.provide(Layer.succeed(FaceAnalyzer, analyzer)),
        Layer.provide(Pricing.layerFree)
      )
    ).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))
  )

/** Reads every 20 ms until `done` holds of what `read` answers, for at most `timeout`; answers that. */
export const eventually = <A, E, R>(read: Effect.Effect<A, E, R>, done: (value: A) => boolean, timeout: Duration.DurationInput = "10 seconds") => {
  const poll: Effect.Effect<A, E, R> = Effect.flatMap(read, (value) => (done(value) ? Effect.succeed(value) : Effect.zipRight(Effect.sleep("20 millis"), poll)))
  return poll.pipe(
    Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error(`not done within ${Duration.format(Duration.decode(timeout))}`) })
  )
}
