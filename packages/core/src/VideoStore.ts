/**
 * Uploaded videos: written as they stream in, refused past the size cap while streaming, owned by
 * the tenant that uploaded them, deleted when they expire.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { VideoNotFoundError, VideoTooLargeError } from "./Errors.js"
import { isVideoId, makeVideoId } from "./Ids.js"
import type { VideoId } from "./Ids.js"
import type { Video } from "./VideoSource.js"

/** An upload as it is kept. */
export interface StoredVideo {
  readonly id: VideoId
  readonly tenant: string
  readonly bytes: number
  /** Epoch ms after which it is gone. */
  readonly expiresAt: number
}

/** What an upload is written with. */
export interface PutOptions {
  readonly tenant: string
  readonly maxBytes: number
  readonly expiresAt: number
}

/** A store of uploads. */
export interface VideoStoreService {
  /** Writes an upload as it streams in; past `maxBytes` it stops, keeps nothing and fails. */
  readonly put: <E>(body: Stream.Stream<Uint8Array, E>, options: PutOptions) => Effect.Effect<StoredVideo, E | VideoTooLargeError>
  /** The tenant's upload with this id, while it has not expired; anything else is 014002103. */
  readonly get: (tenant: string, id: string, now: number) => Effect.Effect<StoredVideo, VideoNotFoundError>
  /** The upload's content. */
  readonly open: (video: StoredVideo) => Effect.Effect<Video, VideoNotFoundError>
  /** Deletes the uploads that expired at `now`, answering how many. */
  readonly sweep: (now: number) => Effect.Effect<number>
}

/** The upload store in use. */
export class VideoStore extends Context.Tag("@identify-face/core/VideoStore")<VideoStore, VideoStoreService>() {}

/** The error for an upload over the cap. */
export const tooLarge = (maxBytes: number) =>
  new VideoTooLargeError({ message: `the video is larger than ${maxBytes} bytes` })

/** The error for an unknown, expired or foreign video id: all three read the same. */
export const notFound = (id: string) =>
  new VideoNotFoundError({
    message: isVideoId(id) ? `video_id ${id} is unknown or has expired` : "video_id is not a video id of this service"
  })

/**
 * Counts the bytes of a stream as they pass and fails with 014002111 as soon as they exceed
 * `maxBytes`, before the rest is read.
 */
export const capped = <E>(body: Stream.Stream<Uint8Array, E>, maxBytes: number): Stream.Stream<Uint8Array, E | VideoTooLargeError> =>
  body.pipe(
    Stream.mapAccumEffect(0, (total, chunk) => {
      const next = total + chunk.byteLength
      return next > maxBytes ? Effect.fail(tooLarge(maxBytes)) : Effect.succeed([next, chunk] as const)
    })
  )

interface MemoryEntry extends StoredVideo {
  readonly content: Uint8Array
}

/** An upload store in memory: for tests and small deployments. */
export const makeMemory: Effect.Effect<VideoStoreService> = Effect.gen(function* () {
  const videos = yield* Ref.make(new Map<VideoId, MemoryEntry>())
  return {
    put: (body, options) =>
      Effect.gen(function* () {
        const chunks = yield* Stream.runCollect(capped(body, options.maxBytes))
        const content = new Uint8Array(Array.from(chunks).reduce((n, chunk) => n + chunk.byteLength, 0))
        let offset = 0
        for (const chunk of chunks) {
          content.set(chunk, offset)
          offset += chunk.byteLength
        }
        const entry: MemoryEntry = { id: makeVideoId(), tenant: options.tenant, bytes: content.byteLength, expiresAt: options.expiresAt, content }
        yield* Ref.update(videos, (map) => new Map(map).set(entry.id, entry))
        const { content: _, ...stored } = entry
        return stored
      }),
    get: (tenant, id, now) =>
      Effect.flatMap(Ref.get(videos), (map) => {
        const entry = isVideoId(id) ? map.get(id) : undefined
        if (entry === undefined || entry.tenant !== tenant || entry.expiresAt <= now) return Effect.fail(notFound(id))
        const { content: _, ...stored } = entry
        return Effect.succeed(stored)
      }),
    open: (video) =>
      Effect.flatMap(Ref.get(videos), (map) => {
        const entry = map.get(video.id)
        return entry === undefined
          ? Effect.fail(notFound(video.id))
          : Effect.succeed({ bytes: entry.bytes, path: undefined, stream: Stream.make(entry.content) })
      }),
    sweep: (now) =>
      Ref.modify(videos, (map) => {
        const kept = new Map([...map].filter(([, entry]) => entry.expiresAt > now))
        return [map.size - kept.size, kept]
      })
  }
})

/** The in-memory upload store as a layer. */
export const layerMemory: Layer.Layer<VideoStore> = Layer.effect(VideoStore, makeMemory)
