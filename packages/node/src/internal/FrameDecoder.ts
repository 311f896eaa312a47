/**
 * Video frames out of ffmpeg: downscaled raw RGB frames at a chosen sample rate or over a time range,
 * each with the exact presentation time of the source frame it came from, and single full-size
 * frames or JPEG crops for screenshots. ffmpeg applies rotation metadata itself (autorotate).
 */
import { spawn } from "node:child_process"
import { FfmpegError, StderrTail, resolveFfmpegBinaries, runToCompletion, type RunOptions } from "./ffmpeg.js"

/** An RGB image, 3 bytes per pixel, rows top to bottom, no padding. */
export interface RgbFrame {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
}

/** A decoded frame and when it is shown. */
export interface DecodedFrame extends RgbFrame {
  /**
   * Presentation time of the source frame in milliseconds from the start of the video (the
   * container's start time), exact to the stream's time base.
   */
  readonly timeMs: number
}

/** Which frames to decode, at what size. */
export interface DecodeOptions extends RunOptions {
  /** Path of the video file. */
  readonly input: string
  /** The ffmpeg to run. Default: the one `resolveFfmpegBinaries` finds. */
  readonly ffmpeg?: string | undefined
  /** Output size; use the displayed (rotated) aspect ratio, e.g. from `fitWithin`. */
  readonly width: number
  readonly height: number
  /** The container's start time (`VideoStreamInfo.startTimeMs`); 0 when omitted. */
  readonly videoStartMs?: number | undefined
  /**
   * Keep the first source frame of every 1/sampleFps-second slot (so frames are real source
   * frames, never duplicated or interpolated). Omit for every frame.
   */
  readonly sampleFps?: number | undefined
  /** Decode only frames shown at or after this time (ms from the start of the video). */
  readonly startMs?: number | undefined
  /** Decode only frames shown before this time (exclusive). */
  readonly endMs?: number | undefined
  /**
   * Skip H.264/HEVC's in-loop deblocking (`-skip_loop_filter all`): ~20% less decode CPU, slightly
   * blockier frames that drift until the next keyframe. Fine for a coarse detection pass.
   */
  readonly skipLoopFilter?: boolean | undefined
  /** Stop after this many frames, so ffmpeg decodes no further than the last one wanted. */
  readonly maxFrames?: number | undefined
}

// Frames are at least ~4 ms apart; this absorbs float rounding of times that came from an earlier pass.
const TIME_TOLERANCE_S = 0.0001

const seconds = (ms: number): string => (ms / 1000).toFixed(6)

const selectExpression = (options: DecodeOptions): string | undefined => {
  const offsetMs = options.videoStartMs ?? 0
  const terms: Array<string> = []
  if (options.startMs !== undefined) terms.push(`gte(t\\,${seconds(options.startMs + offsetMs)}-${TIME_TOLERANCE_S})`)
  if (options.endMs !== undefined) terms.push(`lt(t\\,${seconds(options.endMs + offsetMs)}-${TIME_TOLERANCE_S})`)
  if (options.sampleFps !== undefined) {
    const rate = options.sampleFps
    const slot = (time: string) => `floor((${time}-${seconds(offsetMs)})*${rate}+${TIME_TOLERANCE_S})`
    terms.push(`(isnan(prev_selected_t)+gt(${slot("t")}\\,${slot("prev_selected_t")}))`)
  }
  return terms.length === 0 ? undefined : terms.join("*")
}

const inputArguments = (options: DecodeOptions): Array<string> => {
  const offsetMs = options.videoStartMs ?? 0
  // Seek a hair early: ffmpeg drops frames before -ss, and the exact cut is the select filter's job.
  const seek = options.startMs !== undefined && options.startMs > 0 ? ["-ss", seconds(options.startMs + offsetMs - TIME_TOLERANCE_S * 1000)] : []
  const stop = options.endMs !== undefined ? ["-to", seconds(options.endMs + offsetMs)] : []
  // -copyts keeps source timestamps, so every pass reports times on the same timeline.
  const skip = options.skipLoopFilter === true ? ["-skip_loop_filter", "all"] : []
  return ["-hide_banner", "-nostdin", "-nostats", "-v", "info", ...seek, ...stop, ...skip, "-copyts", "-i", options.input]
}

