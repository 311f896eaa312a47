import { existsSync } from "node:fs"
import { readdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { describe, expect, it } from "@effect/vitest"
import type { StoredVideo } from "@identify-face/core/VideoStore"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as FileVideoStore from "../src/FileVideoStore.js"
import { tempDir } from "./support/tempDir.js"

const MB = 1024 * 1024

setFlagsFromString("--expose-gc")
const collectGarbage = runInNewContext("gc") as () => void

/** Heap and buffer memory still reachable after a full garbage collection. */
const retainedBytes = () => {
  collectGarbage()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}
const NOW = 1_764_140_000_000
const LATER = NOW + 60_000
const options = { tenant: "tenant_a", maxBytes: 10 * MB, expiresAt: LATER }

/** A store over a fresh data dir. */
const setup = Effect.gen(function* () {
  const dataDir = yield* tempDir("uploads")
  return { dataDir, uploads: join(dataDir, "uploads"), store: yield* FileVideoStore.make({ dataDir }) }
})

const listing = (dir: string) => Effect.promise(() => readdir(dir))

const bytesOf = (text: string) => new TextEncoder().encode(text)

const collect = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Effect.map(Stream.runCollect(stream), (chunks) => Buffer.concat(Chunk.toArray(chunks)).toString("utf8"))

/** `count` fresh chunks of `size` bytes, made as they are pulled, never held together. */
const generated = (count: number, size: number) => Stream.range(1, count, 1).pipe(Stream.map(() => new Uint8Array(size).fill(7)))

describe("FileVideoStore", () => {
  it.scopedLive("stores an upload and opens it again, as a file", () =>
    Effect.gen(function* () {
      const { uploads, store } = yield* setup
      const stored = yield* store.put(Stream.make(bytesOf("hello "), bytesOf("video")), options)
      expect(stored).toMatchObject({ tenant: "tenant_a", bytes: 11, expiresAt: LATER })
      const found = yield* store.get("tenant_a", stored.id, NOW)
      expect(found).toEqual(stored)
      const video = yield* store.open(found)
      expect(video.bytes).toBe(11)
      expect(video.path).toBe(join(uploads, `${stored.id}.mp4`))
      expect(yield* collect(video.stream)).toBe("hello video")
      expect((yield* listing(uploads)).sort()).toEqual([`${stored.id}.json`, `${stored.id}.mp4`])
    }))

  it.scopedLive("finds uploads again after a restart", () =>
    Effect.gen(function* () {
      const { dataDir, store } = yield* setup
      const stored = yield* store.put(Stream.make(bytesOf("kept")), options)
      const restarted = yield* FileVideoStore.make({ dataDir })
      expect(yield* restarted.get("tenant_a", stored.id, NOW)).toEqual(stored)
    }))

  it.scopedLive("answers 014002103 for another tenant, an expired upload and an unknown id", () =>
    Effect.gen(function* () {
      const { store } = yield* setup
      const stored = yield* store.put(Stream.make(bytesOf("mine")), options)
      const codes = [
        yield* Effect.flip(store.get("tenant_b", stored.id, NOW)),
        yield* Effect.flip(store.get("tenant_a", stored.id, LATER)),
        yield* Effect.flip(store.get("tenant_a", "vid_0000000000000000000000000a", NOW))
      ].map((error) => error.code)
      expect(codes).toEqual(["014002103", "014002103", "014002103"])
    }))

  it.scopedLive("refuses malformed ids without touching the file system", () =>
    Effect.gen(function* () {
      const { dataDir, store } = yield* setup
      // Valid sidecars where the traversals would lead: a store that built paths from them would find these.
      const sidecar = JSON.stringify({ tenant: "tenant_a", bytes: 1, expiresAt: LATER })
      yield* Effect.promise(() => writeFile(join(dataDir, "x.json"), sidecar))
      yield* Effect.promise(() => writeFile(join(dataDir, "uploads", "vid_x.json"), sidecar))
      for (const id of ["../x", "vid_x", "vid_0000000000000000000000000a\0", `vid_${"0".repeat(26)}/../../x`, ""]) {
        expect((yield* Effect.flip(store.get("tenant_a", id, NOW))).code, JSON.stringify(id)).toBe("014002103")
      }
      const forged: StoredVideo = { id: "../x" as StoredVideo["id"], tenant: "tenant_a", bytes: 1, expiresAt: LATER }
      expect((yield* Effect.flip(store.open(forged))).code).toBe("014002103")
    }))

  it.scopedLive("sweeps expired uploads only", () =>
    Effect.gen(function* () {
      const { uploads, store } = yield* setup
      const soon = yield* store.put(Stream.make(bytesOf("soon")), { ...options, expiresAt: NOW + 1_000 })
      const late = yield* store.put(Stream.make(bytesOf("late")), options)
      expect(yield* store.sweep(NOW)).toBe(0)
      expect(yield* store.sweep(NOW + 1_000)).toBe(1)
      expect((yield* listing(uploads)).sort()).toEqual([`${late.id}.json`, `${late.id}.mp4`])
      expect((yield* Effect.flip(store.get("tenant_a", soon.id, NOW))).code).toBe("014002103")
      expect((yield* Effect.flip(store.open(soon))).code).toBe("014002103")
    }))

  describe("an upload that does not finish leaves nothing", () => {
    it.scopedLive("over the cap: 014002111, stopped at the cap, memory flat over a 300 MB body", () =>
      Effect.gen(function* () {
        const { uploads, store } = yield* setup
        const chunkSize = 64 * 1024
        let pulled = 0
        let peak = 0
        const baseline = retainedBytes()
        const body = generated((300 * MB) / chunkSize, chunkSize).pipe(
          Stream.tap(() =>
            Effect.sync(() => {
              // Every 8 MB: what is still held after a full collection.
              if (++pulled % 128 === 0) peak = Math.max(peak, retainedBytes() - baseline)
            })
          )
        )
        const error = yield* Effect.flip(store.put(body, { ...options, maxBytes: 100 * MB }))
        expect(error.code).toBe("014002111")
        // Pulled up to the cap and one chunk past it, never the rest of the 300 MB.
        expect(pulled).toBe((100 * MB) / chunkSize + 1)
        expect(peak).toBeLessThan(16 * MB)
        expect(yield* listing(uploads)).toEqual([])
      }), 30_000)

    it.scopedLive("a body that fails midway: its error, and no file", () =>
      Effect.gen(function* () {
        const { uploads, store } = yield* setup
        const body = Stream.concat(generated(4, 1024), Stream.fail("connection reset" as const))
        expect(yield* Effect.flip(store.put(body, options))).toBe("connection reset")
        expect(yield* listing(uploads)).toEqual([])
      }))

    it.scopedLive("an upload interrupted midway: no file", () =>
      Effect.gen(function* () {
        const { uploads, store } = yield* setup
        const body = Stream.concat(generated(4, 1024), Stream.never)
        const fiber = yield* Effect.fork(store.put(body, options))
        yield* Effect.sleep("50 millis")
        expect((yield* listing(uploads)).length).toBe(1)
        yield* Fiber.interrupt(fiber)
        expect(yield* listing(uploads)).toEqual([])
      }))

    it.scopedLive("a crash mid-upload: the partial file is removed at the next start", () =>
      Effect.gen(function* () {
        const { dataDir, uploads } = yield* setup
        yield* Effect.promise(() => writeFile(join(uploads, "vid_0000000000000000000000000a.part"), "partial"))
        yield* FileVideoStore.make({ dataDir })
        expect(existsSync(join(uploads, "vid_0000000000000000000000000a.part"))).toBe(false)
      }))
  })
})
