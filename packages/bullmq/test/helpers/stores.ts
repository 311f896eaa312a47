/**
 * A store built on its own connection under a prefix, as one node of a deployment would have it.
 */
import { RedisConnection } from "@identify-face/bullmq/RedisConnection"
import type { RedisConnectionService } from "@identify-face/bullmq/RedisConnection"
import * as Effect from "effect/Effect"
import { connect } from "./redis.js"

/** `make` run on a new connection under `prefix`; answers the store and its connection. */
export const onNode = <A>(prefix: string, make: Effect.Effect<A, never, RedisConnection>) =>
  Effect.flatMap(connect(prefix), (connection: RedisConnectionService) =>
    Effect.map(Effect.provideService(make, RedisConnection, connection), (store) => ({ store, connection }))
  )