/** ffmpeg arguments that write the selected frames as raw RGB to stdout, logging each one with `showinfo`. */
export const decodeArguments = (options: DecodeOptions): Array<string> => {
  const select = selectExpression(options)
  const filters = [
    ...(select === undefined ? [] : [`select='${select}'`]),
    `scale=${options.width}:${options.height}:flags=bilinear`,
    "showinfo"
  ]
  return [
    ...inputArguments(options),
    ...["-map", "0:v:0", "-an", "-sn", "-dn", "-vf", filters.join(","), "-vsync", "passthrough"],
    ...(options.maxFrames === undefined ? [] : ["-frames:v", String(options.maxFrames)]),
    ...["-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1"]
  ]
}

const SHOWINFO_FRAME = /Parsed_showinfo_\d+ @ [^\]]+\] n:\s*\d+ pts:\s*(-?\d+)\s+pts_time:(-?[\d.e+-]+)/
const SHOWINFO_TIME_BASE = /Parsed_showinfo_\d+ @ [^\]]+\] config in time_base: (\d+)\/(\d+)/

/** Collects frame times from ffmpeg's stderr as they are logged, and lets a reader wait for the n-th. */
class FrameTimes {
  private readonly times: Array<number> = []
  private timeBase: readonly [number, number] | undefined
  private pending = ""
  private ended = false
  private wake: (() => void) | undefined
  readonly tail = new StderrTail()

  constructor(private readonly offsetMs: number) {}

  push(chunk: string): void {
    this.tail.push(chunk)
    const lines = (this.pending + chunk).split("\n")
    this.pending = lines.pop() ?? ""
    for (const line of lines) this.parse(line)
    this.notify()
  }

  end(): void {
    this.parse(this.pending)
    this.ended = true
    this.notify()
  }

  /** Resolves with the time of the frame at `index`, or undefined if ffmpeg ended without logging it. */
  async at(index: number): Promise<number | undefined> {
    while (this.times.length <= index && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve))
    return this.times[index]
  }

  private parse(line: string): void {
    const base = SHOWINFO_TIME_BASE.exec(line)
    if (base !== null) this.timeBase = [Number(base[1]), Number(base[2])]
    const frame = SHOWINFO_FRAME.exec(line)
    if (frame === null) return
    // pts × time base is exact; pts_time is rounded to 6 significant digits, so it is only a fallback.
    const ptsSeconds = this.timeBase === undefined ? Number(frame[2]) : (Number(frame[1]) * this.timeBase[0]) / this.timeBase[1]
    this.times.push(ptsSeconds * 1000 - this.offsetMs)
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}

/**
 * Decodes frames as an async iterable. Leaving the loop early (break, throw, or an interrupted
 * consumer calling `return()`), aborting the signal or passing the timeout kills ffmpeg; the
 * iterator finishes only once the child has exited. Throws {@link FfmpegError} on failure.
 *
 * Each frame's `data` is its own ArrayBuffer, so it can be transferred to a worker.
 */
export async function* decodeFrames(options: DecodeOptions): AsyncGenerator<DecodedFrame, void, undefined> {
  if (options.signal?.aborted === true) throw new FfmpegError("aborted", "decoding aborted before start")
  const ffmpeg = options.ffmpeg ?? resolveFfmpegBinaries().ffmpeg
  const child = spawn(ffmpeg, decodeArguments(options), { stdio: ["ignore", "pipe", "pipe"] })
  const times = new FrameTimes(options.videoStartMs ?? 0)
  let failure: FfmpegError | undefined
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  child.on("error", (error) => {
    failure ??= new FfmpegError("spawn", `ffmpeg could not start: ${error.message}`)
  })
  const kill = (error: FfmpegError) => {
    failure ??= error
    child.kill("SIGKILL")
  }
  const onAbort = () => kill(new FfmpegError("aborted", "decoding aborted"))
  options.signal?.addEventListener("abort", onAbort, { once: true })
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => kill(new FfmpegError("timeout", `decoding timed out after ${options.timeoutMs} ms`)), options.timeoutMs)
  child.stderr.setEncoding("utf8")
  child.stderr.on("data", (chunk: string) => times.push(chunk))
  child.stderr.on("close", () => times.end())

  const frameBytes = options.width * options.height * 3
  let frame = new Uint8Array(frameBytes)
  let filled = 0
  let index = 0
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let offset = 0
      while (offset < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - offset)
        frame.set(chunk.subarray(offset, offset + take), filled)
        filled += take
        offset += take
        if (filled < frameBytes) continue
        const timeMs = await times.at(index)
        if (timeMs === undefined) throw new FfmpegError("output", `no timestamp logged for frame ${index}`, times.tail.toString())
        yield { width: options.width, height: options.height, data: frame, timeMs }
        index += 1
        frame = new Uint8Array(frameBytes)
        filled = 0
      }
    }
    const code = await exited
    if (failure !== undefined) throw failure
    if (code !== 0) throw new FfmpegError("exit", `ffmpeg exited with code ${code}`, times.tail.toString())
    if (filled !== 0) throw new FfmpegError("output", `ffmpeg ended inside a frame (${filled} of ${frameBytes} bytes)`)
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    options.signal?.removeEventListener("abort", onAbort)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    await exited
  }
  if (failure !== undefined) throw failure
}

