/**
 * Video frames out of ffmpeg: downscaled raw RGB frames at a chosen sample rate or over a time range,
 * each with the exact presentation time of the source frame it came from, full-size copies of the
 * samples from the same decoding, and single full-size frames. ffmpeg applies rotation metadata
 * itself (autorotate).
 */
import { execFile, spawn } from "node:child_process"
import { constants, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { open } from "node:fs/promises"
import type { FileHandle } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { FfmpegError, StderrTail, resolveFfmpegBinaries, type RunOptions } from "./ffmpeg.js"
import { lowerChildPriority } from "./priority.js"

/** An RGB image, 3 bytes per pixel, rows top to bottom, no padding. */
export interface RgbFrame {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
}

/**
 * A frame in ffmpeg's `yuv420p` layout, as decoded (no conversion to RGB): the Y plane, then the U
 * and the V plane at half the width and height (rounded up), rows top to bottom, no padding.
 */
export interface YuvFrame {
  readonly width: number
  readonly height: number
  readonly data: Uint8Array
  /** See {@link DecodedFrame.timeMs}. */
  readonly timeMs: number
}

/** Where the planes of a {@link YuvFrame} of this size start, the chroma planes' row length, and its bytes. */
export const yuvLayout = (width: number, height: number) => {
  const chromaWidth = Math.ceil(width / 2)
  const chromaBytes = chromaWidth * Math.ceil(height / 2)
  const uPlane = width * height
  return { chromaWidth, uPlane, vPlane: uPlane + chromaBytes, bytes: uPlane + 2 * chromaBytes }
}

/** Bytes of a {@link YuvFrame} of this size. */
export const yuvFrameBytes = (width: number, height: number): number => yuvLayout(width, height).bytes

/** A decoded frame and when it is shown. */
export interface DecodedFrame extends RgbFrame {
  /**
   * Presentation time of the source frame in milliseconds from the start of the video (the
   * container's start time), exact to the stream's time base.
   */
  readonly timeMs: number
}

/**
 * Full-size frames of the coarse samples, besides the downscaled ones: screenshots are cropped from
 * them, so no frame has to be decoded a second time (seeking to one costs decoding from the keyframe
 * before it, often seconds of video).
 */
export interface FullSizeSamples {
  /** The first source frame of every 1/sampleFps-second slot, as `DecodeOptions.sampleFps` picks them. */
  readonly sampleFps: number
  /** Displayed (rotated) size of the source. */
  readonly width: number
  readonly height: number
  /**
   * Called with each one, at full size and in YUV (converting every sample to RGB would cost ffmpeg
   * more than converting the few regions kept), in order and before the decoding ends. It arrives around
   * the time of the downscaled frame of the same source frame, not necessarily before it. Its
   * buffer is lent: it is reused once the returned promise settles, so a stream of large frames
   * allocates nothing per frame (allocating them made the garbage collector cost more CPU than the
   * screenshots they save). Up to `LENT_FULL_FRAMES` are lent at once; past that, decoding waits.
   */
  readonly onFrame: (frame: YuvFrame) => Promise<void> | void
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
   * Index of the stream to decode among all the file's streams (`VideoChecks`' `streamIndex`): the
   * first video stream may be a cover picture. Default: the first video stream.
   */
  readonly streamIndex?: number | undefined
  /**
   * Keep the first source frame of every 1/sampleFps-second slot (so frames are real source
   * frames, never duplicated or interpolated). Omit for every frame.
   */
  readonly sampleFps?: number | undefined
  /** Decode only frames shown at or after this time (ms from the start of the video). */
  readonly startMs?: number | undefined
  /** Decode only frames shown before this time (exclusive). */
  readonly endMs?: number | undefined
  /** Stop after this many frames, so ffmpeg decodes no further than the last one wanted. */
  readonly maxFrames?: number | undefined
  /**
   * The buffer each frame is read into. Default: a new one. A consumer done with most frames can
   * hand their buffers back this way, so that decoding allocates (and the collector frees) little.
   */
  readonly frameBuffer?: ((bytes: number) => Uint8Array) | undefined
  /** Also hand over full-size samples (see {@link FullSizeSamples}), read from a second pipe. */
  readonly fullSize?: FullSizeSamples | undefined
}

