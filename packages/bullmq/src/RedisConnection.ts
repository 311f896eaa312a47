/**
 * The Redis connection every store, the queue and the worker share: one ioredis client, opened
 * when the layer is built and closed with it, and the key prefix of the deployment.
 *
 * @example
 * ```ts
 * import * as RedisConnection from "@identify-face/bullmq/RedisConnection"
 *
 * const redis = RedisConnection.layer({ url: "redis://127.0.0.1:6379" })
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { keysOf } from "./internal/keys.js"
import type { Keys } from "./internal/keys.js"

/** Where Redis is, and the prefix of every key. */
export interface RedisOptions {
  /** A `redis://` or `rediss://` URL, e.g. `redis://127.0.0.1:6379`. */
  readonly url: string
  /** Every key starts with `<prefix>:`. Default `identify-face`. */
  readonly prefix?: string | undefined
}

/** An open connection and the key layout. */
export interface RedisConnectionService {
  readonly client: Redis
  /** Where each thing is kept (the layout is private to this package). */
  readonly keys: Keys
}

/** The Redis connection in use. */
export class RedisConnection extends Context.Tag("@identify-face/bullmq/RedisConnection")<RedisConnection, RedisConnectionService>() {}

/** Redis did not answer when the connection was opened. */
export class RedisConnectionError extends Data.TaggedError("RedisConnectionError")<{ readonly message: string }> {}

/** The default key prefix. */
export const DEFAULT_PREFIX = "identify-face"

/**
 * Opens a client: commands wait while Redis is briefly away rather than fail (BullMQ needs
 * `maxRetriesPerRequest: null`), so a restart of Redis loses nothing. Closed with the scope.
 */
export const make = (options: RedisOptions): Effect.Effect<RedisConnectionService, RedisConnectionError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const client = new Redis(options.url, { lazyConnect: true, maxRetriesPerRequest: null })
        // The socket's error says why (refused, unknown host); the rejection only that it closed.
        let cause: unknown
        const remember = (error: unknown) => void (cause ??= error)
        client.on("error", remember)
        try {
          await client.connect()
          return client
        } catch (error) {
          client.disconnect()
          throw cause ?? error
        } finally {
          client.off("error", remember)
        }
      },
      catch: (error) => new RedisConnectionError({ message: `cannot reach Redis at ${redactedUrl(options.url)}: ${String(error)}` })
    }),
    (client) => Effect.promise(() => client.quit().catch(() => client.disconnect()))
  ).pipe(Effect.map((client) => ({ client, keys: keysOf(options.prefix ?? DEFAULT_PREFIX) })))

/** The connection as a layer. */
export const layer = (options: RedisOptions): Layer.Layer<RedisConnection, RedisConnectionError> =>
  Layer.scoped(RedisConnection, make(options))

/** The URL without its password, for messages. */
const redactedUrl = (url: string) => url.replace(/\/\/[^@/]*@/, "//***@")
