/**
 * The real analysis on clips with known ground truth (see helpers/faceClips.ts): every face found,
 * no extra one, each boundary within one frame of the truth (the end never short, at most one frame
 * late), gaps split or bridged as API.md says, and a JPEG screenshot of each face. Then the edges:
 * a video given only as a stream, refused videos, progress, options and interruption.
 */
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import { InvalidConfigError } from "@identify-face/core/Config"
import { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import type { Analysis } from "@identify-face/core/FaceAnalyzer"
import type { Video } from "@identify-face/core/VideoSource"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import sharp from "sharp"
import { afterAll, beforeAll } from "vitest"
import { DetectorPool } from "../src/internal/DetectorPool.js"
import { resolveFfmpegBinaries } from "../src/internal/ffmpeg.js"
import { fileStream } from "../src/internal/intake/files.js"
import * as NodeFaceAnalyzer from "../src/NodeFaceAnalyzer.js"
import { ASTRONAUT, FPS, FRAME_MS, HOPPER, black, makeShotsClip, pan, pattern, sideBySide, still, zoomIn } from "./helpers/faceClips.js"
import type { FaceClip } from "./helpers/faceClips.js"
import { childrenOf } from "./support/proc.js"
import { tempDir } from "./support/tempDir.js"

const seconds = (s: number) => Math.round(s * FPS)

// grace_hopper.jpg placed so that her face has the astronaut's size and place (measured with the
// detector): only identity tells the two apart across the cut.
const hopperInAstronautsPlace = { share: 0.595, x: 410, y: 4 }

const recipes = {
  steady: () => makeShotsClip([still(ASTRONAUT, seconds(4))], [{ fromFrame: 0, toFrame: seconds(4) }]),
  hardCut: () =>
    makeShotsClip(
      [still(ASTRONAUT, seconds(2.5)), still(HOPPER, seconds(2.5), undefined, hopperInAstronautsPlace)],
      [
        { fromFrame: 0, toFrame: seconds(2.5) },
        { fromFrame: seconds(2.5), toFrame: seconds(5) }
      ]
    ),
  shortGap: () =>
    makeShotsClip([still(ASTRONAUT, seconds(2.2)), black(seconds(0.8)), still(ASTRONAUT, seconds(2.2))], [{ fromFrame: 0, toFrame: seconds(5.2) }]),
  longGap: () =>
    makeShotsClip(
      [still(ASTRONAUT, seconds(2.2)), black(seconds(1.3)), still(ASTRONAUT, seconds(2.2))],
      [
        { fromFrame: 0, toFrame: seconds(2.2) },
        { fromFrame: seconds(3.5), toFrame: seconds(5.7) }
      ]
    ),
  zoom: () => makeShotsClip([zoomIn(HOPPER, seconds(4), 1.6)], [{ fromFrame: 0, toFrame: seconds(4) }]),
  pan: () => makeShotsClip([pan(ASTRONAUT, seconds(4), 4)], [{ fromFrame: 0, toFrame: seconds(4) }]),
  sideBySide: () =>
    makeShotsClip(
      [sideBySide(ASTRONAUT, HOPPER, seconds(4))],
      [
        { fromFrame: 0, toFrame: seconds(4) },
        { fromFrame: 0, toFrame: seconds(4) }
      ]
    ),
  portraitMov: () =>
    makeShotsClip([still(HOPPER, seconds(4), { width: 720, height: 1280 }, { share: 0.6 })], [{ fromFrame: 0, toFrame: seconds(4) }], {
      container: "mov",
      rotate: 90
    }),
  noFace: () => makeShotsClip([pattern(seconds(4))], []),
  tooShort: () => makeShotsClip([still(ASTRONAUT, seconds(1.5)), black(seconds(2.5))], [])
}

let clips: Record<keyof typeof recipes, FaceClip>

beforeAll(async () => {
  const built = await Promise.all(Object.entries(recipes).map(async ([name, recipe]) => [name, await recipe()] as const))
  clips = Object.fromEntries(built) as typeof clips
}, 120_000)

const fileVideo = (path: string): Video => ({ path, bytes: statSync(path).size, stream: fileStream(path) })

const analyze = (video: Video, onProgress: (progress: number) => void = () => undefined) =>
  Effect.flatMap(FaceAnalyzer, (analyzer) => analyzer.analyze(video, (progress) => Effect.sync(() => onProgress(progress))))

/** Every true face found and none more, each start within a frame of the truth, each end at most a frame past it, never short. */
const expectTruth = (analysis: Analysis, clip: FaceClip) => {
  const found = analysis.faces.map((face) => [face.startMs, face.endMs])
  const truth = clip.faces.map((face) => [face.fromFrame * FRAME_MS, face.toFrame * FRAME_MS])
  expect(found.length, JSON.stringify({ found, truth })).toBe(truth.length)
  found.forEach(([startMs = Number.NaN, endMs = Number.NaN], i) => {
    const [trueStart = Number.NaN, trueEnd = Number.NaN] = truth[i] ?? []
    const why = JSON.stringify({ face: i, found: [startMs, endMs], truth: [trueStart, trueEnd] })
    expect(Math.abs(startMs - trueStart), why).toBeLessThanOrEqual(FRAME_MS)
    // Never short of the true end, at most one frame past it.
    expect(endMs, why).toBeGreaterThanOrEqual(Math.floor(trueEnd))
    expect(endMs - trueEnd, why).toBeLessThanOrEqual(FRAME_MS)
  })
}

let screenshotDetector: DetectorPool
beforeAll(async () => {
  screenshotDetector = await DetectorPool.create({ size: 1 })
}, 30_000)
afterAll(() => screenshotDetector.close())

/** The face in a screenshot, as the detector sees it: the largest one, in shares of the image. */
const faceIn = async (jpeg: Uint8Array) => {
  const { data, info } = await sharp(jpeg).resize({ width: 256, height: 256, fit: "inside" }).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const faces = await screenshotDetector.detect({ width: info.width, height: info.height, data: new Uint8Array(data) }, { pose: "keypoints" })
  const [largest] = [...faces].sort((a, b) => b.box.height - a.box.height)
  return largest === undefined
    ? undefined
    : { centreX: (largest.box.x + largest.box.width / 2) / info.width, centreY: (largest.box.y + largest.box.height / 2) / info.height, height: largest.box.height / info.height }
}

/** Each screenshot is a JPEG, square-ish, at most 512 px, showing the face large and in the middle. */
const expectScreenshots = (analysis: Analysis) =>
  Effect.forEach(analysis.faces, (face) =>
    Effect.promise(async () => {
      expect([...face.image.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff])
      const { format, width = 0, height = 0 } = await sharp(face.image).metadata()
      expect(format).toBe("jpeg")
      expect(Math.max(width, height)).toBeLessThanOrEqual(512)
      expect(Math.min(width, height)).toBeGreaterThanOrEqual(128)
      expect(width / height).toBeGreaterThan(0.75)
      expect(width / height).toBeLessThan(1.34)
      const shown = await faceIn(face.image)
      expect(shown).toBeDefined()
      expect(shown!.centreX).toBeGreaterThan(0.3)
      expect(shown!.centreX).toBeLessThan(0.7)
      expect(shown!.centreY).toBeGreaterThan(0.3)
      expect(shown!.centreY).toBeLessThan(0.7)
      expect(shown!.height).toBeGreaterThan(0.3)
    })
  )

const analysisDirectories = () => readdirSync(tmpdir()).filter((name) => name.startsWith("identify-face-analysis-"))

const ffmpegChildren = () => childrenOf(process.pid).filter((child) => /ffmpeg|ffprobe/.test(child.args))

layer(NodeFaceAnalyzer.layer({ poolSize: 2 }), { timeout: "60 seconds", excludeTestServices: true })("NodeFaceAnalyzer", (it) => {
  describe("accuracy against the truth of each clip", () => {
    it.effect.each(Object.keys(recipes) as Array<keyof typeof recipes>)(
      "%s",
      (name) =>
        Effect.gen(function* () {
          const clip = clips[name]
          const analysis = yield* analyze(fileVideo(clip.path))
          expectTruth(analysis, clip)
          yield* expectScreenshots(analysis)
          // The portrait MOV is stored turned, with rotation metadata: its displayed size counts.
          const { width, height, fps, format } = analysis.metadata
          expect({ width, height, fps, format }).toEqual(
            name === "portraitMov" ? { width: 720, height: 1280, fps: FPS, format: "mov" } : { width: 1280, height: 720, fps: FPS, format: "mp4" }
          )
        }),
      30_000
    )
  })

  it.effect(
    "analyses a video given only as a stream, from a temporary file it removes afterwards",
    () =>
      Effect.gen(function* () {
        const before = analysisDirectories()
        const { bytes, stream } = fileVideo(clips.steady.path)
        const progress: Array<number> = []
        const analysis = yield* analyze({ path: undefined, bytes, stream }, (p) => progress.push(p))
        expectTruth(analysis, clips.steady)
        expect(analysisDirectories()).toEqual(before)
        // Progress only moves forward, to 1.
        expect(progress.length).toBeGreaterThan(5)
        expect(progress).toEqual([...progress].sort((a, b) => a - b))
        expect(progress.at(-1)).toBe(1)
        expect(Object.keys(analysis.timings).sort()).toEqual(["analyze", "coarse", "probe", "refine", "screenshots"])
      }),
    30_000
  )

  it.effect("passes the checks' refusal on with its code", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(analyze(fileVideo(ASTRONAUT)))
      expect(error.code).toBe("014002110")
    })
  )

  it.effect("refuses a stream larger than 100 MB with 014002111 while writing it", () =>
    Effect.gen(function* () {
      const chunk = new Uint8Array(8 * 1024 * 1024)
      const huge = Stream.repeatValue(chunk).pipe(Stream.take(14))
      const error = yield* Effect.flip(analyze({ path: undefined, bytes: 14 * chunk.length, stream: huge }))
      expect(error.code).toBe("014002111")
    })
  )

  it.effect(
    "kills every ffmpeg child when interrupted, before the interruption returns",
    () =>
      Effect.gen(function* () {
        const fiber = yield* Effect.fork(analyze(fileVideo(clips.longGap.path)))
        // Wait for the coarse pass's decoder (the checks' own runs write no raw video).
        const decoding = () => ffmpegChildren().some((child) => child.args.includes("rawvideo"))
        while (!decoding() && Option.isNone(yield* Fiber.poll(fiber))) yield* Effect.sleep("20 millis")
        expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
        yield* Fiber.interrupt(fiber)
        expect(ffmpegChildren()).toEqual([])
      }),
    30_000
  )
})

