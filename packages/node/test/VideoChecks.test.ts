/**
 * The video requirements of API.md on real files made with ffmpeg: one case per rule, chosen so
 * that only that rule is broken, plus the precedence between rules and the child processes'
 * lifetime.
 */
import { execFileSync } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { afterAll, beforeAll } from "vitest"
import { resolveFfmpegBinaries } from "../src/internal/ffmpeg.js"
import * as VideoChecks from "../src/VideoChecks.js"
import type { VideoChecksOptions } from "../src/VideoChecks.js"
import { makeClip, patchSampleEntry } from "./helpers/clips.js"
import type { ClipOptions } from "./helpers/clips.js"

const FACE_JPG = join(import.meta.dirname, "fixtures", "grace_hopper.jpg")

/** The clips of the tests, each breaking at most one rule. */
const RECIPES = {
  // Movie header first and a keyframe each second: cut and corrupted copies are made of it.
  landscape: { width: 1280, height: 720, faststart: true, keyframeInterval: 25 },
  fullHdFace: { width: 1920, height: 1080, fps: 10, from: FACE_JPG },
  hevcMov: { width: 1920, height: 1080, fps: 5, codec: "hevc", container: "mov" },
  portraitMov: { width: 720, height: 1280, fps: 10, container: "mov" },
  rotated: { width: 1280, height: 720, fps: 10, rotate: 90 },
  // One frame a second keeps the long clips cheap.
  sixtySeconds: { width: 1280, height: 720, fps: 1, seconds: 60 },
  webm: { width: 1280, height: 720, fps: 5, codec: "vp9", container: "webm" },
  avi: { width: 1280, height: 720, fps: 5, container: "avi" },
  short: { width: 1280, height: 720, fps: 10, seconds: 1.5 },
  long: { width: 1280, height: 720, fps: 1, seconds: 61 },
  vga: { width: 640, height: 480, fps: 10 },
  fourByThree: { width: 960, height: 1280, fps: 10 },
  tall: { width: 720, height: 2200, fps: 5 },
  uhd: { width: 3840, height: 2160, fps: 1 },
  audioOnly: { codec: "none" }
} as const satisfies Record<string, ClipOptions>

let dir: string
let clips: Record<keyof typeof RECIPES, string>

const checkFile = (path: string, options?: VideoChecksOptions) => VideoChecks.check({ path, bytes: statSync(path).size }, options)

/** The code and message the check of `path` fails with. */
const refusal = (path: string, options?: VideoChecksOptions) =>
  Effect.map(Effect.flip(checkFile(path, options)), (error) => ({ code: error.code, message: error.message }))

/** Writes an edited copy of a file into the test's folder. */
const derive = (name: string, source: string, edit: (bytes: Buffer) => Uint8Array = (bytes) => bytes): string => {
  const path = join(dir, name)
  writeFileSync(path, edit(readFileSync(source)))
  return path
}