// Frames are at least ~4 ms apart; this absorbs float rounding of times that came from an earlier pass.
const TIME_TOLERANCE_S = 0.0001

const seconds = (ms: number): string => (ms / 1000).toFixed(6)

const sampleTerm = (sampleFps: number, offsetMs: number): string => {
  const slot = (time: string) => `floor((${time}-${seconds(offsetMs)})*${sampleFps}+${TIME_TOLERANCE_S})`
  return `(isnan(prev_selected_t)+gt(${slot("t")}\\,${slot("prev_selected_t")}))`
}

const selectExpression = (options: DecodeOptions): string | undefined => {
  const offsetMs = options.videoStartMs ?? 0
  const terms: Array<string> = []
  if (options.startMs !== undefined) terms.push(`gte(t\\,${seconds(options.startMs + offsetMs)}-${TIME_TOLERANCE_S})`)
  if (options.endMs !== undefined) terms.push(`lt(t\\,${seconds(options.endMs + offsetMs)}-${TIME_TOLERANCE_S})`)
  if (options.sampleFps !== undefined) terms.push(sampleTerm(options.sampleFps, offsetMs))
  return terms.length === 0 ? undefined : terms.join("*")
}

const inputArguments = (options: DecodeOptions): Array<string> => {
  const offsetMs = options.videoStartMs ?? 0
  // Seek a hair early: ffmpeg drops frames before -ss, and the exact cut is the select filter's job.
  const seek = options.startMs !== undefined && options.startMs > 0 ? ["-ss", seconds(options.startMs + offsetMs - TIME_TOLERANCE_S * 1000)] : []
  const stop = options.endMs !== undefined ? ["-to", seconds(options.endMs + offsetMs)] : []
  // -copyts keeps source timestamps, so every pass reports times on the same timeline.
  return ["-hide_banner", "-nostdin", "-nostats", "-v", "info", ...seek, ...stop, "-copyts", "-i", options.input]
}

// showinfo logs each frame's exact time; its per-plane checksums and statistics would cost CPU for nothing.
const SCALED_LOG = "scaled"
const FULL_LOG = "full"
const showinfo = (label: string) => `showinfo@${label}=checksum=0`
const raw = (pixelFormat: "rgb24" | "yuv420p") => ["-vsync", "passthrough", "-pix_fmt", pixelFormat, "-f", "rawvideo"]

/**
 * ffmpeg arguments that write the selected frames as raw RGB to `scaledOutput` (and the full-size
 * samples to `fullOutput`), logging each frame with `showinfo`.
 */
const decodeArguments = (options: DecodeOptions, scaledOutput: string, fullOutput: string | undefined): Array<string> => {
  const select = selectExpression(options)
  const scaled = `scale=${options.width}:${options.height}:flags=area,${showinfo(SCALED_LOG)}`
  const frames = options.maxFrames === undefined ? [] : ["-frames:v", String(options.maxFrames)]
  const selected = select === undefined ? "" : `select='${select}',`
  const full = options.fullSize
  const stream = options.streamIndex === undefined ? "0:v:0" : `0:${options.streamIndex}`
  if (full === undefined || fullOutput === undefined) {
    return [...inputArguments(options), ...["-map", stream, "-vf", `${selected}${scaled}`], ...frames, ...raw("rgb24"), "-y", scaledOutput]
  }
  const fullSelect = `select='${sampleTerm(full.sampleFps, options.videoStartMs ?? 0)}'`
  const graph = `[${stream}]${selected}split=2[all][samples];[all]${scaled}[scaled];[samples]${fullSelect},${showinfo(FULL_LOG)}[full]`
  return [
    ...inputArguments(options),
    ...["-filter_complex", graph],
    ...["-map", "[scaled]", ...frames, ...raw("rgb24"), "-y", scaledOutput],
    ...["-map", "[full]", ...raw("yuv420p"), "-y", fullOutput]
  ]
}