describe("NodeFaceAnalyzer options", () => {
  it.live(
    "take the rules: without identity the hard cut reads as one face, as both faces share place and size",
    () =>
      Effect.gen(function* () {
        const analyzer = yield* NodeFaceAnalyzer.make({ poolSize: 1, rules: { minEmbeddingSimilarity: -1 } })
        const analysis = yield* analyzer.analyze(fileVideo(clips.hardCut.path), () => Effect.void)
        expect(analysis.faces.map((face) => [face.startMs, face.endMs])).toEqual([[0, 5000]])
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "take the ffmpeg to decode with",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir("ffmpeg-path")
        const log = join(dir, "calls.log")
        const ffmpeg = join(dir, "ffmpeg")
        writeFileSync(ffmpeg, `#!/bin/sh\necho "$*" >> '${log}'\nexec '${resolveFfmpegBinaries().ffmpeg}' "$@"\n`)
        chmodSync(ffmpeg, 0o755)
        const analyzer = yield* NodeFaceAnalyzer.make({ poolSize: 1, ffmpegPath: ffmpeg })
        yield* analyzer.analyze(fileVideo(clips.tooShort.path), () => Effect.void)
        expect(readFileSync(log, "utf8")).toMatch(/-f rawvideo -y pipe:3/)
      }).pipe(Effect.scoped),
    30_000
  )

  it.each([
    [{ sampleFps: 0 }, "sampleFps must be a number from 1 to 30, got 0"],
    [{ detectMaxSide: 100.5 }, "detectMaxSide must be an integer from 128 to 1920, got 100.5"],
    [{ poolSize: 0 }, "poolSize must be an integer from 1 to 64, got 0"],
    [{ rules: { maxGapMs: -1 } }, "maxGapMs must be a finite number from 0, got -1"],
    [{ ffmpegPath: "/nonexistent/ffmpeg" }, "ffmpegPath must be an executable file, got /nonexistent/ffmpeg"]
  ] as const)("refuses %j at construction", (options, message) => {
    expect(() => NodeFaceAnalyzer.layer(options)).toThrow(InvalidConfigError)
    expect(() => NodeFaceAnalyzer.layer(options)).toThrow(message)
  })
})
