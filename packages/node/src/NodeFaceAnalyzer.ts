/**
 * The real analysis: core's {@link FaceAnalyzer} on Node, with ffmpeg for decoding, a pool of
 * detector worker threads and the pure face-track rules of `FaceTrack`.
 *
 * For one video:
 * 1. a video without a path on disk is written to a temporary file first (removed afterwards);
 * 2. `VideoChecks.check` refuses it with the code of the first requirement it misses;
 * 3. coarse pass: ffmpeg decodes every frame scaled to `detectMaxSide` (a decoder cannot skip
 *    frames anyway), the samples (`sampleFps`) go to the detector pool, a few in flight, never on
 *    the event loop; the frames between two samples where a face may start or stop being usable
 *    are held in memory (up to 256 MiB); the same ffmpeg hands over each sample at full size too,
 *    and the region around every face found in it is kept for the screenshot (up to 128 MiB);
 * 4. refinement: in rounds, `FaceTrack.framesToExamine` of each window `FaceTrack.refinementRequests`
 *    names are detected, from the held frames or decoded again, until each boundary is exact to one frame;
 * 5. `FaceTrack.finalise` gives the intervals; each one's screenshot is the best of its kept
 *    sample regions, as a JPEG (sharp). Only a face without one (e.g. a sample whose regions were
 *    dropped for memory) has its best frame decoded again at full size.
 *
 * Interrupting the analysis (a cancel, the task timeout) kills every ffmpeg child it started and
 * waits until they have exited; frames already handed to the detector finish, no new ones start.
 *
 * @since 0.1.0
 */