const SHOWINFO_FRAME = /\[showinfo@(\w+) @ [^\]]+\] n:\s*\d+ pts:\s*(-?\d+)\s+pts_time:(-?[\d.e+-]+)/
const SHOWINFO_TIME_BASE = /\[showinfo@(\w+) @ [^\]]+\] config in time_base: (\d+)\/(\d+)/

/** The times of one output's frames as ffmpeg logs them; a reader can wait for the n-th. */
class FrameTimes {
  private readonly times: Array<number> = []
  private ended = false
  private wake: (() => void) | undefined
  timeBase: readonly [number, number] | undefined

  push(timeMs: number): void {
    this.times.push(timeMs)
    this.notify()
  }

  end(): void {
    this.ended = true
    this.notify()
  }

  /** Resolves with the time of the frame at `index`, or undefined if ffmpeg ended without logging it. */
  async at(index: number): Promise<number | undefined> {
    while (this.times.length <= index && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve))
    return this.times[index]
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }
}

/** Reads ffmpeg's stderr as it comes: each output's frame times, and the tail for error messages. */
class DecoderLog {
  private pending = ""
  readonly tail = new StderrTail()
  readonly outputs = new Map<string, FrameTimes>()

  constructor(
    private readonly offsetMs: number,
    labels: ReadonlyArray<string>
  ) {
    for (const label of labels) this.outputs.set(label, new FrameTimes())
  }

  push(chunk: string): void {
    this.tail.push(chunk)
    const lines = (this.pending + chunk).split("\n")
    this.pending = lines.pop() ?? ""
    for (const line of lines) this.parse(line)
  }

  end(): void {
    this.parse(this.pending)
    for (const times of this.outputs.values()) times.end()
  }

  private parse(line: string): void {
    const base = SHOWINFO_TIME_BASE.exec(line)
    const baseOutput = base === null ? undefined : this.outputs.get(base[1]!)
    if (baseOutput !== undefined) baseOutput.timeBase = [Number(base![2]), Number(base![3])]
    const frame = SHOWINFO_FRAME.exec(line)
    const output = frame === null ? undefined : this.outputs.get(frame[1]!)
    if (output === undefined) return
    // pts × time base is exact; pts_time is rounded to 6 significant digits, so it is only a fallback.
    const timeBase = output.timeBase
    const ptsSeconds = timeBase === undefined ? Number(frame![3]) : (Number(frame![2]) * timeBase[0]) / timeBase[1]
    output.push(ptsSeconds * 1000 - this.offsetMs)
  }
}

const FIFO_FOLDER_PREFIX = "identify-face-frames-"

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Removes the pipe folders of processes that were killed before they could remove their own; best effort. */
export const removeOrphanedFifoFolders = (): void => {
  for (const name of readdirSync(tmpdir())) {
    const pid = name.startsWith(FIFO_FOLDER_PREFIX) ? Number.parseInt(name.slice(FIFO_FOLDER_PREFIX.length), 10) : Number.NaN
    try {
      if (pid > 0 && !isRunning(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true })
    } catch {
      // Another user's: theirs to remove.
    }
  }
}

/**
 * Named pipes, made a few at a time in one temporary folder and reused by later decodings: making
 * one takes a process (mkfifo), and in a server holding a few hundred MB every spawn stalls its
 * event loop for tens of milliseconds. The folder, named after the process, goes when the process
 * exits, or when a later process finds it was killed.
 */
