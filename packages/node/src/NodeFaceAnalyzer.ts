/**
 * The real analysis: core's {@link FaceAnalyzer} on Node, with ffmpeg for decoding, a pool of
 * detector worker threads and the pure face-track rules of `FaceTrack`.
 *
 * For one video:
 * 1. a video without a path on disk is written to a temporary file first (removed afterwards);
 * 2. `VideoChecks.check` refuses it with the code of the first requirement it misses;
 * 3. coarse pass: ffmpeg decodes every frame scaled to `detectMaxSide` (a decoder cannot skip
 *    frames anyway; deblocking is skipped, as for refinement), the samples (`sampleFps`) go to the detector pool, a few in flight, never on
 *    the event loop; the frames between two samples where a face may start or stop being usable
 *    are held in memory (up to 256 MiB);
 * 4. refinement: every frame of each window `FaceTrack.refinementRequests` names is detected, from
 *    the held frames or decoded again, so each boundary is exact to one frame;
 * 5. `FaceTrack.finalise` gives the intervals; for each, a frame as good as its best and quick to
 *    seek to is decoded at full size (once for all the faces it shows) and cropped around the face
 *    into a JPEG (sharp).
 *
 * Interrupting the analysis (a cancel, the task timeout) kills every ffmpeg child it started and
 * waits until they have exited; frames already handed to the detector finish, no new ones start.
 *
 * @since 0.1.0
 */
import { accessSync, constants } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { availableParallelism, tmpdir } from "node:os"
import { join } from "node:path"
import { InvalidConfigError, defaults } from "@identify-face/core/Config"
import { InternalGenerationError } from "@identify-face/core/Errors"
import type { VideoError } from "@identify-face/core/Errors"
import { FaceAnalyzer } from "@identify-face/core/FaceAnalyzer"
import type { AnalyzedFace, FaceAnalyzerService, ProgressReporter } from "@identify-face/core/FaceAnalyzer"
import * as FaceTrack from "@identify-face/core/FaceTrack"
import type { Video } from "@identify-face/core/VideoSource"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
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
import type { DecodedFrame, DecodeOptions, RgbFrame } from "./internal/FrameDecoder.js"
import { writeCapped } from "./internal/intake/files.js"
import { keyframeTimes, seekDistance } from "./internal/keyframes.js"
import { fitWithin } from "./internal/probe.js"

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
// Each round examines every frame of every window asked for; one normally leaves nothing to ask for.
const MAX_REFINE_ROUNDS = 3
// Frames held between samples for refinement: 256 MiB is 2300 frames of 256x144, 77 s at 30 fps.
const MAX_HELD_BYTES = 256 * 2 ** 20
// Screenshots: the face box grown by this share of its size on each side, squared, then at most this size.
const SCREENSHOT_MARGIN = 0.4
const SCREENSHOT_MAX_SIDE = 512
const SCREENSHOT_QUALITY = 85
// A frame this close to the best one's quality is as good a screenshot (see screenshotFrame).
const SCREENSHOT_QUALITY_SHARE = 0.9
const SCREENSHOTS_AT_ONCE = 2
// Head rotation from BlazeFace's six keypoints: 2.5 times cheaper than FaceMesh, and the same boxes
// and appearance vectors in every pass, so faces match between coarse samples and refined frames.
// It gives no pitch yet: faces count as level, so `maxPitchDegrees` is not applied.
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

/** Writes a video's bytes to a file in a temporary folder that is removed with the scope. */
const spool = (stream: Video["stream"]): Effect.Effect<string, VideoError, Scope.Scope> =>
  Effect.gen(function* () {
    const directory = yield* Effect.acquireRelease(
      Effect.promise(() => mkdtemp(join(tmpdir(), "identify-face-analysis-"))),
      (path) => Effect.promise(() => rm(path, { recursive: true, force: true }))
    )
    const path = join(directory, "video")
    yield* writeCapped(stream, path, defaults.maxVideoBytes)
    return path
  })

/** Progress that only moves forward, reported in steps of at least 1%. */
const forwardProgress = (onProgress: ProgressReporter) => {
  let reported = 0
  return (progress: number): Effect.Effect<void> => {
    if (progress < reported + 0.01 && progress < 1) return Effect.void
    reported = progress
    return onProgress(Math.min(1, progress))
  }
}

