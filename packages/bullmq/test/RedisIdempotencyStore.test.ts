/**
 * Shared `Idempotency-Key`s: core's semantics (one task per key and body, 422 for another body,
 * a failed or interrupted create frees the key) across nodes on one Redis.
 */
import { describe, expect, it } from "@effect/vitest"
import * as RedisIdempotencyStore from "@identify-face/bullmq/RedisIdempotencyStore"
import { makeTaskId } from "@identify-face/core/Ids"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { freshPrefix } from "./helpers/redis.js"
import { onNode } from "./helpers/stores.js"

/** A create that takes 200 ms and counts its runs. */
const countingCreate = () => {
  const counts = { runs: 0 }
  const create = Effect.sync(() => counts.runs++).pipe(Effect.zipRight(Effect.sleep("200 millis")), Effect.map(makeTaskId))
  return { create, counts }
}

const scope = { tenant: "tenant_a", key: "order-7", fingerprint: "body-1" }

const node = (prefix: string) => Effect.map(onNode(prefix, RedisIdempotencyStore.make()), ({ store }) => store)

describe("RedisIdempotencyStore", () => {
  it.scopedLive("answers the first task for the same key and body on any node, running create once", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const [a, b] = [yield* node(prefix), yield* node(prefix)]
      const { create, counts } = countingCreate()
      const first = yield* a.once(scope, create)
      expect(yield* b.once(scope, create)).toBe(first)
      expect(counts.runs).toBe(1)
    }))

  it.scopedLive("refuses the same key with another body with 422, also while the first create runs", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const [a, b] = [yield* node(prefix), yield* node(prefix)]
      const running = yield* Effect.fork(a.once(scope, countingCreate().create))
      yield* Effect.sleep("50 millis")
      const during = yield* b.once({ ...scope, fingerprint: "body-2" }, Effect.sync(makeTaskId)).pipe(Effect.flip)
      expect(during).toMatchObject({ _tag: "IdempotencyMismatchError", status: 422 })
      yield* Fiber.join(running)
      const after = yield* b.once({ ...scope, fingerprint: "body-2" }, Effect.sync(makeTaskId)).pipe(Effect.flip)
      expect(after).toMatchObject({ _tag: "IdempotencyMismatchError", status: 422 })
    }))

  it.scopedLive("runs create once for concurrent duplicates on several nodes, all answering its task", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const nodes = [yield* node(prefix), yield* node(prefix), yield* node(prefix)]
      const { create, counts } = countingCreate()
      const ids = yield* Effect.all(
        Array.from({ length: 9 }, (_, i) => nodes[i % nodes.length]!.once(scope, create)),
        { concurrency: "unbounded" }
      )
      expect(new Set(ids).size).toBe(1)
      expect(counts.runs).toBe(1)
    }))

  it.scopedLive("keeps keys apart per tenant", () =>
    Effect.gen(function* () {
      const store = yield* node(freshPrefix())
      const mine = yield* store.once(scope, Effect.sync(makeTaskId))
      const theirs = yield* store.once({ ...scope, tenant: "tenant_b", fingerprint: "other" }, Effect.sync(makeTaskId))
      expect(theirs).not.toBe(mine)
    }))

  it.scopedLive("forgets a key whose create failed, so a retry runs again", () =>
    Effect.gen(function* () {
      const store = yield* node(freshPrefix())
      const error = yield* store.once(scope, Effect.fail("refused" as const)).pipe(Effect.flip)
      expect(error).toBe("refused")
      expect(yield* store.once({ ...scope, fingerprint: "fixed-body" }, Effect.sync(makeTaskId))).toMatch(/^task_/)
    }))

  it.scopedLive("forgets a key whose create was interrupted, so a waiting duplicate runs its own", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const [a, b] = [yield* node(prefix), yield* node(prefix)]
      const { create, counts } = countingCreate()
      const first = yield* Effect.fork(a.once(scope, Effect.zipRight(Effect.sleep("1 second"), create)))
      yield* Effect.sleep("50 millis")
      const waiting = yield* Effect.fork(b.once(scope, create))
      yield* Effect.sleep("50 millis")
      yield* Fiber.interrupt(first)
      expect(yield* Fiber.join(waiting)).toMatch(/^task_/)
      expect(counts.runs).toBe(1)
    }))

  it.scopedLive("keeps a finished key for its TTL", () =>
    Effect.gen(function* () {
      const { store, connection } = yield* onNode(freshPrefix(), RedisIdempotencyStore.make({ ttl: "2 hours" }))
      yield* store.once(scope, Effect.sync(makeTaskId))
      const ttl = yield* Effect.promise(() => connection.client.pttl(connection.keys.idempotency(scope.tenant, scope.key)))
      expect(ttl).toBeGreaterThan(7_100_000)
      expect(ttl).toBeLessThanOrEqual(7_200_000)
    }))
})
