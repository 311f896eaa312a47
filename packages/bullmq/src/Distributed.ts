/**
 * The distributed setup in two layers over one Redis: API nodes accept and answer
 * ({@link layerApi}, for core's `Server.layerOver`), workers anywhere run the analyses
 * ({@link layerWorker}). Tasks, uploads, screenshots and idempotency keys are in Redis, so any
 * node answers for any task.
 *
 * @example
 * ```ts
 * import * as Distributed from "@identify-face/bullmq/Distributed"
 * import * as Authenticator from "@identify-face/core/Authenticator"
 * import * as Server from "@identify-face/core/Server"
 * import * as Layer from "effect/Layer"
 *
 * // An API node: no analyzer here, the workers have it.
 * const api = Server.layerOver().pipe(
 *   Layer.provide(Distributed.layerApi({ url: "redis://127.0.0.1:6379" })),
 *   Layer.provide(Authenticator.layerKeys(["key-1"]))
 * )
 * ```
 *
 * @since 0.1.0
 */
import type { ArtifactStore } from "@identify-face/core/ArtifactStore"
import * as Config from "@identify-face/core/Config"
import type { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import type { IdempotencyStore } from "@identify-face/core/IdempotencyStore"
import type { Pricing } from "@identify-face/core/Pricing"
import type { TaskQueue } from "@identify-face/core/TaskQueue"
import * as TaskRunner from "@identify-face/core/TaskRunner"
import type { TaskStore } from "@identify-face/core/TaskStore"
import * as VideoSource from "@identify-face/core/VideoSource"
import type { VideoStore } from "@identify-face/core/VideoStore"
import * as Layer from "effect/Layer"
import * as BullmqTaskQueue from "./BullmqTaskQueue.js"
import * as RedisArtifactStore from "./RedisArtifactStore.js"
import * as RedisConnection from "./RedisConnection.js"
import * as RedisIdempotencyStore from "./RedisIdempotencyStore.js"
import * as RedisTaskStore from "./RedisTaskStore.js"
import * as RedisVideoStore from "./RedisVideoStore.js"
import * as Worker from "./Worker.js"

/** Where Redis is, and how the shared stores and the video source behave. */
export interface DistributedOptions extends RedisConnection.RedisOptions {
  readonly tasks?: RedisTaskStore.RedisTaskStoreOptions | undefined
  /** How `video_url`s are checked (API nodes) and fetched (workers). */
  readonly videoSource?: VideoSource.VideoSourceOptions | undefined
}

/** Options of {@link layerApi}. */
export interface ApiOptions extends DistributedOptions {
  readonly idempotency?: RedisIdempotencyStore.RedisIdempotencyStoreOptions | undefined
}

/** Options of {@link layerWorker}. */
export interface WorkerLayerOptions extends DistributedOptions {
  /** The worker's settings: `concurrency` (tasks at once) and `taskTimeout` matter here. */
  readonly config?: Partial<Config.IdentifyFaceConfig> | undefined
  readonly worker?: Worker.WorkerOptions | undefined
}

/** The Redis stores of tasks, uploads and screenshots, and the video source over the uploads. */
const sharedStores = (options: DistributedOptions) =>
  Layer.mergeAll(RedisTaskStore.layer(options.tasks), RedisArtifactStore.layer, VideoSource.layer(options.videoSource)).pipe(
    Layer.provideMerge(RedisVideoStore.layer)
  )

/**
 * What an API node's `Server.layerOver` needs but the authenticator: the Redis stores and the
 * BullMQ queue. The Redis connection closes with the layer.
 */
export const layerApi = (
  options: ApiOptions
): Layer.Layer<
  TaskStore | VideoStore | ArtifactStore | IdempotencyStore | TaskQueue | VideoSource.VideoSource,
  RedisConnection.RedisConnectionError
> =>
  Layer.mergeAll(BullmqTaskQueue.layer, RedisIdempotencyStore.layer(options.idempotency)).pipe(
    Layer.provideMerge(sharedStores(options)),
    Layer.provide(RedisConnection.layer(options))
  )

/**
 * A worker over the Redis stores, running tasks with core's runner and the analyzer and pricing
 * the host provides, for as long as the layer lives; closing it hands running tasks back.
 */
export const layerWorker = (options: WorkerLayerOptions): Layer.Layer<never, RedisConnection.RedisConnectionError, FaceAnalyzer | Pricing> =>
  Worker.layer(options.worker).pipe(
    Layer.provide(TaskRunner.layer),
    Layer.provide(sharedStores(options)),
    Layer.provide(Config.layer(options.config)),
    Layer.provide(RedisConnection.layer(options))
  )