import { accessSync, constants } from "node:fs"
import { availableParallelism } from "node:os"
import { InvalidConfigError } from "@identify-face/core/Config"
import { InternalGenerationError } from "@identify-face/core/Errors"
import { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import type { AnalyzedFace, FaceAnalyzerService, ProgressReporter } from "@identify-face/core/FaceAnalyzer"
import * as FaceTrack from "@identify-face/core/FaceTrack"
import type { Video } from "@identify-face/core/VideoSource"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import sharp from "sharp"
import * as VideoChecks from "./VideoChecks.js"
import { DetectorPool } from "./internal/DetectorPool.js"
import type { Detection, DetectOptions } from "./internal/FaceDetector.js"
import { resolveFfmpegBinaries } from "./internal/ffmpeg.js"
import type { FfmpegBinaries } from "./internal/ffmpeg.js"
import { decodeFrameAt, decodeFrames } from "./internal/FrameDecoder.js"
import { SampleCrops, type Region } from "./internal/SampleCrops.js"
import type { DecodedFrame, DecodeOptions, RgbFrame } from "./internal/FrameDecoder.js"
import { videoPath } from "./internal/intake/files.js"
import { fitWithin } from "./internal/probe.js"
import { forwardProgress } from "./internal/progress.js"

/** Options of {@link make}; every one is checked when the analyzer is made. */
export interface NodeFaceAnalyzerOptions {
  /**
   * Frames per second the coarse pass examines, from 1 to 30. Default 2.5: boundaries are then
   * refined frame by frame, so a higher rate buys no accuracy, only time (see `FaceTrack`).
   */
  readonly sampleFps?: number | undefined
  /**
   * Longer side in pixels the frames are scaled to for detection, from 128 to 1920. Default 256:
   * BlazeFace's own input size, so a larger frame would only be scaled down again in the worker.
   */
  readonly detectMaxSide?: number | undefined
  /**
   * Overrides of `FaceTrack.defaultRules`. When `minEmbeddingSimilarity` is not given and the
   * detector reports appearance vectors, {@link appearanceSimilarity} is used instead.
   */
  readonly rules?: Partial<FaceTrack.TrackRules> | undefined
  /** Detector worker threads, from 1 to 64. Default: the number of cores. */
  readonly poolSize?: number | undefined
  /**
   * Paths of the ffmpeg and ffprobe to run. Default: `IDENTIFY_FACE_FFMPEG` and
   * `IDENTIFY_FACE_FFPROBE`, else the ones on `PATH`, else the optional `@ffmpeg-installer` /
   * `@ffprobe-installer` packages.
   */
  readonly ffmpegPath?: string | undefined
  readonly ffprobePath?: string | undefined
}

/**
 * Least cosine similarity of the detector's appearance vectors (16×16 grey thumbnails of the face
 * box) of one person in successive examined frames, which are up to 1/`sampleFps` s apart.
 * Measured at 256x144: on the test clips, one face still, zooming or panning scores 0.94 and up,
 * the cut from astronaut.png to grace_hopper.jpg at the same place 0.33. On a real dialogue scene
 * (opencv-doc's Megamind.avi: talking, turning heads, four shots), cuts score 0.28 to 0.44 and one
 * face from sample to sample dips to 0.65: 0.6 splits every cut and nothing else there, 0.8 split
 * a face within its shot, 0.5 joined two shots.
 */
export const appearanceSimilarity = 0.6

// Share of the progress each stage ends at; the coarse pass decodes the whole video, so it dominates.
const PROGRESS = { probe: 0.03, coarse: 0.85, refine: 0.95 } as const
// Two frames per worker: one being detected, one waiting, so a worker never idles on the decoder.
const FRAMES_PER_WORKER = 2
// Refinement windows decoded at once, when they were not held from the coarse pass.
const WINDOWS_AT_ONCE = 2
// Each round examines `FaceTrack.framesToExamine` of every window asked for; two normally leave nothing to ask for.
const MAX_REFINE_ROUNDS = 4
// Frames held between samples for refinement: 256 MiB is 2300 frames of 256x144, 77 s at 30 fps.
const MAX_HELD_BYTES = 256 * 2 ** 20
// Screenshots: the face box grown by this share of its size on each side, squared, then at most this size.
const SCREENSHOT_MARGIN = 0.4
const SCREENSHOT_MAX_SIDE = 512
const SCREENSHOT_QUALITY = 85
// Regions of full-size samples kept for screenshots: 128 MiB is 150 regions of 540x540, a face a third of a 1080p frame high.
const MAX_CROP_BYTES = 128 * 2 ** 20
const SCREENSHOTS_AT_ONCE = 2
// Head rotation from BlazeFace's six keypoints: 2.5 times cheaper than FaceMesh, and the same boxes
// and appearance vectors in every pass, so faces match between coarse samples and refined frames.
// Pitch comes from the keypoints too (fitted against FaceMesh, see blazeFace.ts), so `maxPitchDegrees` applies.
const DETECTION: DetectOptions = { pose: "keypoints" }

interface Settings {
  readonly sampleFps: number
  readonly detectMaxSide: number
  readonly rules: FaceTrack.TrackRules
  readonly appearanceRules: FaceTrack.TrackRules
  readonly poolSize: number
  readonly binaries: FfmpegBinaries
}

const checkNumber = (name: string, value: number, min: number, max: number, integer: boolean) => {
  if (!(Number.isFinite(value) && value >= min && value <= max && (!integer || Number.isInteger(value)))) {
    throw new InvalidConfigError(`identify-face: ${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, got ${String(value)}`)
  }
}

const checkExecutable = (name: string, path: string) => {
  try {
    accessSync(path, constants.X_OK)
  } catch {
    throw new InvalidConfigError(`identify-face: ${name} must be an executable file, got ${path}`)
  }
}

const settingsOf = (options: NodeFaceAnalyzerOptions): Settings => {
  const { sampleFps = 2.5, detectMaxSide = 256, poolSize = availableParallelism() } = options
  checkNumber("sampleFps", sampleFps, 1, 30, false)
  checkNumber("detectMaxSide", detectMaxSide, 128, 1920, true)
  checkNumber("poolSize", poolSize, 1, 64, true)
  const rules = FaceTrack.makeRules(options.rules)
  const appearanceRules = FaceTrack.makeRules({ minEmbeddingSimilarity: appearanceSimilarity, ...options.rules })
  if (options.ffmpegPath !== undefined) checkExecutable("ffmpegPath", options.ffmpegPath)
  if (options.ffprobePath !== undefined) checkExecutable("ffprobePath", options.ffprobePath)
  const binaries = (() => {
    try {
      return resolveFfmpegBinaries({
        ...process.env,
        ...(options.ffmpegPath === undefined ? {} : { IDENTIFY_FACE_FFMPEG: options.ffmpegPath }),
        ...(options.ffprobePath === undefined ? {} : { IDENTIFY_FACE_FFPROBE: options.ffprobePath })
      })
    } catch (error) {
      throw new InvalidConfigError(`identify-face: ${error instanceof Error ? error.message : String(error)}`)
    }
  })()
  return { sampleFps, detectMaxSide, rules, appearanceRules, poolSize, binaries }
}

const failure = (what: string) => (error: unknown) =>
  new InternalGenerationError({ message: `${what} failed: ${error instanceof Error ? error.message : String(error)}` })

/**
 * An async generator (over ffmpeg's output) as a stream. Ending the stream early (interruption, a
 * failure downstream) aborts the signal given to it, so ffmpeg is killed, and waits until it has exited.
 */
const abortableStream = <A>(generate: (signal: AbortSignal) => AsyncGenerator<A, void, undefined>): Stream.Stream<A, InternalGenerationError> =>
  Stream.unwrapScoped(
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => {
          const controller = new AbortController()
          return { controller, items: generate(controller.signal) }
        }),
        // Abort first: `return()` waits for a pending `next()`, which waits for ffmpeg's next frame.
        ({ controller, items }) =>
          Effect.promise(async () => {
            controller.abort()
            await items.return(undefined).catch(() => undefined)
          })
      ),
      ({ items }) =>
        Stream.repeatEffectOption(
          Effect.tryPromise({ try: () => items.next(), catch: (error) => Option.some(failure("decoding")(error)) }).pipe(
            Effect.flatMap((result) => (result.done === true ? Effect.fail(Option.none()) : Effect.succeed(result.value)))
          )
        )
    )
  )

