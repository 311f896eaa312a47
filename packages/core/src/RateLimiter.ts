/**
 * Per-tenant rate limits: a token bucket per key. Off by default; a refused request is 429 with
 * `Retry-After`.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { RateLimitedError } from "./Errors.js"
import { InvalidConfigError } from "./Config.js"

/** Admits or refuses requests. */
export interface RateLimiterService {
  /** Takes one request of the tenant's budget, or fails with 429. */
  readonly take: (tenant: string) => Effect.Effect<void, RateLimitedError>
}

/** The rate limiter in use. */
export class RateLimiter extends Context.Tag("@identify-face/core/RateLimiter")<RateLimiter, RateLimiterService>() {}

/** A bucket of `burst` requests, refilled at `perSecond`. */
export interface RateLimit {
  readonly perSecond: number
  readonly burst: number
}

/** No limit. */
export const unlimited: RateLimiterService = { take: () => Effect.void }

interface Bucket {
  readonly tokens: number
  readonly at: number
}

/** A token bucket per tenant, in memory. */
export const tokenBucket = (limit: RateLimit): Effect.Effect<RateLimiterService> => {
  if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
    throw new InvalidConfigError("identify-face: rateLimit needs perSecond > 0 and burst >= 1")
  }
  return Effect.map(Ref.make(new Map<string, Bucket>()), (buckets) => ({
    take: (tenant) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatten(
          Ref.modify(buckets, (map): readonly [Effect.Effect<void, RateLimitedError>, Map<string, Bucket>] => {
            const bucket = map.get(tenant) ?? { tokens: limit.burst, at: now }
            const tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond)
            if (tokens < 1) {
              const retryAfterSeconds = Math.max(1, Math.ceil((1 - tokens) / limit.perSecond))
              const refused = new RateLimitedError({ message: `rate limit of ${limit.perSecond} requests a second exceeded`, retryAfterSeconds })
              return [Effect.fail(refused), new Map(map).set(tenant, { tokens, at: now })]
            }
            return [Effect.void, new Map(map).set(tenant, { tokens: tokens - 1, at: now })]
          })
        )
      )
  }))
}

/** The limiter as a layer: unlimited when `limit` is undefined. */
export const layer = (limit?: RateLimit): Layer.Layer<RateLimiter> =>
  limit === undefined ? Layer.succeed(RateLimiter, unlimited) : Layer.effect(RateLimiter, tokenBucket(limit))
