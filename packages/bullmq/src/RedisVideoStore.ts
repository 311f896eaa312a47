/**
 * Uploads in Redis, so the API node that took an upload and the worker that analyses it need not
 * be the same machine. An upload streams in as keys of 1 MiB in order, with the size cap enforced
 * as it arrives; its metadata key, written last, commits it. Every key expires with the upload,
 * so Redis deletes them itself and a node that dies mid-upload leaves nothing for long.
 *
 * @since 0.1.0
 */
import type { VideoNotFoundError } from "@identify-face/core/Errors"
import { isVideoId, makeVideoId } from "@identify-face/core/Ids"
import type { VideoId } from "@identify-face/core/Ids"
import { VideoStore, capped, notFound } from "@identify-face/core/VideoStore"
import type { StoredVideo, VideoStoreService } from "@identify-face/core/VideoStore"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { RedisConnection } from "./RedisConnection.js"

/** The size of the keys an upload is kept in: the most an upload holds in memory while streaming. */
export const CHUNK_BYTES = 1024 * 1024

const Metadata = Schema.parseJson(
  Schema.Struct({ tenant: Schema.String, bytes: Schema.NonNegativeInt, chunks: Schema.NonNegativeInt, expiresAt: Schema.Number })
)
const decodeMetadata = Schema.decodeUnknownOption(Metadata)
const encodeMetadata = Schema.encodeSync(Metadata)

/** Bytes gathered for the next key. */
interface Pending {
  readonly parts: ReadonlyArray<Uint8Array>
  readonly size: number
}

const empty: Pending = { parts: [], size: 0 }

/** An upload store on the shared Redis connection. */
export const make: Effect.Effect<VideoStoreService, never, RedisConnection> = Effect.map(RedisConnection, ({ client, keys }) => {
  const metadataOf = (id: VideoId) =>
    Effect.map(Effect.promise(() => client.get(keys.upload(id))), (json) => (json === null ? Option.none() : decodeMetadata(json)))

  const get = (tenant: string, id: string, now: number): Effect.Effect<StoredVideo, VideoNotFoundError> => {
    if (!isVideoId(id)) return Effect.fail(notFound(id))
    return Effect.flatMap(metadataOf(id), (metadata) =>
      Option.isSome(metadata) && metadata.value.tenant === tenant && metadata.value.expiresAt > now
        ? Effect.succeed({ id, tenant, bytes: metadata.value.bytes, expiresAt: metadata.value.expiresAt })
        : Effect.fail(notFound(id))
    )
  }

  return {
    put: (body, options) => {
      const id = makeVideoId()
      let chunks = 0
      let bytes = 0
      const write = (pending: Pending) =>
        Effect.promise(() => client.set(keys.uploadChunk(id, chunks), Buffer.concat(pending.parts), "PXAT", options.expiresAt)).pipe(
          Effect.tap(() => {
            chunks++
            bytes += pending.size
          })
        )
      return Effect.gen(function* () {
        const rest = yield* Stream.runFoldEffect(capped(body, options.maxBytes), empty, (pending, chunk) => {
          const next = { parts: [...pending.parts, chunk], size: pending.size + chunk.byteLength }
          return next.size >= CHUNK_BYTES ? Effect.as(write(next), empty) : Effect.succeed(next)
        })
        if (rest.size > 0) yield* write(rest)
        const metadata = encodeMetadata({ tenant: options.tenant, bytes, chunks, expiresAt: options.expiresAt })
        yield* Effect.promise(() => client.set(keys.upload(id), metadata, "PXAT", options.expiresAt))
        return { id, tenant: options.tenant, bytes, expiresAt: options.expiresAt } satisfies StoredVideo
      }).pipe(
        // Refused, failed or interrupted: the keys written so far go at once rather than at expiry.
        Effect.onExit((exit) =>
          Exit.isSuccess(exit) || chunks === 0
            ? Effect.void
            : Effect.promise(() => client.del(Array.from({ length: chunks }, (_, index) => keys.uploadChunk(id, index))))
        )
      )
    },
    get,
    open: (video) =>
      Effect.flatMap(metadataOf(video.id), (metadata) => {
        if (Option.isNone(metadata)) return Effect.fail(notFound(video.id))
        const indexes = Array.from({ length: metadata.value.chunks }, (_, index) => index)
        const stream = Stream.fromIterable(indexes).pipe(
          Stream.mapEffect((index) =>
            Effect.flatMap(Effect.promise(() => client.getBuffer(keys.uploadChunk(video.id, index))), (chunk) =>
              chunk === null ? Effect.fail(notFound(video.id)) : Effect.succeed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
            )
          )
        )
        return Effect.succeed({ bytes: metadata.value.bytes, path: undefined, stream })
      }),
    // Redis deletes expired uploads itself.
    sweep: () => Effect.succeed(0)
  } satisfies VideoStoreService
})

/** The Redis upload store as a layer. */
export const layer: Layer.Layer<VideoStore, never, RedisConnection> = Layer.effect(VideoStore, make)