/** Options for one frame at a given time. */
export interface FrameAtOptions extends RunOptions {
  readonly input: string
  /** The ffmpeg to run. Default: the one `resolveFfmpegBinaries` finds. */
  readonly ffmpeg?: string | undefined
  /** Time of the wanted frame (ms from the start of the video); the first frame shown at or after it is returned. */
  readonly timeMs: number
  /** Output size; the displayed size for a full-resolution frame. */
  readonly width: number
  readonly height: number
  readonly videoStartMs?: number | undefined
}

/** Decodes the single frame shown at (or first after) `timeMs`. Throws {@link FfmpegError} if there is none. */
export const decodeFrameAt = async (options: FrameAtOptions): Promise<DecodedFrame> => {
  for await (const frame of decodeFrames({ ...options, startMs: options.timeMs, maxFrames: 1 })) return frame
  throw new FfmpegError("output", `no frame at or after ${options.timeMs} ms in ${options.input}`)
}

/** A rectangle in displayed pixels of the source video. */
export interface PixelRect {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

/** Options for a JPEG of (part of) one frame. */
export interface JpegOptions extends RunOptions {
  readonly input: string
  /** The ffmpeg to run. Default: the one `resolveFfmpegBinaries` finds. */
  readonly ffmpeg?: string | undefined
  readonly timeMs: number
  readonly videoStartMs?: number | undefined
  /** Region to keep, in displayed source pixels; clamped to the frame. Whole frame when omitted. */
  readonly crop?: PixelRect | undefined
  /** Downscale so the longer side is at most this many pixels. */
  readonly maxSide?: number | undefined
  /** ffmpeg's mjpeg `-q:v`, 2 (best) to 31; default 3. */
  readonly quality?: number | undefined
}

/** Encodes the frame shown at (or first after) `timeMs`, optionally cropped and downscaled, as a JPEG, in one ffmpeg run. */
export const extractJpeg = async (options: JpegOptions): Promise<Buffer> => {
  const ffmpeg = options.ffmpeg ?? resolveFfmpegBinaries().ffmpeg
  const offsetMs = options.videoStartMs ?? 0
  const at = seconds(options.timeMs + offsetMs)
  const crop = options.crop
  const filters = [
    `select='gte(t\\,${at}-${TIME_TOLERANCE_S})'`,
    ...(crop === undefined
      ? []
      : [
          `crop=w='min(${Math.round(crop.width)}\\,iw)':h='min(${Math.round(crop.height)}\\,ih)'` +
            `:x='max(0\\,min(${Math.round(crop.x)}\\,iw-ow))':y='max(0\\,min(${Math.round(crop.y)}\\,ih-oh))'`
        ]),
    ...(options.maxSide === undefined
      ? []
      : [`scale=w='min(iw\\,${options.maxSide})':h='min(ih\\,${options.maxSide})':force_original_aspect_ratio=decrease`])
  ]
  const jpeg = await runToCompletion(
    ffmpeg,
    [
      ...["-hide_banner", "-nostdin", "-v", "error", "-ss", seconds(Math.max(0, options.timeMs + offsetMs - TIME_TOLERANCE_S * 1000))],
      ...["-copyts", "-i", options.input],
      ...["-map", "0:v:0", "-vf", filters.join(","), "-frames:v", "1", "-vsync", "passthrough"],
      ...["-c:v", "mjpeg", "-q:v", String(options.quality ?? 3), "-f", "image2pipe", "pipe:1"]
    ],
    options
  )
  if (jpeg.length === 0) throw new FfmpegError("output", `no frame at or after ${options.timeMs} ms in ${options.input}`)
  return jpeg
}
