/**
 * Where face screenshots are kept, under unguessable keys, until their session expires.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { makeFileKey } from "./Ids.js"
import type { FileKey, SessionId } from "./Ids.js"

/** A stored file. */
export interface Artifact {
  readonly bytes: Uint8Array
  readonly contentType: string
  /** Epoch ms after which it is gone. */
  readonly expiresAt: number
}

/** A store of screenshots. */
export interface ArtifactStoreService {
  /** Stores a file of a session and answers its new key. */
  readonly put: (sessionId: SessionId, artifact: Artifact) => Effect.Effect<FileKey>
  /** The file under this key, while it has not expired. */
  readonly get: (key: FileKey, now: number) => Effect.Effect<Option.Option<Artifact>>
  /** Deletes every file of a session. */
  readonly removeSession: (sessionId: SessionId) => Effect.Effect<void>
}

/** The screenshot store in use. */
export class ArtifactStore extends Context.Tag("@identify-face/core/ArtifactStore")<ArtifactStore, ArtifactStoreService>() {}

interface Entry extends Artifact {
  readonly sessionId: SessionId
}

/** A screenshot store in memory. */
export const makeMemory: Effect.Effect<ArtifactStoreService> = Effect.gen(function* () {
  const files = yield* Ref.make(new Map<FileKey, Entry>())
  return {
    put: (sessionId, artifact) =>
      Effect.sync(makeFileKey).pipe(
        Effect.tap((key) => Ref.update(files, (map) => new Map(map).set(key, { ...artifact, sessionId })))
      ),
    get: (key, now) =>
      Effect.map(Ref.get(files), (map) => Option.filter(Option.fromNullable(map.get(key)), (entry) => entry.expiresAt > now)),
    removeSession: (sessionId) =>
      Ref.update(files, (map) => new Map([...map].filter(([, entry]) => entry.sessionId !== sessionId)))
  }
})

/** The in-memory screenshot store as a layer. */
export const layerMemory: Layer.Layer<ArtifactStore> = Layer.effect(ArtifactStore, makeMemory)
