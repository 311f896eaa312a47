/**
 * The distributed setup in two layers over one Redis: API nodes accept and answer
 * ({@link layerApi}, for core's `Server.layerOver`), workers anywhere run the analyses
 * ({@link layerWorker}). Tasks, uploads, screenshots, idempotency keys and the webhook outbox are
 * in Redis, so any node answers for any task and any worker delivers any callback.
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
import type { TaskNotifier } from "@identify-face/core/TaskNotifier"
import type { TaskQueue } from "@identify-face/core/TaskQueue"
import * as TaskRunner from "@identify-face/core/TaskRunner"
import type { TaskStore } from "@identify-face/core/TaskStore"
import * as VideoSource from "@identify-face/core/VideoSource"
import type { VideoStore } from "@identify-face/core/VideoStore"
import * as WebhookOutbox from "@identify-face/core/WebhookOutbox"
import * as Webhooks from "@identify-face/core/Webhooks"
import type { WebhookSender } from "@identify-face/core/Webhooks"
import * as Layer from "effect/Layer"
import * as BullmqTaskQueue from "./BullmqTaskQueue.js"
import * as RedisArtifactStore from "./RedisArtifactStore.js"
import * as RedisConnection from "./RedisConnection.js"
import * as RedisIdempotencyStore from "./RedisIdempotencyStore.js"
import * as RedisTaskStore from "./RedisTaskStore.js"
import * as RedisVideoStore from "./RedisVideoStore.js"
import * as RedisWebhookOutbox from "./RedisWebhookOutbox.js"
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
  /** Hosts a `callback_url` may name although they are local: for tests on loopback. */
  readonly allowCallbackHost?: ((host: string) => boolean) | undefined
}

/** Options of {@link layerWorker}. */
export interface WorkerLayerOptions extends DistributedOptions {
  /**
   * The worker's settings: `concurrency` (tasks at once) and `taskTimeout` matter here, and
   * `publicUrl` (the API nodes' origin, for the `face_image` URLs of callbacks) with `webhooks`.
   */
  readonly config?: Partial<Config.IdentifyFaceConfig> | undefined
  readonly worker?: Worker.WorkerOptions | undefined
  /**
   * Delivers the `callback_url` webhooks of the outbox (core's `WebhookOutbox` deliverer over
   * `RedisWebhookOutbox`) through `sender`
   * (e.g. `@identify-face/node`'s `WebhookSender.layer()`), signed with the tenants' secrets
   * derived from `secret`, the same server secret on every worker. Needs `config.publicUrl`.
   * Unset: this worker delivers none; callbacks wait in Redis for a worker that does.
   * `claimDuration` defaults to the worker's `lockDuration`.
   */
  readonly webhooks?: (WebhookOutbox.OutboxOptions & { readonly sender: Layer.Layer<WebhookSender> }) | undefined
}

/** The Redis stores of tasks, uploads and screenshots, and the video source over the uploads. */
const sharedStores = (options: DistributedOptions) =>
  Layer.mergeAll(RedisTaskStore.layer(options.tasks), RedisArtifactStore.layer, VideoSource.layer(options.videoSource)).pipe(
    Layer.provideMerge(RedisVideoStore.layer)
  )

/**
 * What an API node's `Server.layerOver` needs but the authenticator: the Redis stores, the
 * BullMQ queue, and the notifier that checks `callback_url`s (the workers deliver them; give
 * `Server.layerOver` no `webhooks`). The Redis connection closes with the layer.
 */
export const layerApi = (
  options: ApiOptions
): Layer.Layer<
  TaskStore | VideoStore | ArtifactStore | IdempotencyStore | TaskQueue | VideoSource.VideoSource | TaskNotifier,
  RedisConnection.RedisConnectionError
> =>
  Layer.mergeAll(
    BullmqTaskQueue.layer,
    RedisIdempotencyStore.layer(options.idempotency),
    WebhookOutbox.layerNotifier(options.allowCallbackHost)
  ).pipe(
    Layer.provideMerge(sharedStores(options)),
    Layer.provide(RedisConnection.layer(options))
  )

/**
 * A worker over the Redis stores, running tasks with core's runner and the analyzer and pricing
 * the host provides, and delivering callbacks with `webhooks`, for as long as the layer lives;
 * closing it hands running tasks and callbacks back. Settings are checked here, so a wrong one
 * throws at construction.
 */
export const layerWorker = (options: WorkerLayerOptions): Layer.Layer<never, RedisConnection.RedisConnectionError, FaceAnalyzer | Pricing> => {
  const config = Config.make(options.config)
  const webhooks = options.webhooks
  if (webhooks !== undefined) Webhooks.checkOptions(webhooks, config)
  // A killed worker's callbacks are taken over as soon as its jobs, unless told otherwise. The
  // runner tells the deliverer of the tasks it ends, so they are delivered without waiting a poll.
  const delivery: Layer.Layer<TaskNotifier, never, TaskStore | Config.Config | RedisConnection.RedisConnection> =
    webhooks === undefined
      ? WebhookOutbox.layerNotifier()
      : WebhookOutbox.layer({ claimDuration: options.worker?.lockDuration, ...webhooks }).pipe(
        Layer.provide(webhooks.sender),
        Layer.provide(RedisWebhookOutbox.layer)
      )
  return Worker.layer(options.worker).pipe(
    Layer.provide(TaskRunner.layer),
    Layer.provide(delivery),
    Layer.provide(sharedStores(options)),
    Layer.provide(Config.layer(config)),
    Layer.provide(RedisConnection.layer(options))
  )
}
