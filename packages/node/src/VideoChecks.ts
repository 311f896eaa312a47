/**
 * The video requirements of API.md, checked on a file's content, never on its name: its box
 * structure, what ffprobe reads of it, and a short decode.
 *
 * The checks run cheapest first, each on a file that passed the ones before, so a video is
 * refused for the most basic thing wrong with it:
 *
 * 1. 014002110, not MP4 or QuickTime: the first bytes must be an `ftyp` box (or a box an old
 *    QuickTime file starts with). No process is started for a JPEG or a WebM renamed `.mp4`.
 * 2. 014002111, larger than `maxBytes`: before any process reads the file.
 * 3. From the box structure alone: 014002115 for a file cut short (a box runs past its end, as
 *    in an interrupted upload) or without a movie header (`moov`); 014002114 for a video track that
 *    declares a side above 2160 px, so no decoder ever allocates a huge picture.
 * 4. ffprobe (with a pixel cap, in case the stream says more than its header): 014002115 when it
 *    fails or hangs, or finds no video stream or a codec this ffmpeg does not know; 014002110 when
 *    it reads the file as another container.
 * 5. 014002112, duration outside 2 s to 60 s (the container's, else the stream's; inclusive).
 * 6. The displayed size (rotation applied): 014002114 for a side above 2160 px, then 014002113
 *    when the shorter side is not 720 or 1080. A side under 512 px needs no check of its own: the
 *    shorter side is 720 or 1080 by then. So 640x480 is 113 and 720x2200 or 3840x2160 is 114.
 * 7. 014002115, not decodable: the first frames and the last second's keyframes are decoded,
 *    last, as it is the only step that costs more than a glance at the file.
 *
 * Every ffprobe and ffmpeg run has a timeout and is killed when the check is interrupted; the
 * check ends only once its child has exited.
 *
 * @since 0.1.0
 */
import { open } from "node:fs/promises"
import { defaults } from "@identify-face/core/Config"
import {
  DimensionsOutOfRangeError,
  DurationOutOfRangeError,
  UndecodableVideoError,
  UnsupportedContainerError,
  UnsupportedResolutionError
} from "@identify-face/core/Errors"
import type { VideoError } from "@identify-face/core/Errors"
import { tooLarge } from "@identify-face/core/VideoStore"
import type { VideoMetadata } from "@identify-face/core/Wire"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { FfmpegError, resolveFfmpegBinaries, runToCompletion } from "./internal/ffmpeg.js"
import type { FfmpegBinaries } from "./internal/ffmpeg.js"
import { declaredVideo, readRange, readTopLevel } from "./internal/isoBoxes.js"
import { probeMedia } from "./internal/probe.js"
import type { MediaProbe, ProbedVideoStream } from "./internal/probe.js"

/** The limits of API.md's video requirements. */
export const requirements = {
  minDurationMs: 2_000,
  maxDurationMs: 60_000,
  /** The shorter displayed side must be one of these: 720p or 1080p. */
  shorterSides: [720, 1080],
  /** Each displayed side must be from `minSide` to `maxSide` pixels. */
  minSide: 512,
  maxSide: 2_160
} as const

/** A video that passed every check: its metadata for the wire, and what decoding it needs. */
export interface CheckedVideo extends VideoMetadata {
  readonly format: "mp4" | "mov"
  /** ffmpeg's name of the video codec, e.g. `h264` or `hevc`. */
  readonly codec: string
  /** Rotation metadata in degrees: 0, 90, 180 or 270; `width` and `height` are already swapped for 90 and 270. */
  readonly rotation: number
  /** The container's start time in milliseconds: frame times are measured from here. */
  readonly startTimeMs: number
  /** The video stream's index in the file, as in ffmpeg's `-map 0:<index>`. */
  readonly streamIndex: number
  /** How its YUV turns into RGB (e.g. `bt709`); undefined when untagged. */
  readonly colorSpace: string | undefined
}

/** The errors the checks refuse a video with: one per requirement, 014002110 to 014002115. */
export type VideoCheckError = Extract<VideoError, { readonly code: `01400211${number}` }>

/** Options of {@link check}. */
export interface VideoChecksOptions {
  /** The largest file accepted, in bytes. Default: the configured `maxVideoBytes` default, 100 MB. */
  readonly maxBytes?: number | undefined
  /** How long each ffprobe or ffmpeg run may take before the video counts as undecodable. Default 15 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * The ffmpeg and ffprobe to run. Default: `IDENTIFY_FACE_FFMPEG` and `IDENTIFY_FACE_FFPROBE`,
   * else the ones on `PATH`, else the optional `@ffmpeg-installer` / `@ffprobe-installer` packages.
   */
  readonly binaries?: FfmpegBinaries | undefined
}

