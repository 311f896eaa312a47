/**
 * Files for the stores, the fetcher and the analysis: a capped, streaming write that leaves nothing
 * behind when it fails, a video's bytes on disk for a while, a lazy read stream, and removal that
 * never fails.
 */
import { createReadStream } from "node:fs"
import { mkdtemp, open, rm } from "node:fs/promises"
import type { FileHandle } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { defaults } from "@identify-face/core/Config"
import { capped } from "@identify-face/core/VideoStore"
import type { VideoError, VideoTooLargeError } from "@identify-face/core/Errors"
import type { Video } from "@identify-face/core/VideoSource"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { fromReadable } from "./readable.js"

/** Deletes a file if it is there; a failure is logged, never raised, as it only leaves litter. */
export const removeFile = (path: string): Effect.Effect<void> =>
  Effect.tryPromise(() => rm(path, { force: true })).pipe(Effect.ignoreLogged)

/** What a file operation answers, or undefined when the file is not there; other errors are defects. */
export const unlessMissing = <A>(operation: () => Promise<A>): Effect.Effect<A | undefined> =>
  Effect.promise(() =>
    operation().catch((error: unknown) => ((error as NodeJS.ErrnoException).code === "ENOENT" ? undefined : Promise.reject(error)))
  )

const writeAll = async (file: FileHandle, chunk: Uint8Array) => {
  let offset = 0
  while (offset < chunk.byteLength) offset += (await file.write(chunk, offset)).bytesWritten
}

/**
 * Writes a stream to a new file (it must not exist), one chunk at a time so memory stays flat,
 * failing with 014002111 as soon as more than `maxBytes` arrived. On any failure or interruption
 * the file is deleted before this returns. Answers the number of bytes written.
 */
export const writeCapped = <E>(
  body: Stream.Stream<Uint8Array, E>,
  path: string,
  maxBytes: number
): Effect.Effect<number, E | VideoTooLargeError> =>
  Effect.acquireUseRelease(
    Effect.promise(() => open(path, "wx")),
    (file) =>
      Stream.runFoldEffect(capped(body, maxBytes), 0, (written, chunk) =>
        Effect.as(Effect.promise(() => writeAll(file, chunk)), written + chunk.byteLength)
      ),
    (file) => Effect.promise(() => file.close())
  ).pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : removeFile(path))))

/** The path of a video on disk: its own, or a temporary file its bytes are written to, removed with the scope. */
export const videoPath = (video: Video): Effect.Effect<string, VideoError, Scope.Scope> =>
  video.path !== undefined
    ? Effect.succeed(video.path)
    : Effect.gen(function* () {
        const directory = yield* Effect.acquireRelease(
          Effect.promise(() => mkdtemp(join(tmpdir(), "identify-face-analysis-"))),
          (path) => Effect.promise(() => rm(path, { recursive: true, force: true }))
        )
        const path = join(directory, "video")
        yield* writeCapped(video.stream, path, defaults.maxVideoBytes)
        return path
      })

/** The content of a file, read afresh each time the stream runs; a read failure is a defect. */
export const fileStream = (path: string): Stream.Stream<Uint8Array> =>
  Stream.orDie(fromReadable(() => createReadStream(path), (cause) => cause))
