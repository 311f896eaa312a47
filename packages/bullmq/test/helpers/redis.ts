/**
 * Tests run on a real Redis (`IDENTIFY_FACE_REDIS_URL`, default `redis://127.0.0.1:6379`), each
 * under a key prefix of its own that is deleted afterwards.
 */
import { randomUUID } from "node:crypto"
import * as RedisConnection from "@identify-face/bullmq/RedisConnection"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Redis } from "ioredis"

/** The Redis the tests use. */
export const REDIS_URL = process.env.IDENTIFY_FACE_REDIS_URL ?? "redis://127.0.0.1:6379"

/** A prefix no other test run uses. */
export const freshPrefix = () => `identify-face-test-${randomUUID()}`

/** Deletes every key under `prefix`. */
export const deleteKeys = async (client: Redis, prefix: string) => {
  let cursor = "0"
  do {
    const [next, found] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000)
    if (found.length > 0) await client.unlink(...found)
    cursor = next
  } while (cursor !== "0")
}

/** A connection under `prefix`; when the scope closes, the prefix's keys go first. */
export const connect = (prefix: string) =>
  Effect.tap(RedisConnection.make({ url: REDIS_URL, prefix }), ({ client }) =>
    Effect.addFinalizer(() => Effect.promise(() => deleteKeys(client, prefix)))
  )

/** A connection under a fresh prefix, cleaned up after the test. */
export const layerFresh: Layer.Layer<RedisConnection.RedisConnection, RedisConnection.RedisConnectionError> = Layer.scoped(
  RedisConnection.RedisConnection,
  Effect.suspend(() => connect(freshPrefix()))
)