/** Overwrites the middle of the last keyframe's packet with a pattern no decoder accepts as a picture. */
const corruptLastKeyframe = (path: string) => (bytes: Buffer) => {
  const { ffprobe } = resolveFfmpegBinaries()
  const packets = execFileSync(ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pos,size,flags", "-of", "csv=p=0", path])
    .toString()
    .trim()
    .split("\n")
    .map((line) => line.split(","))
  const [size, pos] = packets.filter(([, , flags]) => flags?.startsWith("K")).pop() ?? []
  const copy = Buffer.from(bytes)
  for (let i = Number(pos) + 100; i < Number(pos) + Number(size) - 100; i++) copy[i] = (i * 37) & 0xff
  return copy
}

/** A stand-in for ffmpeg or ffprobe that appends its process id to a file and hangs. */
const hangingBinary = (name: string) => {
  const path = join(dir, name)
  const pidFile = `${path}.pids`
  writeFileSync(path, `#!/bin/sh\necho $$ >> '${pidFile}'\nexec sleep 30\n`)
  chmodSync(path, 0o755)
  const pids = () => (existsSync(pidFile) ? readFileSync(pidFile, "utf8").trim().split("\n").map(Number) : [])
  return { path, pids }
}

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const waitFor = (condition: () => boolean) =>
  Effect.gen(function* () {
    while (!condition()) yield* Effect.sleep("20 millis")
  })

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "video-checks-"))
  const made = await Promise.all(Object.entries(RECIPES).map(async ([name, recipe]) => [name, await makeClip(recipe)] as const))
  clips = Object.fromEntries(made) as Record<keyof typeof RECIPES, string>
}, 120_000)

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("VideoChecks.check accepts", () => {
  it.effect("a 1280x720 H.264 MP4, with its metadata", () =>
    Effect.gen(function* () {
      expect(yield* checkFile(clips.landscape)).toEqual({
        duration_ms: 2000,
        width: 1280,
        height: 720,
        fps: 25,
        format: "mp4",
        codec: "h264",
        rotation: 0,
        startTimeMs: 0,
        streamIndex: 0
      })
    })
  )

  it.effect("a 1920x1080 H.264 MP4 of a photo", () =>
    Effect.gen(function* () {
      expect(yield* checkFile(clips.fullHdFace)).toMatchObject({ width: 1920, height: 1080, fps: 10, format: "mp4" })
    })
  )

  it.effect("a 1080p HEVC QuickTime movie", () =>
    Effect.gen(function* () {
      expect(yield* checkFile(clips.hevcMov)).toMatchObject({ width: 1920, height: 1080, format: "mov", codec: "hevc" })
    })
  )

  it.effect("a portrait 720x1280 QuickTime movie", () =>
    Effect.gen(function* () {
      expect(yield* checkFile(clips.portraitMov)).toMatchObject({ width: 720, height: 1280, format: "mov" })
    })
  )

  it.effect("a 1280x720 clip with rotation 90 metadata, as the 720x1280 it displays", () =>
    Effect.gen(function* () {
      expect(yield* checkFile(clips.rotated)).toMatchObject({ width: 720, height: 1280, rotation: 90 })
    })
  )

  it.effect("exactly 60 s", () =>
    Effect.gen(function* () {
      expect(yield* checkFile(clips.sixtySeconds)).toMatchObject({ duration_ms: 60_000, fps: 1 })
    })
  )

  it.effect("an MP4 whatever its name", () =>
    Effect.gen(function* () {
      expect(yield* checkFile(derive("named.webm", clips.landscape))).toMatchObject({ format: "mp4" })
    })
  )
})