/** The crop of a screenshot: the face box scaled to the full frame, grown by the margin, squared, inside the frame. */
const screenshotRegion = (best: FaceTrack.BestFrame, frame: { readonly width: number; readonly height: number }) => {
  const scaleX = frame.width / best.frameWidth
  const scaleY = frame.height / best.frameHeight
  const centreX = (best.box.x + best.box.width / 2) * scaleX
  const centreY = (best.box.y + best.box.height / 2) * scaleY
  const side = Math.min(frame.width, frame.height, Math.max(best.box.width * scaleX, best.box.height * scaleY) * (1 + 2 * SCREENSHOT_MARGIN))
  const size = Math.max(1, Math.round(side))
  const place = (centre: number, limit: number) => Math.min(limit - size, Math.max(0, Math.round(centre - size / 2)))
  return { left: place(centreX, frame.width), top: place(centreY, frame.height), width: size, height: size }
}

/**
 * The frame to take a face's screenshot from: of its usable frames within
 * `SCREENSHOT_QUALITY_SHARE` of the best one's quality, the quickest to decode (the nearest after a
 * keyframe). A near-best frame looks as good, and a frame far from a keyframe costs seconds of decoding.
 */
const screenshotFrame = (
  interval: FaceTrack.FaceInterval,
  faceTracks: ReadonlyArray<FaceTrack.Track>,
  keyframes: ReadonlyArray<number>
): FaceTrack.BestFrame => {
  const best = interval.bestFrame
  const isBest = ({ frame, detection: { box } }: FaceTrack.Observation) =>
    frame.frameIndex === best.frameIndex && box.x === best.box.x && box.y === best.box.y && box.width === best.box.width && box.height === best.box.height
  const track = faceTracks.find((candidate) => candidate.observations.some(isBest))
  const candidates = (track?.observations ?? []).flatMap(({ frame, detection, usable }): Array<FaceTrack.BestFrame> => {
    const quality = FaceTrack.quality(detection, frame)
    const inInterval = frame.frameIndex >= interval.firstFrame && frame.frameIndex <= interval.lastFrame
    return usable && inInterval && quality >= SCREENSHOT_QUALITY_SHARE * best.quality
      ? [{ frameIndex: frame.frameIndex, timeMs: frame.timeMs, box: detection.box, frameWidth: frame.width, frameHeight: frame.height, quality }]
      : []
  })
  const cost = (frame: FaceTrack.BestFrame) => seekDistance(keyframes, frame.timeMs)
  return candidates.reduce((chosen, frame) => (cost(frame) < cost(chosen) ? frame : chosen), best)
}

const encodeScreenshot = (frame: RgbFrame, best: FaceTrack.BestFrame): Promise<Buffer> =>
  sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .extract(screenshotRegion(best, frame))
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

/**
 * Frames between samples, kept from the coarse pass up to `maxBytes` so that refinement need not
 * decode them again (seeking costs decoding from the keyframe before, often seconds of video).
 */
