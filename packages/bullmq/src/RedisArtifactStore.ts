/**
 * Face screenshots in Redis, so any API node serves what any worker found: each is a hash of its
 * bytes, content type and expiry under its unguessable key, and a set per session lists its keys
 * for deleting them together. Both expire with the session, so Redis deletes them itself.
 *
 * @since 0.1.0
 */
import { ArtifactStore } from "@identify-face/core/ArtifactStore"
import type { Artifact, ArtifactStoreService } from "@identify-face/core/ArtifactStore"
import { isFileKey, makeFileKey } from "@identify-face/core/Ids"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { exec } from "./internal/redis.js"
import { RedisConnection } from "./RedisConnection.js"

/** A screenshot store on the shared Redis connection. */
export const make: Effect.Effect<ArtifactStoreService, never, RedisConnection> = Effect.map(RedisConnection, ({ client, keys }) => ({
  put: (sessionId, artifact) => {
    const key = makeFileKey()
    return Effect.as(
      Effect.promise(() =>
        exec(
          client
            .multi()
            .hset(keys.file(key), { bytes: Buffer.from(artifact.bytes), contentType: artifact.contentType, expiresAt: artifact.expiresAt })
            .pexpireat(keys.file(key), artifact.expiresAt)
            .sadd(keys.sessionFiles(sessionId), key)
            .pexpireat(keys.sessionFiles(sessionId), artifact.expiresAt)
        )
      ),
      key
    )
  },
  get: (key, now) => {
    // A malformed key never reaches Redis.
    if (!isFileKey(key)) return Effect.succeedNone
    return Effect.map(Effect.promise(() => client.hgetallBuffer(keys.file(key))), (fields): Option.Option<Artifact> => {
      const { bytes, contentType, expiresAt } = fields
      if (bytes === undefined || contentType === undefined || expiresAt === undefined) return Option.none()
      const artifact = { bytes: new Uint8Array(bytes), contentType: contentType.toString(), expiresAt: Number(expiresAt.toString()) }
      return artifact.expiresAt > now ? Option.some(artifact) : Option.none()
    })
  },
  removeSession: (sessionId) =>
    Effect.promise(async () => {
      const files = await client.smembers(keys.sessionFiles(sessionId))
      await client.del(...files.map(keys.file), keys.sessionFiles(sessionId))
    })
}))

/** The Redis screenshot store as a layer. */
export const layer: Layer.Layer<ArtifactStore, never, RedisConnection> = Layer.effect(ArtifactStore, make)
