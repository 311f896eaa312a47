/**
 * The per-tenant token bucket, on the test clock.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { InvalidConfigError } from "../src/Config.js"
import * as RateLimiter from "../src/RateLimiter.js"

/** Takes `count` requests of a tenant's budget; answers how many were admitted. */
const admitted = (limiter: RateLimiter.RateLimiterService, tenant: string, count: number) =>
  Effect.map(Effect.forEach(Array.from({ length: count }), () => Effect.either(limiter.take(tenant))), (results) =>
    results.filter((result) => result._tag === "Right").length
  )

describe("RateLimiter.tokenBucket", () => {
  it.effect("admits a burst, then refuses with 429 and the seconds until a token is back", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.tokenBucket({ perSecond: 0.5, burst: 3 })
      expect(yield* admitted(limiter, "a", 3)).toBe(3)
      const refused = yield* limiter.take("a").pipe(Effect.flip)
      expect(refused).toMatchObject({ _tag: "RateLimitedError", status: 429, retryAfterSeconds: 2 })
    }))

  it.effect("refills at perSecond, never above the burst", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.tokenBucket({ perSecond: 2, burst: 4 })
      expect(yield* admitted(limiter, "a", 4)).toBe(4)
      yield* TestClock.adjust("1 second")
      expect(yield* admitted(limiter, "a", 5)).toBe(2)
      yield* TestClock.adjust("1 hour")
      expect(yield* admitted(limiter, "a", 10)).toBe(4)
    }))

  it.effect("refused requests do not use up tokens", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.tokenBucket({ perSecond: 1, burst: 1 })
      expect(yield* admitted(limiter, "a", 1)).toBe(1)
      yield* TestClock.adjust("500 millis")
      expect(yield* admitted(limiter, "a", 20)).toBe(0)
      yield* TestClock.adjust("500 millis")
      expect(yield* admitted(limiter, "a", 1)).toBe(1)
    }))

  it.effect("keeps one bucket per tenant", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter.tokenBucket({ perSecond: 1, burst: 2 })
      expect(yield* admitted(limiter, "a", 5)).toBe(2)
      expect(yield* admitted(limiter, "b", 5)).toBe(2)
    }))

  it("refuses a limit that admits nothing", () => {
    expect(() => RateLimiter.tokenBucket({ perSecond: 0, burst: 5 })).toThrow(InvalidConfigError)
    expect(() => RateLimiter.tokenBucket({ perSecond: 1, burst: 0 })).toThrow(InvalidConfigError)
    expect(() => RateLimiter.tokenBucket({ perSecond: Number.NaN, burst: 1 })).toThrow(InvalidConfigError)
  })
})