const fifos = (() => {
  const free: Array<string> = []
  let folder: string | undefined
  let made = 0
  return {
    take: async (): Promise<string> => {
      const reused = free.pop()
      if (reused !== undefined) return reused
      if (folder === undefined) {
        removeOrphanedFifoFolders()
        const created = mkdtempSync(join(tmpdir(), `${FIFO_FOLDER_PREFIX}${process.pid}-`))
        folder = created
        process.once("exit", () => rmSync(created, { recursive: true, force: true }))
      }
      const batch = Array.from({ length: 4 }, () => join(folder!, `${made++}.fifo`))
      await promisify(execFile)("mkfifo", batch)
      free.push(...batch.slice(1))
      return batch[0]!
    },
    /** Only once nothing has it open any more: a pipe's unread bytes go when its last end closes. */
    give: (path: string): void => {
      free.push(path)
    }
  }
})()

/** Both ends of a FIFO, open. */
interface FifoEnds {
  readonly reader: FileHandle
  readonly writer: FileHandle
}

/**
 * Opens both ends of a FIFO without waiting for another process: the reader for this one, the
 * writer to hand to ffmpeg as a file descriptor. ffmpeg then never opens the FIFO itself, where it
 * would wait for ever for a reader killed meanwhile (e.g. an analysis process); once the reader is
 * gone, its next write fails and it exits.
 */
const openFifo = async (path: string): Promise<FifoEnds> => {
  // A non-blocking reader lets the writer open at once, and then the blocking reader does too.
  const opener = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const writer = await open(path, constants.O_WRONLY)
    return { reader: await open(path, constants.O_RDONLY), writer }
  } finally {
    await opener.close()
  }
}

// Full-size frames lent at once: one per sample in detection (see NodeFaceAnalyzer) and two more,
// so that ffmpeg, which cannot write past a frame nobody takes, never waits on the detector.
const LENT_FULL_FRAMES = 6

/** A few frame buffers, lent in turn: `take` waits while every one is out. */
class BufferPool {
  private readonly free: Array<Uint8Array> = []
  private readonly waiting: Array<(buffer: Uint8Array) => void> = []
  private made = 0

  constructor(private readonly size: number) {}

