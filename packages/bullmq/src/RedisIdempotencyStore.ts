/**
 * `Idempotency-Key`s in Redis, shared by every API node, with the semantics of core's in-memory
 * store: the same key and body answer the same task (waiting for a create still running, on any
 * node), another body is 422, and a create that failed or was interrupted frees the key.
 *
 * A create claims its key with `SET NX` for at most {@link CLAIM_TTL}, so a node that dies
 * mid-create frees the key then; a finished create keeps it for the TTL. Unlike the in-memory
 * store, a duplicate waiting on a create that fails does not get that failure: it finds the key
 * free and runs its own create.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as Errors from "@identify-face/core/Errors"
import { TaskId } from "@identify-face/core/Ids"
import { IdempotencyStore } from "@identify-face/core/IdempotencyStore"
import type { IdempotencyStoreService } from "@identify-face/core/IdempotencyStore"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { RedisConnection } from "./RedisConnection.js"
import { replaceIfUnchanged } from "./internal/redis.js"

/** Options of {@link make}. */
export interface RedisIdempotencyStoreOptions {
  /** How long an `Idempotency-Key` answers its task after the create. Default 24 hours, as a session. */
  readonly ttl?: Duration.DurationInput | undefined
}

/** The longest a create may hold its key before another node may take it over. */
export const CLAIM_TTL = Duration.minutes(1)

/** How often a duplicate looks whether the create it waits for has finished. */
const POLL_INTERVAL = Duration.millis(20)

/** A key's value: a create running somewhere (its claim), or the task it made. */
const Entry = Schema.parseJson(
  Schema.Union(
    Schema.Struct({ fingerprint: Schema.String, claim: Schema.String }),
    Schema.Struct({ fingerprint: Schema.String, task: TaskId })
  )
)
const encodeEntry = Schema.encodeSync(Entry)
const decodeEntry = Schema.decodeUnknownOption(Entry)

const mismatch = () => new Errors.IdempotencyMismatchError({ message: "this Idempotency-Key was used with another request body" })

/** An idempotency store on the shared Redis connection. */
export const make = (options: RedisIdempotencyStoreOptions = {}): Effect.Effect<IdempotencyStoreService, never, RedisConnection> =>
  Effect.map(RedisConnection, ({ client, keys }) => {
    const ttlMs = Duration.toMillis(Duration.decode(options.ttl ?? Duration.hours(24)))

    const once = <E, R>(
      scope: { readonly tenant: string; readonly key: string; readonly fingerprint: string },
      create: Effect.Effect<TaskId, E, R>
    ): Effect.Effect<TaskId, E | Errors.IdempotencyMismatchError, R> => {
      const key = keys.idempotency(scope.tenant, scope.key)
      const claim = encodeEntry({ fingerprint: scope.fingerprint, claim: randomUUID() })
      /** Sets the key from our claim to `next` ("" deletes it), unless the claim was lost meanwhile. */
      const settle = (next: string) => Effect.promise(() => client.eval(replaceIfUnchanged, 1, key, claim, next, ttlMs))

      // Uninterruptible from the claim to the bookkeeping, so an interruption never leaves the key taken.
      const claimed = Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const exit = yield* Effect.exit(restore(create))
          yield* settle(Exit.isSuccess(exit) ? encodeEntry({ fingerprint: scope.fingerprint, task: exit.value }) : "")
          return yield* exit
        })
      )

      const attempt: Effect.Effect<TaskId, E | Errors.IdempotencyMismatchError, R> = Effect.flatMap(
        Effect.promise(() => client.set(key, claim, "PX", Duration.toMillis(CLAIM_TTL), "NX")),
        (reply) => {
          if (reply === "OK") return claimed
          return Effect.flatMap(Effect.promise(() => client.get(key)), (json) => {
            const earlier = decodeEntry(json)
            // Freed meanwhile (a failed create), or unreadable: claim it again.
            if (Option.isNone(earlier)) return attempt
            if (earlier.value.fingerprint !== scope.fingerprint) return Effect.fail(mismatch())
            return "task" in earlier.value ? Effect.succeed(earlier.value.task) : Effect.zipRight(Effect.sleep(POLL_INTERVAL), attempt)
          })
        }
      )
      return attempt
    }

    return { once } satisfies IdempotencyStoreService
  })

/** The Redis idempotency store as a layer. */
export const layer = (options: RedisIdempotencyStoreOptions = {}): Layer.Layer<IdempotencyStore, never, RedisConnection> =>
  Layer.effect(IdempotencyStore, make(options))
