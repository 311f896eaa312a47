/**
 * `Idempotency-Key`: one task per key and body, 422 for another body, one run for concurrent
 * duplicates.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { makeTaskId } from "../src/Ids.js"
import * as IdempotencyStore from "../src/IdempotencyStore.js"
import { runWhileClockMoves } from "./helpers/TestTime.js"

/** A create that takes a second and counts its runs. */
const countingCreate = () => {
  const counts = { runs: 0 }
  const create = Effect.sync(() => counts.runs++).pipe(Effect.zipRight(Effect.sleep("1 second")), Effect.map(makeTaskId))
  return { create, counts }
}

const scope = { tenant: "tenant_a", key: "order-7", fingerprint: "body-1" }

describe("IdempotencyStore.makeMemory", () => {
  it.effect("answers the first task for the same key and body, running create once", () =>
    Effect.gen(function* () {
      const store = yield* IdempotencyStore.makeMemory
      const { create, counts } = countingCreate()
      const first = yield* Effect.fork(store.once(scope, create))
      yield* TestClock.adjust("1 second")
      const again = yield* Effect.fork(store.once(scope, create))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(again)).toBe(yield* Fiber.join(first))
      expect(counts.runs).toBe(1)
    }))

  it.effect("refuses the same key with another body with 422", () =>
    Effect.gen(function* () {
      const store = yield* IdempotencyStore.makeMemory
      yield* store.once(scope, Effect.sync(makeTaskId))
      const error = yield* store.once({ ...scope, fingerprint: "body-2" }, Effect.sync(makeTaskId)).pipe(Effect.flip)
      expect(error).toMatchObject({ _tag: "IdempotencyMismatchError", status: 422 })
    }))

  it.effect("runs create once for concurrent duplicates, all answering its task", () =>
    Effect.gen(function* () {
      const store = yield* IdempotencyStore.makeMemory
      const { create, counts } = countingCreate()
      const duplicates = Effect.all(Array.from({ length: 5 }, () => store.once(scope, create)), { concurrency: "unbounded" })
      const ids = yield* runWhileClockMoves(duplicates, "1 second")
      expect(new Set(ids).size).toBe(1)
      expect(counts.runs).toBe(1)
    }))

  it.effect("forgets a key 24 hours after its create finished, on the Clock, as the SQLite and Redis stores do", () =>
    Effect.gen(function* () {
      const store = yield* IdempotencyStore.makeMemory
      const { create, counts } = countingCreate()
      const first = yield* runWhileClockMoves(store.once(scope, create), "1 second")
      yield* TestClock.adjust(Duration.subtract(IdempotencyStore.MEMORY_TTL, Duration.millis(1)))
      expect(yield* store.once(scope, create)).toBe(first)
      expect(yield* Effect.flip(store.once({ ...scope, fingerprint: "body-2" }, create))).toMatchObject({ _tag: "IdempotencyMismatchError" })
      yield* TestClock.adjust("1 millis")
      const second = yield* runWhileClockMoves(store.once({ ...scope, fingerprint: "body-2" }, create), "1 second")
      expect(second).not.toBe(first)
      expect(counts.runs).toBe(2)
    }))

  it.effect("keeps keys apart per tenant", () =>
    Effect.gen(function* () {
      const store = yield* IdempotencyStore.makeMemory
      const mine = yield* store.once(scope, Effect.sync(makeTaskId))
      const theirs = yield* store.once({ ...scope, tenant: "tenant_b", fingerprint: "other" }, Effect.sync(makeTaskId))
      expect(theirs).not.toBe(mine)
    }))

  it.effect("forgets a key whose create failed, so a retry runs again", () =>
    Effect.gen(function* () {
      const store = yield* IdempotencyStore.makeMemory
      const error = yield* store.once(scope, Effect.fail("refused" as const)).pipe(Effect.flip)
      expect(error).toBe("refused")
      const id = yield* store.once({ ...scope, fingerprint: "fixed-body" }, Effect.sync(makeTaskId))
      expect(id).toMatch(/^task_/)
    }))

  it.effect("forgets a key whose create was interrupted, so a retry is not left waiting", () =>
    Effect.gen(function* () {
      const store = yield* IdempotencyStore.makeMemory
      const { create } = countingCreate()
      const first = yield* Effect.fork(store.once(scope, create))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(first)
      expect(yield* runWhileClockMoves(store.once(scope, create), "1 second")).toMatch(/^task_/)
    }))
})
