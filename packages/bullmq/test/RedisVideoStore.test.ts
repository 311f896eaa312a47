/**
 * Shared uploads: streamed into Redis keys of 1 MiB with the cap enforced as they arrive, readable
 * from any node, owned by their tenant, expiring with the upload.
 */
import { describe, expect, it } from "@effect/vitest"
import * as RedisVideoStore from "@identify-face/bullmq/RedisVideoStore"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { freshPrefix } from "./helpers/redis.js"
import { onNode } from "./helpers/stores.js"

const MB = 1024 * 1024
const NOW = Date.now()
const LATER = NOW + 60_000
const options = { tenant: "tenant_a", maxBytes: 10 * MB, expiresAt: LATER }

/** `count` chunks of `size` bytes, the n-th filled with n, made as they are pulled; counts pulls. */
const generated = (count: number, size: number) => {
  const pulled = { chunks: 0 }
  const stream = Stream.range(1, count, 1).pipe(
    Stream.map((n) => {
      pulled.chunks++
      return new Uint8Array(size).fill(n)
    })
  )
  return { stream, pulled }
}

const collect = (stream: Stream.Stream<Uint8Array, unknown>) => Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

describe("RedisVideoStore", () => {
  it.scopedLive("stores an upload in 1 MiB keys and streams it back on another node", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const api = yield* onNode(prefix, RedisVideoStore.make)
      const worker = yield* onNode(prefix, RedisVideoStore.make)
      const { stream } = generated(50, 70_000)
      const stored = yield* api.store.put(stream, options)
      expect(stored).toMatchObject({ tenant: "tenant_a", bytes: 3_500_000, expiresAt: LATER })
      const found = yield* worker.store.get("tenant_a", stored.id, NOW)
      expect(found).toEqual(stored)
      const video = yield* worker.store.open(found)
      expect(video).toMatchObject({ bytes: 3_500_000, path: undefined })
      const content = yield* collect(video.stream)
      expect(content.byteLength).toBe(3_500_000)
      expect([content[0], content[69_999], content[70_000], content[3_499_999]]).toEqual([1, 1, 2, 50])
      const { client, keys } = api.connection
      expect(yield* Effect.promise(() => client.exists([0, 1, 2, 3].map((i) => keys.uploadChunk(stored.id, i))))).toBe(4)
      expect(yield* Effect.promise(() => client.strlen(keys.uploadChunk(stored.id, 0)))).toBeLessThanOrEqual(RedisVideoStore.CHUNK_BYTES + 70_000)
    }))

  it.scopedLive("expires every key of an upload with it", () =>
    Effect.gen(function* () {
      const { store, connection } = yield* onNode(freshPrefix(), RedisVideoStore.make)
      const stored = yield* store.put(generated(20, 100_000).stream, options)
      const { client, keys } = connection
      for (const key of [keys.upload(stored.id), keys.uploadChunk(stored.id, 0), keys.uploadChunk(stored.id, 1)]) {
        expect(yield* Effect.promise(() => client.pexpiretime(key))).toBe(LATER)
      }
      expect(yield* Effect.flip(store.get("tenant_a", stored.id, LATER))).toMatchObject({ _tag: "VideoNotFoundError" })
    }))

  it.scopedLive("refuses an upload past the cap as it streams, reading no further and keeping nothing", () =>
    Effect.gen(function* () {
      const { store, connection } = yield* onNode(freshPrefix(), RedisVideoStore.make)
      const { stream, pulled } = generated(1000, MB)
      const error = yield* Effect.flip(store.put(stream, { ...options, maxBytes: 3 * MB + 10 }))
      expect(error).toMatchObject({ _tag: "VideoTooLargeError", code: "014002111" })
      expect(pulled.chunks).toBe(4)
      expect(yield* Effect.promise(() => connection.client.keys(`${connection.keys.prefix}:*`))).toEqual([])
    }))

  it.scopedLive("answers only its own tenant, and only ids of this service", () =>
    Effect.gen(function* () {
      const { store } = yield* onNode(freshPrefix(), RedisVideoStore.make)
      const stored = yield* store.put(Stream.make(new Uint8Array([1, 2, 3])), options)
      expect(yield* Effect.flip(store.get("tenant_b", stored.id, NOW))).toMatchObject({ _tag: "VideoNotFoundError" })
      expect(yield* Effect.flip(store.get("tenant_a", "vid_../../x", NOW))).toMatchObject({ _tag: "VideoNotFoundError" })
    }))
})