const heldFrames = (maxBytes: number, indexOf: (timeMs: number) => number) => {
  const frames = new Map<number, DecodedFrame>()
  let bytes = 0
  return {
    hold: (group: ReadonlyArray<DecodedFrame>): void => {
      const size = group.reduce((sum, frame) => sum + frame.data.byteLength, 0)
      if (bytes + size > maxBytes) return
      bytes += size
      for (const frame of group) frames.set(indexOf(frame.timeMs), frame)
    },
    /** Frames `fromFrame` to `toFrame`, handed over, or undefined when one of them is not held. */
    take: (fromFrame: number, toFrame: number): ReadonlyArray<DecodedFrame> | undefined => {
      const taken: Array<DecodedFrame> = []
      for (let index = fromFrame; index <= toFrame; index++) {
        const frame = frames.get(index)
        if (frame === undefined) return undefined
        taken.push(frame)
      }
      for (let index = fromFrame; index <= toFrame; index++) frames.delete(index)
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

      const path = video.path ?? (yield* spool(video.stream))
      const checked = yield* timed("probe", VideoChecks.check({ path, bytes: video.bytes }, { binaries: settings.binaries }))
      yield* report(PROGRESS.probe)
      if (!(checked.fps > 0)) return yield* new InternalGenerationError({ message: "the video's frame rate is unknown" })
      // From the container's duration until the coarse pass has counted the frames.
      let timing: FaceTrack.VideoTiming = {
        fps: checked.fps,
        frameCount: Math.max(1, Math.ceil((checked.duration_ms * checked.fps) / 1000 - 0.01))
      }
      // Read while the coarse pass runs; without it, screenshots still work, only slower.
      const keyframes = yield* Effect.forkScoped(
        abortable("reading the keyframes", (signal) =>
          keyframeTimes(path, { ffprobe: settings.binaries.ffprobe, streamIndex: checked.streamIndex, videoStartMs: checked.startTimeMs, signal })
        )
      )
      const decodeBase: DecodeOptions = {
        input: path,
        ffmpeg: settings.binaries.ffmpeg,
        ...fitWithin(checked, settings.detectMaxSide),
        videoStartMs: checked.startTimeMs
      }
      // A fifth less decoding: the deblocking it skips hardly shows at the detection size (screenshots keep it).
      const detectDecode: DecodeOptions = { ...decodeBase, skipLoopFilter: true }

      let withAppearance = false
      const rules = () => (withAppearance ? settings.appearanceRules : settings.rules)
      const toTrackDetection = (detection: Detection): FaceTrack.Detection => {
        if (detection.appearance !== undefined) withAppearance = true
        // BlazeFace's keypoints give no pitch: the face counts as level (see DETECTION).
        const pitch = Number.isNaN(detection.pitch) ? 0 : detection.pitch
        return { ...detection, pitch, embedding: detection.appearance ?? detection.embedding }
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
      yield* timed(
        "coarse",
        abortableStream((signal) => bySample(decodeFrames({ ...detectDecode, signal }), sampler(settings.sampleFps))).pipe(
          Stream.mapEffect(
            ({ sample, between }): Effect.Effect<DetectedGroup, InternalGenerationError> =>
              sample === undefined ? Effect.succeed({ detections: undefined, between }) : Effect.map(detect(sample), (detections) => ({ detections, between })),
            { concurrency: inFlight }
          ),
          Stream.runForEach(({ detections, between }) => {
            if (between.length > 0 && mayChangeBetween(samples.at(-1), detections, timing, rules())) held.hold(between)
            if (detections === undefined) {
              // The last group: the video ends with its last frame (an audio track may run longer).
              const lastTimeMs = between.at(-1)?.timeMs ?? samples.at(-1)?.timeMs
              if (lastTimeMs !== undefined) timing = { ...timing, frameCount: FaceTrack.frameIndexAt(timing, lastTimeMs) + 1 }
              return Effect.void
            }
            samples.push(detections)
            return report(PROGRESS.probe + ((PROGRESS.coarse - PROGRESS.probe) * detections.timeMs) / checked.duration_ms)
          })
        )
      )
      yield* report(PROGRESS.coarse)

      // Refinement: every frame of each window asked for, from the held frames or decoded again.
      const windowFrames = (request: FaceTrack.RefinementRequest) => {
        const frames = held.take(request.fromFrame, request.toFrame)
        return frames === undefined
          ? abortableStream((signal) => decodeFrames({ ...detectDecode, startMs: request.startMs, endMs: request.endMs, signal }))
          : Stream.fromIterable(frames)
      }
      const examined = yield* timed(
        "refine",
        Effect.iterate(
          { frames: samples as ReadonlyArray<FaceTrack.FrameDetections>, round: 0 },
          {
            while: ({ frames, round }) => round < MAX_REFINE_ROUNDS && FaceTrack.refinementRequests(frames, timing, rules()).length > 0,
            body: ({ frames, round }) => {
              const requests = FaceTrack.refinementRequests(frames, timing, rules())
              const total = requests.reduce((sum, request) => sum + request.toFrame - request.fromFrame + 1, 0)
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
      const keyframeList = Option.getOrElse(yield* Effect.option(Fiber.join(keyframes)), () => [])
      const shots = intervals.map((interval) => screenshotFrame(interval, faceTracks, keyframeList))
      // Faces seen together (side by side) often share their frame: each frame is decoded once, for all its faces.
      const facesByFrame = new Map<number, Array<number>>()
      shots.forEach((shot, index) => facesByFrame.set(shot.timeMs, [...(facesByFrame.get(shot.timeMs) ?? []), index]))
      const images: Array<Uint8Array> = []
      let screenshotsDone = 0
      yield* timed(
        "screenshots",
        Effect.forEach(
          facesByFrame,
          ([timeMs, indexes]) =>
            Effect.gen(function* () {
              const frame = yield* abortable("decoding the screenshot frame", (signal) =>
                decodeFrameAt({ ...decodeBase, timeMs, width: checked.width, height: checked.height, signal })
              )
              for (const index of indexes) {
                const image = yield* Effect.tryPromise({ try: () => encodeScreenshot(frame, shots[index]!), catch: failure("encoding the screenshot") })
                images[index] = new Uint8Array(image.buffer, image.byteOffset, image.byteLength)
                screenshotsDone += 1
                yield* report(PROGRESS.refine + ((1 - PROGRESS.refine) * screenshotsDone) / intervals.length)
              }
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