/** Runs a promise that stops when its signal aborts; interrupting the effect aborts it and waits for it to settle. */
const abortable = <A>(what: string, run: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, InternalGenerationError> =>
  Effect.async<A, InternalGenerationError>((resume) => {
    const controller = new AbortController()
    const settled = run(controller.signal).then(
      (value) => resume(Effect.succeed(value)),
      (error: unknown) => resume(Effect.fail(failure(what)(error)))
    )
    return Effect.promise(() => {
      controller.abort()
      return settled
    })
  })

/**
 * The crop of a screenshot: the face box (in a frame of `analysed` size) scaled to the full frame,
 * grown by the margin, squared, inside the frame.
 */
const screenshotRegion = (
  box: FaceTrack.Box,
  analysed: { readonly width: number; readonly height: number },
  frame: { readonly width: number; readonly height: number }
): Region => {
  const scaleX = frame.width / analysed.width
  const scaleY = frame.height / analysed.height
  const centreX = (box.x + box.width / 2) * scaleX
  const centreY = (box.y + box.height / 2) * scaleY
  const side = Math.min(frame.width, frame.height, Math.max(box.width * scaleX, box.height * scaleY) * (1 + 2 * SCREENSHOT_MARGIN))
  const size = Math.max(1, Math.round(side))
  const place = (centre: number, limit: number) => Math.min(limit - size, Math.max(0, Math.round(centre - size / 2)))
  return { left: place(centreX, frame.width), top: place(centreY, frame.height), width: size, height: size }
}

/**
 * The kept sample region to take a face's screenshot from: of the usable detections of its track
 * within its interval, the best one whose region was kept; undefined when none was.
 */
const screenshotCrop = (
  interval: FaceTrack.FaceInterval,
  faceTracks: ReadonlyArray<FaceTrack.Track>,
  crops: SampleCrops<FaceTrack.Detection>
): RgbFrame | undefined => {
  const best = interval.bestFrame
  const isBest = ({ frame, detection: { box } }: FaceTrack.Observation) =>
    frame.frameIndex === best.frameIndex && box.x === best.box.x && box.y === best.box.y && box.width === best.box.width && box.height === best.box.height
  const track = faceTracks.find((candidate) => candidate.observations.some(isBest))
  let chosen: { readonly detection: FaceTrack.Detection; readonly quality: number } | undefined
  for (const { frame, detection, usable } of track?.observations ?? []) {
    if (!crops.has(detection) || !usable || frame.frameIndex < interval.firstFrame || frame.frameIndex > interval.lastFrame) continue
    const quality = FaceTrack.quality(detection, frame)
    if (chosen === undefined || quality > chosen.quality) chosen = { detection, quality }
  }
  return chosen === undefined ? undefined : crops.cropOf(chosen.detection)
}

const encodeScreenshot = (image: RgbFrame, region: Region = { left: 0, top: 0, width: image.width, height: image.height }): Promise<Buffer> =>
  sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract(region)
    .resize({ width: SCREENSHOT_MAX_SIDE, height: SCREENSHOT_MAX_SIDE, fit: "inside", withoutEnlargement: true })
    .jpeg({ quality: SCREENSHOT_QUALITY })
    .toBuffer()

/** Picks the coarse samples among all the decoded frames: the first frame of every 1/`sampleFps` second. */
const sampler = (sampleFps: number) => {
  let lastSlot = Number.NEGATIVE_INFINITY
  return (timeMs: number): boolean => {
    // The tolerance keeps float noise from moving a frame right on a slot's start into the slot before.
    const slot = Math.floor((timeMs * sampleFps) / 1000 + 1e-4)
    if (slot <= lastSlot) return false
    lastSlot = slot
    return true
  }
}

/** A coarse sample and the frames decoded since the sample before; no sample for the frames after the last one. */
interface SampleGroup {
  readonly sample: DecodedFrame | undefined
  readonly between: ReadonlyArray<DecodedFrame>
}

/** A group whose sample has been looked at. */
interface DetectedGroup {
  readonly detections: FaceTrack.FrameDetections | undefined
  readonly between: ReadonlyArray<DecodedFrame>
}

// Plain iteration, not a Stream: an Effect stream costs about a millisecond of CPU per element, and every frame passes here.
async function* bySample(frames: AsyncIterable<DecodedFrame>, isSample: (timeMs: number) => boolean): AsyncGenerator<SampleGroup, void, undefined> {
  let between: Array<DecodedFrame> = []
  for await (const frame of frames) {
    if (!isSample(frame.timeMs)) {
      between.push(frame)
      continue
    }
    yield { sample: frame, between }
    between = []
  }
  yield { sample: undefined, between }
}

/**
 * Whether a face may become usable or stop being usable between two successive samples (a missing
 * one is the start or end of the video): only then can refinement ask for the frames between them.
 */
const mayChangeBetween = (
  before: FaceTrack.FrameDetections | undefined,
  after: FaceTrack.FrameDetections | undefined,
  timing: FaceTrack.VideoTiming,
  rules: FaceTrack.TrackRules
): boolean => {
  const samples = [before, after].filter((sample) => sample !== undefined)
  return FaceTrack.tracks(samples, timing, rules).some(({ observations }) => {
    const usableIn = (sample: FaceTrack.FrameDetections | undefined) => observations.some(({ frame, usable }) => usable && frame === sample)
    return usableIn(before) !== usableIn(after)
  })
}

// Buffers of dropped frames kept for the next ones: 64 is more than the frames between two samples.
const MAX_SPARE_BUFFERS = 64

/**
 * The buffers of frames the coarse pass dropped (most frames between samples), read into again:
 * a new buffer for every frame of a minute of video made the garbage collector a tenth of the CPU.
 */
const recycledBuffers = () => {
  const spare: Array<Uint8Array> = []
  return {
    take: (bytes: number): Uint8Array => {
      const buffer = spare.pop()
      return buffer !== undefined && buffer.byteLength === bytes ? buffer : new Uint8Array(bytes)
    },
    giveBack: (frames: ReadonlyArray<DecodedFrame>): void => {
      for (const frame of frames) if (spare.length < MAX_SPARE_BUFFERS) spare.push(frame.data)
    }
  }
}

/**
 * Frames between samples, kept from the coarse pass up to `maxBytes` so that refinement need not
 * decode them again (seeking costs decoding from the keyframe before, often seconds of video).
 */
const heldFrames = (maxBytes: number, indexOf: (timeMs: number) => number) => {
  const frames = new Map<number, DecodedFrame>()
  let bytes = 0
  return {
    /** Holds the frames if they fit; whether they did. */
    hold: (group: ReadonlyArray<DecodedFrame>): boolean => {
      const size = group.reduce((sum, frame) => sum + frame.data.byteLength, 0)
      if (bytes + size > maxBytes) return false
      bytes += size
      for (const frame of group) frames.set(indexOf(frame.timeMs), frame)
      return true
    },
    /** The frames of these indexes, handed over, or undefined when one of them is not held. */
    take: (indexes: ReadonlyArray<number>): ReadonlyArray<DecodedFrame> | undefined => {
      const taken: Array<DecodedFrame> = []
      for (const index of indexes) {
        const frame = frames.get(index)
        if (frame === undefined) return undefined
        taken.push(frame)
      }
      for (const index of indexes) frames.delete(index)
      bytes -= taken.reduce((sum, frame) => sum + frame.data.byteLength, 0)
      return taken
    }
  }
}

/** The analysis on a pool of detectors that the caller keeps open. */
const analyzer = (settings: Settings, pool: DetectorPool): FaceAnalyzerService => {
  const inFlight = FRAMES_PER_WORKER * settings.poolSize

  const analyze = (video: Video, onProgress: ProgressReporter) =>
    Effect.gen(function* () {
      const timings: Record<string, number> = {}
      const timed = <A, E, R>(stage: string, effect: Effect.Effect<A, E, R>) =>
        Effect.map(Effect.timed(effect), ([duration, value]) => {
          timings[stage] = Math.round(Duration.toMillis(duration))
          return value
        })
      const report = forwardProgress(onProgress)

      const path = yield* videoPath(video)
      const checked = yield* timed("probe", VideoChecks.check({ path, bytes: video.bytes }, { binaries: settings.binaries }))
      yield* report(PROGRESS.probe)
      if (!(checked.fps > 0)) return yield* new InternalGenerationError({ message: "the video's frame rate is unknown" })
      // From the container's duration until the coarse pass has counted the frames.
      let timing: FaceTrack.VideoTiming = {
        fps: checked.fps,
        frameCount: Math.max(1, Math.ceil((checked.duration_ms * checked.fps) / 1000 - 0.01))
      }
      const decodeBase: DecodeOptions = {
        input: path,
        ffmpeg: settings.binaries.ffmpeg,
        ...fitWithin(checked, settings.detectMaxSide),
        videoStartMs: checked.startTimeMs,
        streamIndex: checked.streamIndex
      }

      let withAppearance = false
      const rules = () => (withAppearance ? settings.appearanceRules : settings.rules)
      const toTrackDetection = (detection: Detection): FaceTrack.Detection => {
        if (detection.appearance !== undefined) withAppearance = true
        return { ...detection, embedding: detection.appearance ?? detection.embedding }
      }
      const detect = (frame: DecodedFrame): Effect.Effect<FaceTrack.FrameDetections, InternalGenerationError> => {
        // Read before the frame's pixels move to a worker thread.
        const { width, height, timeMs } = frame
        return Effect.tryPromise({ try: () => pool.detect(frame, DETECTION), catch: failure("face detection") }).pipe(
          Effect.map((faces) => ({ frameIndex: FaceTrack.frameIndexAt(timing, timeMs), timeMs, width, height, faces: faces.map(toTrackDetection) }))
        )
      }

      // Coarse pass: every frame is decoded (a decoder cannot skip them anyway), samples are
      // detected, and the frames between two samples where a face may change are held for refinement.
      const held = heldFrames(MAX_HELD_BYTES, (timeMs) => FaceTrack.frameIndexAt(timing, timeMs))
      const samples: Array<FaceTrack.FrameDetections> = []
      const crops = new SampleCrops<FaceTrack.Detection>(MAX_CROP_BYTES, checked.colorSpace)
      const spareBuffers = recycledBuffers()
      const fullSize = { sampleFps: settings.sampleFps, width: checked.width, height: checked.height, onFrame: crops.addFrame }
      const samplesAt = sampler(settings.sampleFps)
      const isSample = (timeMs: number) => {
        const sampled = samplesAt(timeMs)
        if (!sampled) crops.skip(timeMs)
        return sampled
      }
      yield* timed(
        "coarse",
        abortableStream((signal) =>
          bySample(decodeFrames({ ...decodeBase, fullSize, frameBuffer: spareBuffers.take, signal }), isSample)
        ).pipe(
          Stream.mapEffect(
            ({ sample, between }): Effect.Effect<DetectedGroup, InternalGenerationError> =>
              sample === undefined ? Effect.succeed({ detections: undefined, between }) : Effect.map(detect(sample), (detections) => ({ detections, between })),
            { concurrency: inFlight }
          ),
          Stream.runForEach(({ detections, between }) => {
            const kept = between.length > 0 && mayChangeBetween(samples.at(-1), detections, timing, rules()) && held.hold(between)
            if (!kept) spareBuffers.giveBack(between)
            if (detections === undefined) {
              // The last group: the video ends with its last frame (an audio track may run longer).
              const lastTimeMs = between.at(-1)?.timeMs ?? samples.at(-1)?.timeMs
              if (lastTimeMs !== undefined) timing = { ...timing, frameCount: FaceTrack.frameIndexAt(timing, lastTimeMs) + 1 }
              return Effect.void
            }
            samples.push(detections)
            crops.addFaces(
              detections.timeMs,
              detections.faces.map((face) => ({ face, region: (full) => screenshotRegion(face.box, detections, full) }))
            )
            return report(PROGRESS.probe + ((PROGRESS.coarse - PROGRESS.probe) * detections.timeMs) / checked.duration_ms)
          })
        )
      )
      yield* report(PROGRESS.coarse)

      // Refinement: each round, every step-th frame of each window asked for, until the boundaries
      // are exact; from the held frames or decoded again.
      const windowFrames = (request: FaceTrack.RefinementRequest) => {
        const indexes = FaceTrack.framesToExamine(request)
        const frames = held.take(indexes)
        if (frames !== undefined) return Stream.fromIterable(frames)
        const wanted = new Set(indexes)
        return abortableStream((signal) => decodeFrames({ ...decodeBase, startMs: request.startMs, endMs: request.endMs, signal })).pipe(
          Stream.filter((frame) => wanted.has(FaceTrack.frameIndexAt(timing, frame.timeMs)))
        )
      }
      const examined = yield* timed(
        "refine",
        Effect.iterate(
          { frames: samples as ReadonlyArray<FaceTrack.FrameDetections>, round: 0 },
          {
            while: ({ frames, round }) => round < MAX_REFINE_ROUNDS && FaceTrack.refinementRequests(frames, timing, rules()).length > 0,
            body: ({ frames, round }) => {
              const requests = FaceTrack.refinementRequests(frames, timing, rules())
              const total = requests.reduce((sum, request) => sum + FaceTrack.framesToExamine(request).length, 0)
              const progressAt = (done: number) =>
                PROGRESS.coarse + ((PROGRESS.refine - PROGRESS.coarse) * (round + done / total)) / MAX_REFINE_ROUNDS
              return Stream.fromIterable(requests).pipe(
                Stream.flatMap(windowFrames, { concurrency: WINDOWS_AT_ONCE }),
                Stream.mapEffect(detect, { concurrency: inFlight }),
                Stream.zipWithIndex,
                Stream.tap(([, index]) => report(progressAt(index + 1))),
                Stream.map(([frame]) => frame),
                Stream.runCollect,
                Effect.map((refined) => ({ frames: FaceTrack.refine(frames, Chunk.toReadonlyArray(refined)), round: round + 1 }))
              )
            }
          }
        )
      )
      yield* report(PROGRESS.refine)

      const intervals = FaceTrack.finalise(examined.frames, timing, rules())
      const faceTracks = FaceTrack.tracks(examined.frames, timing, rules())
      const images: Array<Uint8Array> = []
      let screenshotsDone = 0
      yield* timed(
        "screenshots",
        Effect.forEach(
          intervals,
          (interval, index) =>
            Effect.gen(function* () {
              const crop = screenshotCrop(interval, faceTracks, crops)
              const { bestFrame } = interval
              const image = yield* abortable("making the screenshot", async (signal) =>
                crop !== undefined
                  ? encodeScreenshot(crop)
                  : encodeScreenshot(
                      await decodeFrameAt({ ...decodeBase, timeMs: bestFrame.timeMs, width: checked.width, height: checked.height, signal }),
                      screenshotRegion(bestFrame.box, { width: bestFrame.frameWidth, height: bestFrame.frameHeight }, checked)
                    )
              )
              images[index] = new Uint8Array(image.buffer, image.byteOffset, image.byteLength)
              screenshotsDone += 1
              yield* report(PROGRESS.refine + ((1 - PROGRESS.refine) * screenshotsDone) / intervals.length)
            }),
          { concurrency: SCREENSHOTS_AT_ONCE, discard: true }
        )
      )
      const faces = intervals.map(({ startMs, endMs }, index): AnalyzedFace => ({ startMs, endMs, image: images[index]! }))
      yield* report(1)
      return {
        metadata: { duration_ms: checked.duration_ms, width: checked.width, height: checked.height, fps: checked.fps, format: checked.format },
        faces,
        timings
      }
    }).pipe(
      Effect.scoped,
      Effect.timed,
      Effect.map(([duration, analysis]) => ({ ...analysis, timings: { ...analysis.timings, analyze: Math.round(Duration.toMillis(duration)) } }))
    )

  return { analyze }
}

/**
 * Checks `options` as {@link make} does, throwing `Config.InvalidConfigError` naming the wrong one
 * or the missing ffmpeg: for an analyzer that runs this one elsewhere (`AnalysisProcess`).
 */
export const checkOptions = (options: NodeFaceAnalyzerOptions): void => {
  settingsOf(options)
}

/**
 * An analyzer with its own pool of detector worker threads, closed with the scope. Throws
 * `Config.InvalidConfigError` at once, naming the option, when an option is wrong or ffmpeg is
 * missing; dies when the detector's models cannot be loaded.
 */
export const make = (options: NodeFaceAnalyzerOptions = {}): Effect.Effect<FaceAnalyzerService, never, Scope.Scope> => {
  const settings = settingsOf(options)
  return Effect.map(
    Effect.acquireRelease(
      Effect.promise(() => DetectorPool.create({ size: settings.poolSize })),
      (pool) => Effect.promise(() => pool.close())
    ),
    (pool) => analyzer(settings, pool)
  )
}

/** The analyzer as a layer: the detector pool lives as long as the layer. */
export const layer = (options: NodeFaceAnalyzerOptions = {}): Layer.Layer<FaceAnalyzer> => Layer.scoped(FaceAnalyzer, make(options))
