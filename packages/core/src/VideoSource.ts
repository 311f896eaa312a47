/**
 * Resolves the video of a task, a `video_id` or a `video_url`, to its bytes. A host app can
 * provide its own, e.g. to read ids from its own media library.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { checkUrl } from "./AddressGuard.js"
import { VideoUrlUnreachableError } from "./Errors.js"
import type { VideoError, VideoNotFoundError, VideoUrlRefusedError } from "./Errors.js"
import type { VideoRef } from "./Task.js"
import { VideoStore } from "./VideoStore.js"

/** A video's content, ready to be checked and analysed. */
export interface Video {
  /** Its size in bytes. */
  readonly bytes: number
  /** A path on the local file system, when the video is a file there. */
  readonly path: string | undefined
  /** Its bytes. */
  readonly stream: Stream.Stream<Uint8Array, VideoError>
}

/** Resolves the videos of tasks. */
export interface VideoSourceService {
  /** Checks a reference when a task is created, so a bad one is refused at once (400 or 404). */
  readonly check: (tenant: string, ref: VideoRef, now: number) => Effect.Effect<void, VideoNotFoundError | VideoUrlRefusedError>
  /** Opens the video for a running task; what it fetched is released with the scope. */
  readonly open: (tenant: string, ref: VideoRef, now: number) => Effect.Effect<Video, VideoError, Scope.Scope>
}

/** The video source in use. */
export class VideoSource extends Context.Tag("@identify-face/core/VideoSource")<VideoSource, VideoSourceService>() {}

/** Fetches a checked URL; it must enforce the size cap and the address rules while it streams. */
export type UrlFetcher = (url: URL) => Effect.Effect<Video, VideoError, Scope.Scope>

/** Options of the default video source. */
export interface VideoSourceOptions {
  /** Fetches `video_url`s. Without it, URL tasks fail with 014002105. */
  readonly fetchUrl?: UrlFetcher | undefined
  /** Hosts the URL guard lets through although they are local (tests on loopback). */
  readonly allowHost?: ((host: string) => boolean) | undefined
}

/** The default video source: ids from the {@link VideoStore}, URLs through `fetchUrl`. */
export const make = (options: VideoSourceOptions = {}) =>
  Effect.map(VideoStore, (store): VideoSourceService => {
    const guard = (url: string) => Either.map(checkUrl(url, options.allowHost), () => undefined)
    return {
      check: (tenant, ref, now) => (ref._tag === "VideoId" ? Effect.asVoid(store.get(tenant, ref.id, now)) : guard(ref.url)),
      open: (tenant, ref, now) => {
        if (ref._tag === "VideoId") return Effect.flatMap(store.get(tenant, ref.id, now), store.open)
        const fetchUrl = options.fetchUrl
        return Effect.flatMap(checkUrl(ref.url, options.allowHost), (url) =>
          fetchUrl === undefined
            ? Effect.fail(new VideoUrlUnreachableError({ message: "this server is not set up to fetch video URLs" }))
            : fetchUrl(url)
        )
      }
    }
  })

/** The default video source as a layer. */
export const layer = (options: VideoSourceOptions = {}): Layer.Layer<VideoSource, never, VideoStore> =>
  Layer.effect(VideoSource, make(options))