  readonly take = (bytes: number): Uint8Array | Promise<Uint8Array> => {
    const buffer = this.free.pop()
    if (buffer !== undefined) return buffer
    if (this.made < this.size) {
      this.made += 1
      return new Uint8Array(bytes)
    }
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  readonly give = (buffer: Uint8Array): void => {
    const next = this.waiting.shift()
    if (next === undefined) this.free.push(buffer)
    else next(buffer)
  }
}

/**
 * Reads raw frames (RGB or YUV, `size.bytes` each) from a named pipe, each with the time its output logged for it. fs reads
 * straight into the frames, where a pipe stream would allocate (and the garbage collector free) a
 * chunk every 64 KiB. Each frame is read into the buffer `bufferFor` gives: a new one (so it can be
 * held, or transferred to a worker) or one of a few reused ones.
 */
async function* fifoFrames(
  reader: FileHandle,
  size: { readonly width: number; readonly height: number; readonly bytes: number },
  times: FrameTimes,
  tail: StderrTail,
  bufferFor: (frameBytes: number) => Uint8Array | Promise<Uint8Array>
): AsyncGenerator<DecodedFrame, void, undefined> {
  const frameBytes = size.bytes
  for (let index = 0; ; index++) {
    const frame = await bufferFor(frameBytes)
    let filled = 0
    while (filled < frameBytes) {
      const { bytesRead } = await reader.read(frame, filled, frameBytes - filled, null)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    if (filled === 0) return
    if (filled < frameBytes) throw new FfmpegError("output", `ffmpeg ended inside a frame (${filled} of ${frameBytes} bytes)`)
    const timeMs = await times.at(index)
    if (timeMs === undefined) throw new FfmpegError("output", `no timestamp logged for frame ${index}`, tail.toString())
    yield { width: size.width, height: size.height, data: frame, timeMs }
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
  const ffmpeg = options.ffmpeg ?? resolveFfmpegBinaries().ffmpeg
  const full = options.fullSize
  const pipes = full === undefined ? [await fifos.take()] : [await fifos.take(), await fifos.take()]
  const ends = await Promise.all(pipes.map(openFifo))
  const release = async () => {
    await Promise.all(ends.map((end) => Promise.all([end.reader.close(), end.writer.close()])))
    pipes.forEach(fifos.give)
  }
  // Checked here, after the last wait before ffmpeg starts and the signal is listened to.
  if (options.signal?.aborted === true) {
    await release()
    throw new FfmpegError("aborted", "decoding aborted before start")
  }
  // The writers become ffmpeg's descriptors 3 and 4, and are closed here once it has them.
  const outputs = ends.map((_, index) => `pipe:${3 + index}`)
  const child = spawn(ffmpeg, decodeArguments(options, outputs[0]!, outputs[1]), { stdio: ["ignore", "ignore", "pipe", ...ends.map((end) => end.writer.fd)] })
  lowerChildPriority(child.pid)
  await Promise.all(ends.map((end) => end.writer.close()))
  const [scaledEnds, fullEnds] = ends
  const log = new DecoderLog(options.videoStartMs ?? 0, full === undefined ? [SCALED_LOG] : [SCALED_LOG, FULL_LOG])
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
  const stderr = child.stderr!
  stderr.setEncoding("utf8")
  stderr.on("data", (chunk: string) => log.push(chunk))
  stderr.on("close", () => log.end())
  const outputTimes = (label: string) => log.outputs.get(label)!

  // Read on its own, whatever the consumer of the scaled frames does.
  const stopFullSamples = new AbortController()
  const stopped = new Promise<void>((resolve) => stopFullSamples.signal.addEventListener("abort", () => resolve(), { once: true }))
  const fullSamples =
    full === undefined || fullEnds === undefined
      ? Promise.resolve()
      : (async () => {
          const pool = new BufferPool(LENT_FULL_FRAMES)
          const lent = new Set<Promise<void>>()
          for await (const frame of fifoFrames(fullEnds.reader, { ...full, bytes: yuvFrameBytes(full.width, full.height) }, outputTimes(FULL_LOG), log.tail, pool.take)) {
            const returned = Promise.race([Promise.resolve().then(() => full.onFrame(frame)), stopped]).then(() => {
              lent.delete(returned)
              pool.give(frame.data)
            })
            lent.add(returned)
            if (stopFullSamples.signal.aborted) break
          }
          await Promise.all(lent)
        })().catch((error: unknown) => kill(error instanceof FfmpegError ? error : new FfmpegError("output", String(error))))
  try {
    yield* fifoFrames(scaledEnds!.reader, { ...options, bytes: options.width * options.height * 3 }, outputTimes(SCALED_LOG), log.tail, options.frameBuffer ?? ((bytes) => new Uint8Array(bytes)))
    const code = await exited
    await fullSamples
    if (failure !== undefined) throw failure
    if (code !== 0) throw new FfmpegError("exit", `ffmpeg exited with code ${code}`, log.tail.toString())
  } finally {
    if (timer !== undefined) clearTimeout(timer)
    options.signal?.removeEventListener("abort", onAbort)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    stopFullSamples.abort()
    await exited
    await fullSamples
    await release()
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
  /** See `DecodeOptions.streamIndex`. */
  readonly streamIndex?: number | undefined
}

/** Decodes the single frame shown at (or first after) `timeMs`. Throws {@link FfmpegError} if there is none. */
export const decodeFrameAt = async (options: FrameAtOptions): Promise<DecodedFrame> => {
  for await (const frame of decodeFrames({ ...options, startMs: options.timeMs, maxFrames: 1 })) return frame
  throw new FfmpegError("output", `no frame at or after ${options.timeMs} ms in ${options.input}`)
}