describe("VideoChecks.check refuses", () => {
  it.effect.each<readonly [string, () => string, string]>([
    ["a WebM", () => derive("webm.mp4", clips.webm), "it is Matroska or WebM"],
    ["an AVI", () => derive("avi.mp4", clips.avi), "it is AVI"],
    ["a JPEG", () => derive("photo.mp4", FACE_JPG), "it is JPEG"],
    ["a text file", () => derive("notes.mp4", FACE_JPG, () => Buffer.from("not a video at all\n")), "no ftyp or moov box"]
  ])("%s named .mp4 with 014002110", ([, path, reason]) =>
    Effect.gen(function* () {
      const { code, message } = yield* refusal(path())
      expect(code).toBe("014002110")
      expect(message).toContain(reason)
    })
  )

  it.effect("a file over the size cap with 014002111", () =>
    Effect.gen(function* () {
      expect(yield* refusal(clips.landscape, { maxBytes: 1000 })).toEqual({ code: "014002111", message: "the video is larger than 1000 bytes" })
    })
  )

  it.effect("1.5 s and 61 s with 014002112", () =>
    Effect.gen(function* () {
      expect(yield* refusal(clips.short)).toEqual({ code: "014002112", message: "duration 1.5 s is not from 2 s to 60 s" })
      expect(yield* refusal(clips.long)).toEqual({ code: "014002112", message: "duration 61 s is not from 2 s to 60 s" })
    })
  )

  it.effect("640x480, and 960x1280 (every side in range), with 014002113", () =>
    Effect.gen(function* () {
      expect(yield* refusal(clips.vga)).toEqual({ code: "014002113", message: "resolution 640x480 is not 720p or 1080p" })
      expect(yield* refusal(clips.fourByThree)).toEqual({ code: "014002113", message: "resolution 960x1280 is not 720p or 1080p" })
    })
  )

  it.effect("720x2200 (shorter side 720) and 3840x2160 (shorter side not 720 or 1080 either) with 014002114", () =>
    Effect.gen(function* () {
      const message = (size: string) => `the video track declares ${size}: each side must be from 512 to 2160 px`
      expect(yield* refusal(clips.tall)).toEqual({ code: "014002114", message: message("720x2200") })
      expect(yield* refusal(clips.uhd)).toEqual({ code: "014002114", message: message("3840x2160") })
    })
  )

  it.effect("720x2200 with 014002114 when its header understates the size ffprobe reads", () =>
    Effect.gen(function* () {
      const understated = derive("understated.mp4", clips.tall, patchSampleEntry({ width: 720, height: 720 }))
      expect(yield* refusal(understated)).toEqual({ code: "014002114", message: "displayed size 720x2200: each side must be from 512 to 2160 px" })
    })
  )

  it.effect("a header declaring 30000x30000 with 014002114, starting no process", () =>
    Effect.gen(function* () {
      const huge = derive("huge.mp4", clips.landscape, patchSampleEntry({ width: 30000, height: 30000 }))
      const noBinaries = { ffmpeg: join(dir, "no-ffmpeg"), ffprobe: join(dir, "no-ffprobe") }
      expect(yield* refusal(huge, { binaries: noBinaries })).toEqual({
        code: "014002114",
        message: "the video track declares 30000x30000: each side must be from 512 to 2160 px"
      })
    })
  )

  it.effect("a stream larger than its header declares with 014002115, before a decoder allocates it", () =>
    Effect.gen(function* () {
      const liar = derive("liar.mp4", clips.uhd, patchSampleEntry({ width: 1280, height: 720 }))
      const { code, message } = yield* refusal(liar)
      expect(code).toBe("014002115")
      expect(message).toContain("exceeds specified max pixel count")
    })
  )

  it.effect("an audio-only MP4 with 014002115", () =>
    Effect.gen(function* () {
      expect(yield* refusal(clips.audioOnly)).toEqual({ code: "014002115", message: "the file has no video stream" })
    })
  )

  it.effect("a faststart MP4 cut short with 014002115", () =>
    Effect.gen(function* () {
      const cut = derive("cut.mp4", clips.landscape, (bytes) => bytes.subarray(0, Math.floor(bytes.length * 0.6)))
      const { code, message } = yield* refusal(cut)
      expect(code).toBe("014002115")
      expect(message).toMatch(/^the file is cut short: its mdat box lacks \d+ bytes$/)
    })
  )

  it.effect("an MP4 cut before its movie header with 014002115", () =>
    Effect.gen(function* () {
      const cut = derive("no-moov.mp4", clips.fullHdFace, (bytes) => bytes.subarray(0, bytes.indexOf("moov") - 4))
      expect(yield* refusal(cut)).toEqual({ code: "014002115", message: "the file has no movie header (moov box)" })
    })
  )

  it.effect("an unknown codec with 014002115", () =>
    Effect.gen(function* () {
      const unknown = derive("unknown-codec.mp4", clips.landscape, patchSampleEntry({ tag: "zzzz" }))
      expect(yield* refusal(unknown)).toEqual({ code: "014002115", message: 'the video codec "zzzz" is not one this server decodes' })
    })
  )

  it.effect("a corrupt last keyframe with 014002115, found by decoding", () =>
    Effect.gen(function* () {
      const corrupt = derive("corrupt-end.mp4", clips.landscape, corruptLastKeyframe(clips.landscape))
      const { code, message } = yield* refusal(corrupt)
      expect(code).toBe("014002115")
      expect(message).toMatch(/^decoding the end failed/)
    })
  )
})

describe("VideoChecks.check's child processes", () => {
  it.live("a hanging ffprobe is killed at the timeout and the video refused with 014002115", () =>
    Effect.gen(function* () {
      const ffprobe = hangingBinary("hanging-ffprobe")
      const binaries = { ...resolveFfmpegBinaries(), ffprobe: ffprobe.path }
      expect(yield* refusal(clips.landscape, { binaries, timeout: "300 millis" })).toEqual({
        code: "014002115",
        message: "reading the video took longer than 0.3 s"
      })
      expect(ffprobe.pids().filter(isRunning)).toEqual([])
    })
  )

  it.live.each([
    ["ffprobe", 1],
    ["ffmpeg", 2]
  ] as const)("interrupting the check kills its %s children before it returns", ([binary, children]) =>
    Effect.gen(function* () {
      const hanging = hangingBinary(`interrupted-${binary}`)
      const binaries = { ...resolveFfmpegBinaries(), [binary]: hanging.path }
      const fiber = yield* Effect.fork(checkFile(clips.landscape, { binaries }))
      yield* waitFor(() => hanging.pids().length === children)
      yield* Fiber.interrupt(fiber)
      expect(hanging.pids().filter(isRunning)).toEqual([])
    })
  )
})
