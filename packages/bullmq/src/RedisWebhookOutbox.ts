/**
 * The webhook outbox of the distributed setup, in Redis: core's `WebhookOutbox`, so that any
 * worker delivers any callback, none is lost and none is sent by two deliverers at once.
 *
 * - The write that ends a task with a `callback_url` (in `RedisTaskStore`, whichever node makes
 *   it: a worker completing or failing the task, an API node cancelling it) puts the task id in
 *   the outbox in the same Lua script, so a process killed right after cannot lose the callback.
 * - Every worker given `webhooks` runs core's deliverer (`WebhookOutbox.layer`) over this outbox:
 *   a sorted set of task ids by when each is next due (while claimed, when its claim runs out),
 *   a hash of the attempts started, and a hash of claim tokens. Claiming, renewing and settling
 *   are Lua scripts that check the token, so one claimant at a time holds a callback and a
 *   deliverer killed mid-delivery has its callback taken over once its claim runs out.
 *
 * On API nodes, give `Distributed.layerApi` no webhooks of `Server.layerOver`: a cancel is
 * already in the outbox, and core's in-memory notifier would send it a second time.
 *
 * @since 0.1.0
 */
import { WebhookOutbox } from "@identify-face/core/WebhookOutbox"
import type { WebhookOutboxService } from "@identify-face/core/WebhookOutbox"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { RedisConnection } from "./RedisConnection.js"

/**
 * Claims a callback that is due (KEYS: due, attempts, claims; ARGV: id, now, claimed-until,
 * token). Answers the number of this attempt, or 0 when it is not due or another holds it.
 */
const claim = `
local due = redis.call("ZSCORE", KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return 0 end
redis.call("ZADD", KEYS[1], ARGV[3], ARGV[1])
redis.call("HSET", KEYS[3], ARGV[1], ARGV[4])
return redis.call("HINCRBY", KEYS[2], ARGV[1], 1)
`

/** Extends a claim still held with this token (KEYS: due, claims; ARGV: id, token, claimed-until). */
const renew = `
if redis.call("HGET", KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call("ZADD", KEYS[1], "XX", ARGV[3], ARGV[1])
return 1
`

/**
 * Ends a claim still held with this token (KEYS: due, attempts, claims; ARGV: id, token, next
 * due time or "" when the callback is done with, "1" when the attempt does not count).
 */
const settle = `
if redis.call("HGET", KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call("HDEL", KEYS[3], ARGV[1])
if ARGV[3] == "" then
  redis.call("ZREM", KEYS[1], ARGV[1])
  redis.call("HDEL", KEYS[2], ARGV[1])
else
  redis.call("ZADD", KEYS[1], ARGV[3], ARGV[1])
  if ARGV[4] == "1" then redis.call("HINCRBY", KEYS[2], ARGV[1], -1) end
end
return 1
`

/** The outbox on the shared Redis connection. */
export const make: Effect.Effect<WebhookOutboxService, never, RedisConnection> = Effect.map(RedisConnection, ({ client, keys }) => {
  const script = (source: string, keyCount: number, ...args: ReadonlyArray<string | number>) =>
    Effect.promise(() => client.eval(source, keyCount, ...args))
  return {
    due: (now, limit) => Effect.promise(() => client.zrangebyscore(keys.webhooksDue, "-inf", now, "LIMIT", 0, limit)),
    claim: (id, token, now, until) =>
      Effect.map(
        script(claim, 3, keys.webhooksDue, keys.webhookAttempts, keys.webhookClaims, id, now, until, token),
        (attempt) => (typeof attempt === "number" ? attempt : 0)
      ),
    renew: (id, token, until) => Effect.map(script(renew, 2, keys.webhooksDue, keys.webhookClaims, id, token, until), (held) => held === 1),
    settle: (id, token, { refund, retryAt }) =>
      Effect.map(
        script(settle, 3, keys.webhooksDue, keys.webhookAttempts, keys.webhookClaims, id, token, retryAt ?? "", refund === true ? "1" : "0"),
        (held) => held === 1
      )
  } satisfies WebhookOutboxService
})

/** The outbox as a layer, for core's `WebhookOutbox.layer` (the deliverer). */
export const layer: Layer.Layer<WebhookOutbox, never, RedisConnection> = Layer.effect(WebhookOutbox, make)