// No accepted picture needs more pixels (coded sizes are padded, e.g. 1088 rows for 1080).
const MAX_PIXELS = requirements.maxSide * requirements.maxSide

const sideRange = `${requirements.minSide} to ${requirements.maxSide} px`

/** Runs one ffmpeg or ffprobe task; interrupting it kills the child and waits until it has exited. A binary that cannot start is a defect. */
const runChild = <A>(task: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, FfmpegError> =>
  Effect.async<A, FfmpegError>((resume) => {
    const controller = new AbortController()
    const settled = task(controller.signal).then(
      (value) => resume(Effect.succeed(value)),
      (error: unknown) =>
        resume(error instanceof FfmpegError && error.reason !== "not-found" && error.reason !== "spawn" ? Effect.fail(error) : Effect.die(error))
    )
    return Effect.promise(() => {
      controller.abort()
      return settled
    })
  })

const undecodable = (message: string) => new UndecodableVideoError({ message })

/**
 * 014002115 for a failed run, with ffmpeg's last complaint, without its `[h264 @ 0x…]` prefix
 * and without the file's path, which is the server's business.
 */
const failedRun = (what: string, path: string, timeoutMs: number) => (error: FfmpegError) => {
  if (error.reason === "timeout") return undecodable(`${what} took longer than ${timeoutMs / 1000} s`)
  const complaint = (error.stderrTail.split("\n").pop() ?? "").replace(/^\[[^\]]*\]\s*/, "").replaceAll(path, "the file")
  return undecodable(complaint === "" ? `${what} failed` : `${what} failed: ${complaint}`)
}

/** Steps 1 to 3: what the file's box structure says, read without starting a process. */
const checkStructure = (video: { readonly path: string; readonly bytes: number }, maxBytes: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const file = yield* Effect.acquireRelease(
        Effect.promise(() => open(video.path, "r")),
        (file) => Effect.promise(() => file.close())
      )
      const { size } = yield* Effect.promise(() => file.stat())
      const top = yield* Effect.promise(() => readTopLevel(file, size))
      if (top._tag === "Foreign") {
        const what = top.looksLike === undefined ? "it starts with no ftyp or moov box" : `it is ${top.looksLike}`
        return yield* new UnsupportedContainerError({ message: `the file is not an MP4 or QuickTime video: ${what}` })
      }
      if (video.bytes > maxBytes) return yield* tooLarge(maxBytes)
      if (top.cutShort !== undefined) {
        return yield* undecodable(`the file is cut short: its ${top.cutShort.type} box lacks ${top.cutShort.missingBytes} bytes`)
      }
      const movieHeader = top.movieHeader
      if (movieHeader === undefined) return yield* undecodable("the file has no movie header (moov box)")
      const declared = declaredVideo(yield* Effect.promise(() => readRange(file, movieHeader)))
      if (declared !== undefined && Math.max(declared.width, declared.height) > requirements.maxSide) {
        return yield* new DimensionsOutOfRangeError({
          message: `the video track declares ${declared.width}x${declared.height}: each side must be from ${sideRange}`
        })
      }
      // Old QuickTime files have no ftyp; newer ones say `qt  `.
      return top.majorBrand === undefined || top.majorBrand === "qt  " ? ("mov" as const) : ("mp4" as const)
    })
  )

/** Step 4: the container and video stream as ffprobe reads them. */
const checkProbe = (media: MediaProbe) => {
  const stream = media.video
  if (!media.formatName.split(",").some((name) => name === "mov" || name === "mp4")) {
    return Effect.fail(new UnsupportedContainerError({ message: `the file is not an MP4 or QuickTime video: ffprobe reads it as ${media.formatName}` }))
  }
  if (stream === undefined) return Effect.fail(undecodable("the file has no video stream"))
  const codec = stream.codec
  if (codec === undefined) return Effect.fail(undecodable(`the video codec ${JSON.stringify(stream.codecTag)} is not one this server decodes`))
  if (stream.width === 0 || stream.height === 0) return Effect.fail(undecodable("the size of the video's pictures cannot be read"))
  return Effect.succeed({ ...stream, codec })
}

