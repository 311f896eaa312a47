/**
 * Uploaded videos on disk, under `<dataDir>/uploads/`: `<id>.mp4` and a sidecar `<id>.json`
 * with its tenant, size and expiry, so uploads survive a restart. An upload streams to
 * `<id>.part` with the size cap enforced as it arrives; the sidecar is written first and the
 * rename to `<id>.mp4` commits it, so a crash leaves only `.part` files, removed at start.
 *
 * @since 0.1.0
 */
import { mkdir, readFile, readdir, rename, stat, writeFile } from "node:fs/promises"
import { join } from "node:path"
import type { VideoNotFoundError } from "@identify-face/core/Errors"
import { isVideoId, makeVideoId } from "@identify-face/core/Ids"
import type { VideoId } from "@identify-face/core/Ids"
import { VideoStore, notFound } from "@identify-face/core/VideoStore"
import type { StoredVideo, VideoStoreService } from "@identify-face/core/VideoStore"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { fileStream, removeFile, unlessMissing, writeCapped } from "./internal/intake/files.js"

/** Options of {@link make}. */
export interface FileVideoStoreOptions {
  /** Uploads are kept under `<dataDir>/uploads/`; one process per directory. */
  readonly dataDir: string
}

const Sidecar = Schema.parseJson(
  Schema.Struct({ tenant: Schema.String, bytes: Schema.NonNegativeInt, expiresAt: Schema.Number })
)
const decodeSidecar = Schema.decodeUnknownOption(Sidecar)
const encodeSidecar = Schema.encodeSync(Sidecar)

/** An upload store on disk. */
export const make = (options: FileVideoStoreOptions): Effect.Effect<VideoStoreService> =>
  Effect.gen(function* () {
    const directory = join(options.dataDir, "uploads")
    const pathsOf = (id: VideoId) => ({
      partial: join(directory, `${id}.part`),
      sidecarPartial: join(directory, `${id}.json.part`),
      sidecar: join(directory, `${id}.json`),
      video: join(directory, `${id}.mp4`)
    })

    yield* Effect.promise(() => mkdir(directory, { recursive: true }))
    const leftovers = (yield* Effect.promise(() => readdir(directory))).filter((name) => name.endsWith(".part"))
    yield* Effect.forEach(leftovers, (name) => removeFile(join(directory, name)), { discard: true })

    /** The upload's sidecar; an unreadable one reads as none. */
    const readSidecar = (id: VideoId) =>
      Effect.map(unlessMissing(() => readFile(pathsOf(id).sidecar, "utf8")), (text) => (text === undefined ? Option.none() : decodeSidecar(text)))

    const get = (tenant: string, id: string, now: number): Effect.Effect<StoredVideo, VideoNotFoundError> => {
      // The id is checked before it names a file, so `../x` or a NUL never reaches the file system.
      if (!isVideoId(id)) return Effect.fail(notFound(id))
      return Effect.flatMap(readSidecar(id), (sidecar) =>
        Option.isSome(sidecar) && sidecar.value.tenant === tenant && sidecar.value.expiresAt > now
          ? Effect.succeed({ id, ...sidecar.value })
          : Effect.fail(notFound(id))
      )
    }

    return {
      put: (body, putOptions) => {
        const id = makeVideoId()
        const paths = pathsOf(id)
        return Effect.gen(function* () {
          const bytes = yield* writeCapped(body, paths.partial, putOptions.maxBytes)
          const stored: StoredVideo = { id, tenant: putOptions.tenant, bytes, expiresAt: putOptions.expiresAt }
          yield* Effect.uninterruptible(
            Effect.promise(async () => {
              await writeFile(paths.sidecarPartial, encodeSidecar({ tenant: stored.tenant, bytes, expiresAt: stored.expiresAt }), { flag: "wx" })
              await rename(paths.sidecarPartial, paths.sidecar)
              await rename(paths.partial, paths.video)
            })
          )
          return stored
        }).pipe(
          Effect.onExit((exit) =>
            Exit.isSuccess(exit) ? Effect.void : Effect.forEach(Object.values(paths), removeFile, { discard: true })
          )
        )
      },
      get,
      open: (video) => {
        if (!isVideoId(video.id)) return Effect.fail(notFound(video.id))
        const path = pathsOf(video.id).video
        return Effect.flatMap(unlessMissing(() => stat(path)), (stats) =>
          stats === undefined ? Effect.fail(notFound(video.id)) : Effect.succeed({ bytes: stats.size, path, stream: fileStream(path) })
        )
      },
      sweep: (now) =>
        Effect.gen(function* () {
          const ids = (yield* Effect.promise(() => readdir(directory)))
            .filter((name) => name.endsWith(".json"))
            .map((name) => name.slice(0, -".json".length))
            .filter((name): name is VideoId => isVideoId(name))
          let removed = 0
          for (const id of ids) {
            const sidecar = yield* readSidecar(id)
            if (Option.isSome(sidecar) && sidecar.value.expiresAt > now) continue
            // The video first: a sidecar without its video reads as not found, never the reverse.
            yield* removeFile(pathsOf(id).video)
            yield* removeFile(pathsOf(id).sidecar)
            removed++
          }
          return removed
        })
    } satisfies VideoStoreService
  })

/** The on-disk upload store as a layer. */
export const layer = (options: FileVideoStoreOptions): Layer.Layer<VideoStore> => Layer.effect(VideoStore, make(options))
