/**
 * Face screenshots on disk, under `<dataDir>/files/<sessionId>/<key>`, each with a sidecar
 * `<key>.json` holding its content type and expiry. Keys are found through an index in memory,
 * rebuilt from the sidecars at start, when expired or incomplete files are deleted.
 *
 * @since 0.1.0
 */
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { ArtifactStore } from "@identify-face/core/ArtifactStore"
import type { Artifact, ArtifactStoreService } from "@identify-face/core/ArtifactStore"
import { SessionId, isFileKey, makeFileKey } from "@identify-face/core/Ids"
import type { FileKey } from "@identify-face/core/Ids"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { removeFile, unlessMissing } from "./internal/intake/files.js"

/** Options of {@link make}. */
export interface FileArtifactStoreOptions {
  /** Screenshots are kept under `<dataDir>/files/`; one process per directory. */
  readonly dataDir: string
}

const Sidecar = Schema.parseJson(Schema.Struct({ contentType: Schema.String, expiresAt: Schema.Number }))
const decodeSidecar = Schema.decodeUnknownOption(Sidecar)
const encodeSidecar = Schema.encodeSync(Sidecar)

interface IndexEntry {
  readonly sessionId: SessionId
  readonly contentType: string
  readonly expiresAt: number
}

const isSessionId = Schema.is(SessionId)

const sidecarName = (key: FileKey) => `${key}.json`

const removeDirectory = (path: string) => Effect.promise(() => rm(path, { recursive: true, force: true }))

/** A screenshot store on disk. */
export const make = (options: FileArtifactStoreOptions): Effect.Effect<ArtifactStoreService> =>
  Effect.gen(function* () {
    const root = join(options.dataDir, "files")
    const index = new Map<FileKey, IndexEntry>()
    yield* Effect.promise(() => mkdir(root, { recursive: true }))

    /** Indexes a session's live screenshots; deletes the rest, and the folder if none is left. */
    const restoreSession = (sessionId: SessionId, now: number) =>
      Effect.gen(function* () {
        const directory = join(root, sessionId)
        const names = yield* Effect.promise(() => readdir(directory))
        const keys = names.filter((name): name is FileKey => isFileKey(name))
        let kept = 0
        for (const key of keys) {
          const text = yield* unlessMissing(() => readFile(join(directory, sidecarName(key)), "utf8"))
          const sidecar = text === undefined ? Option.none() : decodeSidecar(text)
          if (Option.isSome(sidecar) && sidecar.value.expiresAt > now) {
            index.set(key, { sessionId, ...sidecar.value })
            kept++
          } else {
            yield* removeFile(join(directory, key))
            yield* removeFile(join(directory, sidecarName(key)))
          }
        }
        if (kept === 0) yield* removeDirectory(directory)
      })

    const now = yield* Clock.currentTimeMillis
    const sessions = (yield* Effect.promise(() => readdir(root))).filter((name): name is SessionId => isSessionId(name))
    yield* Effect.forEach(sessions, (sessionId) => restoreSession(sessionId, now), { discard: true })

    return {
      put: (sessionId, artifact) => {
        // A session id names a folder: anything but a well-formed one is a bug, never a path.
        if (!isSessionId(sessionId)) return Effect.dieMessage("FileArtifactStore: not a session id")
        const key = makeFileKey()
        const directory = join(root, sessionId)
        return Effect.promise(async () => {
          await mkdir(directory, { recursive: true })
          await writeFile(join(directory, key), artifact.bytes, { flag: "wx" })
          await writeFile(join(directory, sidecarName(key)), encodeSidecar({ contentType: artifact.contentType, expiresAt: artifact.expiresAt }))
        }).pipe(
          Effect.zipRight(Effect.sync(() => index.set(key, { sessionId, contentType: artifact.contentType, expiresAt: artifact.expiresAt }))),
          Effect.as(key)
        )
      },
      get: (key, now) => {
        // The key is checked before it names a file, so `../x` or a NUL never reaches the file system.
        const entry = isFileKey(key) ? index.get(key) : undefined
        if (entry === undefined || entry.expiresAt <= now) return Effect.succeedNone
        return Effect.map(
          unlessMissing(() => readFile(join(root, entry.sessionId, key))),
          (bytes): Option.Option<Artifact> =>
            bytes === undefined
              ? Option.none()
              : Option.some({ bytes, contentType: entry.contentType, expiresAt: entry.expiresAt })
        )
      },
      removeSession: (sessionId) => {
        if (!isSessionId(sessionId)) return Effect.void
        return removeDirectory(join(root, sessionId)).pipe(
          Effect.zipRight(
            Effect.sync(() => {
              for (const [key, entry] of index) if (entry.sessionId === sessionId) index.delete(key)
            })
          )
        )
      }
    } satisfies ArtifactStoreService
  })

/** The on-disk screenshot store as a layer. */
export const layer = (options: FileArtifactStoreOptions): Layer.Layer<ArtifactStore> => Layer.effect(ArtifactStore, make(options))