/** Step 5: the duration in whole milliseconds, the container's else the stream's. */
const checkDuration = (media: MediaProbe, stream: ProbedVideoStream) => {
  const { minDurationMs, maxDurationMs } = requirements
  const durationMs = media.durationMs ?? stream.durationMs
  if (durationMs === undefined) return Effect.fail(new DurationOutOfRangeError({ message: "the video states no duration" }))
  const roundedMs = Math.round(durationMs)
  return roundedMs >= minDurationMs && roundedMs <= maxDurationMs
    ? Effect.succeed(roundedMs)
    : Effect.fail(
        new DurationOutOfRangeError({
          message: `duration ${roundedMs / 1000} s is not from ${minDurationMs / 1000} s to ${maxDurationMs / 1000} s`
        })
      )
}

/** Step 6: the displayed size. */
const checkSize = ({ width, height }: ProbedVideoStream) => {
  if (Math.max(width, height) > requirements.maxSide) {
    return Effect.fail(new DimensionsOutOfRangeError({ message: `displayed size ${width}x${height}: each side must be from ${sideRange}` }))
  }
  return requirements.shorterSides.some((side) => side === Math.min(width, height))
    ? Effect.void
    : Effect.fail(new UnsupportedResolutionError({ message: `resolution ${width}x${height} is not 720p or 1080p` }))
}

const framesIn = (framecrc: Buffer): number =>
  framecrc
    .toString("latin1")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#")).length

/**
 * Step 7: decodes the first frames, and the keyframes of the last second (so never a long run of
 * inter frames), in parallel, each on one decoder thread (frame threads wait for a pipeline to
 * fill), with `-xerror` so a corrupt frame fails the run.
 */
const checkDecoding = (path: string, streamIndex: number, ffmpeg: string, timeoutMs: number) => {
  const input = ["-hide_banner", "-nostdin", "-v", "error", "-xerror", "-threads", "1", "-max_pixels", String(MAX_PIXELS)]
  const output = (...limits: ReadonlyArray<string>) => ["-map", `0:${streamIndex}`, ...limits, "-vsync", "passthrough", "-f", "framecrc", "pipe:1"]
  const decode = (what: string, args: ReadonlyArray<string>) =>
    runChild((signal) => runToCompletion(ffmpeg, args, { timeoutMs, signal })).pipe(
      Effect.mapError(failedRun(`decoding ${what}`, path, timeoutMs)),
      Effect.filterOrFail(
        (framecrc) => framesIn(framecrc) > 0,
        () => undecodable(`no frame of the video could be decoded at ${what}`)
      )
    )
  return Effect.all(
    [
      decode("the start", [...input, "-i", path, ...output("-frames:v", "3")]),
      // -copyts keeps the keyframe before the seek point, which would otherwise get a negative time and be dropped.
      decode("the end", [...input, "-sseof", "-1", "-noaccurate_seek", "-skip_frame", "nokey", "-copyts", "-i", path, ...output()])
    ],
    { concurrency: "unbounded", discard: true }
  )
}

/**
 * Checks a video file against every requirement of API.md and answers its metadata, or fails with
 * the code of the first requirement it misses (see the module's documentation for the order).
 * `bytes` is the size counted when the file was received. A file that cannot be read, or an
 * ffmpeg that cannot be started, is a defect, not a refusal of the video.
 */
export const check = (
  video: { readonly path: string; readonly bytes: number },
  options: VideoChecksOptions = {}
): Effect.Effect<CheckedVideo, VideoCheckError> =>
  Effect.gen(function* () {
    const format = yield* checkStructure(video, options.maxBytes ?? defaults.maxVideoBytes)
    const { ffmpeg, ffprobe } = options.binaries ?? (yield* Effect.sync(() => resolveFfmpegBinaries()))
    const timeoutMs = Duration.toMillis(Duration.decode(options.timeout ?? "15 seconds"))
    const media = yield* runChild((signal) => probeMedia(video.path, { ffprobe, maxPixels: MAX_PIXELS, timeoutMs, signal })).pipe(
      Effect.mapError(failedRun("reading the video", video.path, timeoutMs))
    )
    const stream = yield* checkProbe(media)
    const durationMs = yield* checkDuration(media, stream)
    yield* checkSize(stream)
    yield* checkDecoding(video.path, stream.index, ffmpeg, timeoutMs)
    return {
      duration_ms: durationMs,
      width: stream.width,
      height: stream.height,
      fps: stream.fps,
      format,
      codec: stream.codec,
      rotation: stream.rotation,
      startTimeMs: media.startTimeMs,
      streamIndex: stream.index,
      colorSpace: stream.colorSpace
    }
  })
