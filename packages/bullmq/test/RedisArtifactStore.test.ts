/**
 * Shared screenshots: any node reads what any worker stored, until the session expires.
 */
import { describe, expect, it } from "@effect/vitest"
import * as RedisArtifactStore from "@identify-face/bullmq/RedisArtifactStore"
import { makeSessionId } from "@identify-face/core/Ids"
import type { FileKey } from "@identify-face/core/Ids"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { freshPrefix } from "./helpers/redis.js"
import { onNode } from "./helpers/stores.js"

const NOW = Date.now()
const LATER = NOW + 60_000
const jpeg = (byte: number) => ({ bytes: new Uint8Array([0xff, 0xd8, byte]), contentType: "image/jpeg", expiresAt: LATER })

describe("RedisArtifactStore", () => {
  it.scopedLive("serves a screenshot on any node until it expires, with its keys expiring too", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const worker = yield* onNode(prefix, RedisArtifactStore.make)
      const api = yield* onNode(prefix, RedisArtifactStore.make)
      const sessionId = makeSessionId()
      const key = yield* worker.store.put(sessionId, jpeg(1))
      expect(yield* api.store.get(key, NOW)).toEqual(Option.some(jpeg(1)))
      expect(yield* api.store.get(key, LATER)).toEqual(Option.none())
      const { client, keys } = worker.connection
      expect(yield* Effect.promise(() => client.pexpiretime(keys.file(key)))).toBe(LATER)
      expect(yield* Effect.promise(() => client.pexpiretime(keys.sessionFiles(sessionId)))).toBe(LATER)
    }))

  it.scopedLive("deletes every screenshot of a session, and only those", () =>
    Effect.gen(function* () {
      const { store, connection } = yield* onNode(freshPrefix(), RedisArtifactStore.make)
      const [gone, kept] = [makeSessionId(), makeSessionId()]
      const goneKeys = [yield* store.put(gone, jpeg(1)), yield* store.put(gone, jpeg(2))]
      const keptKey = yield* store.put(kept, jpeg(3))
      yield* store.removeSession(gone)
      for (const key of goneKeys) expect(yield* store.get(key, NOW)).toEqual(Option.none())
      expect(yield* store.get(keptKey, NOW)).toEqual(Option.some(jpeg(3)))
      expect(yield* Effect.promise(() => connection.client.exists(connection.keys.sessionFiles(gone)))).toBe(0)
    }))

  it.scopedLive("answers none for a malformed or unknown key", () =>
    Effect.gen(function* () {
      const { store } = yield* onNode(freshPrefix(), RedisArtifactStore.make)
      expect(yield* store.get("../x" as FileKey, NOW)).toEqual(Option.none())
      expect(yield* store.get(`${"a".repeat(43)}.jpg` as FileKey, NOW)).toEqual(Option.none())
    }))
})
