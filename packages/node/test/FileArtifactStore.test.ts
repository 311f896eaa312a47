import { existsSync } from "node:fs"
import { mkdir, readdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import type { Artifact } from "@identify-face/core/ArtifactStore"
import { makeFileKey, makeSessionId } from "@identify-face/core/Ids"
import type { FileKey, SessionId } from "@identify-face/core/Ids"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as FileArtifactStore from "../src/FileArtifactStore.js"
import { tempDir } from "./support/tempDir.js"

// The store reads the clock when it starts, to delete what expired: times are relative to it.
const NOW = Date.now()
const LATER = NOW + 3_600_000

const jpeg = (marker: number): Artifact => ({
  bytes: Uint8Array.of(0xff, 0xd8, marker, 0xff, 0xd9),
  contentType: "image/jpeg",
  expiresAt: LATER
})

/** A store over a fresh data dir. */
const setup = Effect.gen(function* () {
  const dataDir = yield* tempDir("files")
  return { dataDir, files: join(dataDir, "files"), store: yield* FileArtifactStore.make({ dataDir }) }
})

const bytesOf = (artifact: Option.Option<Artifact>) => Option.map(artifact, (found) => Array.from(found.bytes))

describe("FileArtifactStore", () => {
  it.scopedLive("stores a screenshot under <dataDir>/files/<session>/<key> and reads it back", () =>
    Effect.gen(function* () {
      const { files, store } = yield* setup
      const session = makeSessionId()
      const key = yield* store.put(session, jpeg(1))
      expect(existsSync(join(files, session, key))).toBe(true)
      const found = yield* store.get(key, NOW)
      expect(bytesOf(found)).toEqual(Option.some([0xff, 0xd8, 1, 0xff, 0xd9]))
      expect(Option.map(found, ({ contentType, expiresAt }) => ({ contentType, expiresAt }))).toEqual(
        Option.some({ contentType: "image/jpeg", expiresAt: LATER })
      )
    }))

  it.scopedLive("answers nothing for an unknown key or once the screenshot expired", () =>
    Effect.gen(function* () {
      const { store } = yield* setup
      const key = yield* store.put(makeSessionId(), jpeg(1))
      expect(yield* store.get(makeFileKey(), NOW)).toEqual(Option.none())
      expect(yield* store.get(key, LATER)).toEqual(Option.none())
    }))

  it.scopedLive("removes every screenshot of a session, and only those", () =>
    Effect.gen(function* () {
      const { files, store } = yield* setup
      const [gone, kept] = [makeSessionId(), makeSessionId()]
      const goneKeys = [yield* store.put(gone, jpeg(1)), yield* store.put(gone, jpeg(2))]
      const keptKey = yield* store.put(kept, jpeg(3))
      yield* store.removeSession(gone)
      for (const key of goneKeys) expect(yield* store.get(key, NOW)).toEqual(Option.none())
      expect(bytesOf(yield* store.get(keptKey, NOW))).toEqual(Option.some([0xff, 0xd8, 3, 0xff, 0xd9]))
      expect(yield* Effect.promise(() => readdir(files))).toEqual([kept])
    }))

  it.scopedLive("finds screenshots again after a restart, and deletes the expired ones then", () =>
    Effect.gen(function* () {
      const { dataDir, files, store } = yield* setup
      const [live, expired] = [makeSessionId(), makeSessionId()]
      const liveKey = yield* store.put(live, jpeg(1))
      const expiredKey = yield* store.put(expired, { ...jpeg(2), expiresAt: 1 })
      const restarted = yield* FileArtifactStore.make({ dataDir })
      expect(bytesOf(yield* restarted.get(liveKey, NOW))).toEqual(Option.some([0xff, 0xd8, 1, 0xff, 0xd9]))
      expect(yield* restarted.get(expiredKey, 0)).toEqual(Option.none())
      expect(yield* Effect.promise(() => readdir(files))).toEqual([live])
    }))

  it.scopedLive("refuses malformed keys and session ids without touching the file system", () =>
    Effect.gen(function* () {
      const { dataDir, files, store } = yield* setup
      // A file where a traversal would lead: a store that built paths from the key would serve it.
      yield* Effect.promise(() => writeFile(join(dataDir, "secret.jpg"), "secret"))
      for (const key of ["../secret.jpg", "../../secret.jpg", `${"a".repeat(43)}.jpg\0`, `${"a".repeat(40)}/../.jpg`, ""]) {
        expect(yield* store.get(key as FileKey, NOW), JSON.stringify(key)).toEqual(Option.none())
      }
      // A folder a traversal in a session id would remove.
      yield* Effect.promise(() => mkdir(join(dataDir, "victim")))
      yield* store.removeSession("../victim" as SessionId)
      expect(existsSync(join(dataDir, "victim"))).toBe(true)
      expect(Exit.isFailure(yield* Effect.exit(store.put("../victim" as SessionId, jpeg(1))))).toBe(true)
      expect(yield* Effect.promise(() => readdir(join(dataDir, "victim")))).toEqual([])
      expect(yield* Effect.promise(() => readdir(files))).toEqual([])
    }))
})
