/**
 * Puts the API together: the engine and the HTTP handler over the services a host provides, and
 * a web handler, `(Request) => Promise<Response>`, that every adapter mounts.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as ArtifactStore from "./ArtifactStore.js"
import * as Authenticator from "./Authenticator.js"
import * as Config from "./Config.js"
import type { FaceAnalyzer } from "./FaceAnalyzer.js"
import { handle } from "./HttpApi.js"
import type { HandleOptions, HttpApiServices } from "./HttpApi.js"
import * as IdempotencyStore from "./IdempotencyStore.js"
import * as PollPacer from "./PollPacer.js"
import * as Pricing from "./Pricing.js"
import * as RateLimiter from "./RateLimiter.js"
import * as TaskEngine from "./TaskEngine.js"
import type * as TaskQueue from "./TaskQueue.js"
import * as TaskStore from "./TaskStore.js"
import * as VideoSource from "./VideoSource.js"
import * as VideoStore from "./VideoStore.js"
import * as Webhooks from "./Webhooks.js"

/** Options of the API's own services. */
export interface ServerOptions {
  /** Settings over the defaults. */
  readonly config?: Partial<Config.IdentifyFaceConfig>
  /** A token bucket per key; no limit when unset. */
  readonly rateLimit?: RateLimiter.RateLimit
  /**
   * Delivers `callback_url`s, signed with the tenant's secret (see {@link Webhooks}), through
   * `sender` (e.g. `@identify-face/node`'s `WebhookSender.layer()`). Needs `config.publicUrl`.
   * The callbacks owed and their retries live in this process's memory, so a restart loses them.
   * For delivery that survives one, leave this unset and provide a `TaskNotifier` from
   * `WebhookOutbox.layer` over a task store that keeps an outbox, as `@identify-face/node`'s
   * `NodeServer` and the Redis backend do. Unset: a `callback_url` is checked and kept, and nothing
   * is sent unless a `TaskNotifier` is provided.
   */
  readonly webhooks?: Webhooks.WebhookOptions & { readonly sender: Layer.Layer<Webhooks.WebhookSender> }
}

/** The API's own services around an engine: settings, rate limits, and the host's stores. */
const aroundEngine = <R>(engine: Layer.Layer<TaskEngine.TaskEngine, never, R>, options: ServerOptions) => {
  const settings = Config.make(options.config)
  const config = Config.layer(settings)
  const webhooks = options.webhooks
  if (webhooks !== undefined) Webhooks.checkOptions(webhooks, settings)
  const notifier = webhooks === undefined ? Layer.empty : Webhooks.layer(webhooks).pipe(Layer.provide(webhooks.sender))
  return Layer.mergeAll(
    engine.pipe(Layer.provide(notifier), Layer.provide(config)),
    config,
    RateLimiter.layer(options.rateLimit),
    PollPacer.layer.pipe(Layer.provide(config)),
    Layer.context<Authenticator.Authenticator | VideoStore.VideoStore | ArtifactStore.ArtifactStore | IdempotencyStore.IdempotencyStore>()
  )
}

/**
 * The API over the stores (tasks, uploads, screenshots, idempotency keys), video source, analyzer,
 * pricing and authenticator the host provides; tasks run in this process.
 * Settings are checked here, so a wrong one throws at construction.
 */
export const layer = (
  options: ServerOptions = {}
): Layer.Layer<
  HttpApiServices,
  never,
  | FaceAnalyzer
  | TaskStore.TaskStore
  | VideoStore.VideoStore
  | ArtifactStore.ArtifactStore
  | IdempotencyStore.IdempotencyStore
  | VideoSource.VideoSource
  | Pricing.Pricing
  | Authenticator.Authenticator
> => aroundEngine(TaskEngine.layer, options)

/**
 * The API over a {@link TaskQueue.TaskQueue} the host provides (e.g. `@identify-face/bullmq`'s,
 * which hands tasks to workers elsewhere), so this process needs no analyzer or pricing: the
 * workers have them. Otherwise as {@link layer}.
 */
export const layerOver = (
  options: ServerOptions = {}
): Layer.Layer<
  HttpApiServices,
  never,
  | TaskQueue.TaskQueue
  | TaskStore.TaskStore
  | VideoStore.VideoStore
  | ArtifactStore.ArtifactStore
  | IdempotencyStore.IdempotencyStore
  | VideoSource.VideoSource
  | Authenticator.Authenticator
> => aroundEngine(TaskEngine.layerOver, options)

/** Options of {@link layerMemory}. */
export interface MemoryServerOptions extends ServerOptions, VideoSource.VideoSourceOptions {
  /** The bearer keys; each is a tenant. */
  readonly apiKeys: ReadonlyArray<string>
}

/**
 * The API with everything in memory and free pricing: only the analyzer is left to provide.
 * Tasks do not survive a restart.
 */
export const layerMemory = (options: MemoryServerOptions): Layer.Layer<HttpApiServices, never, FaceAnalyzer> =>
  layer(options).pipe(
    Layer.provide(VideoSource.layer(options)),
    Layer.provide(
      Layer.mergeAll(
        TaskStore.layerMemory,
        VideoStore.layerMemory,
        ArtifactStore.layerMemory,
        IdempotencyStore.layerMemory,
        Pricing.layerFree,
        Authenticator.layerKeys(options.apiKeys)
      )
    )
  )

/** The API as a function of web requests, with its runtime. */
export interface WebHandler {
  /** Answers one request. */
  readonly handle: (request: Request, options?: HandleOptions) => Promise<Response>
  /** Stops the engine (running tasks go back to pending) and releases every resource. */
  readonly dispose: () => Promise<void>
}

/** Builds the services once and answers requests with them. */
export const makeWebHandler = <E>(services: Layer.Layer<HttpApiServices, E>): WebHandler => {
  const runtime = ManagedRuntime.make(services)
  return {
    handle: (request, options) => runtime.runPromise(handle(request, options)),
    dispose: () => runtime.dispose()
  }
}

/** Builds the services now, failing if they cannot be built, so a server starts only when ready. */
export const makeWebHandlerReady = <E>(services: Layer.Layer<HttpApiServices, E>): Promise<WebHandler> => {
  const handler = makeWebHandler(services)
  return Effect.runPromise(Effect.promise(() => handler.handle(new Request("http://localhost/healthz")))).then(() => handler)
}
