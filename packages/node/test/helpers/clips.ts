/**
 * Test videos made with the system's ffmpeg, on demand, and cached.
 *
 * `makeClip` answers the path of a clip with the asked properties, encoding it only when no test
 * made the same clip before: clips are kept in one folder under the system's temporary directory,
 * named by a hash of the ffmpeg commands that make them (so a changed recipe makes a new file),
 * and written under a temporary name first, so parallel test files never see half a clip.
 *
 * ```ts
 * const landscape = await makeClip({ width: 1280, height: 720 })
 * const portrait = await makeClip({ width: 1080, height: 1920, codec: "hevc", container: "mov", from: FACE_JPG })
 * ```
 */
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, statSync } from "node:fs"
import { mkdir, readdir, rename, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { promisify } from "node:util"
import { resolveFfmpegBinaries } from "../../src/internal/ffmpeg.js"

/** The folder clips are cached in. */
export const clipCacheDir = join(tmpdir(), "identify-face-test-clips")

/** What a clip is made of; every property has a default. */
export interface ClipOptions {
  /** Encoded size in pixels (before any rotation metadata). Default 1280x720. */
  readonly width?: number
  readonly height?: number
  /** Length in seconds. Default 2. */
  readonly seconds?: number
  /** Frames per second. Default 25. */
  readonly fps?: number
  /** The video codec; `none` leaves the video stream out (an audio-only file). Default `h264`. */
  readonly codec?: "h264" | "hevc" | "vp9" | "none"
  /** The container, which also names the file's extension. Default `mp4`. */
  readonly container?: "mp4" | "mov" | "webm" | "avi"
  /** Rotation metadata in degrees: the pixels stay as encoded, players turn them. */
  readonly rotate?: 90 | 180 | 270
  /** An image shown for the whole clip (scaled to the size) instead of the moving test pattern. */
  readonly from?: string
  /** Adds a sine tone (AAC; Opus in WebM). Always on when `codec` is `none`. */
  readonly audio?: boolean
  /** Puts the movie header (`moov`) before the media data, as for streaming. */
  readonly faststart?: boolean
  /** Frames from one keyframe to the next. Default: the encoder's. */
  readonly keyframeInterval?: number
}

const run = promisify(execFile)

const videoEncoders = {
  h264: ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
  // hvc1 is the tag QuickTime players want for HEVC.
  hevc: ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-tag:v", "hvc1", "-x265-params", "log-level=error"],
  vp9: ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-pix_fmt", "yuv420p"],
  none: ["-vn"]
} as const

/** The ffmpeg commands that make the clip: an encode, then a stream copy that sets the rotation. */
const commands = (options: ClipOptions, output: string): ReadonlyArray<ReadonlyArray<string>> => {
  const { width = 1280, height = 720, seconds = 2, fps = 25, codec = "h264", container = "mp4" } = options
  const picture =
    options.from === undefined
      ? ["-f", "lavfi", "-i", `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`]
      : ["-loop", "1", "-framerate", String(fps), "-t", String(seconds), "-i", options.from]
  const withAudio = options.audio === true || codec === "none"
  const inputs = [...(codec === "none" ? [] : picture), ...(withAudio ? ["-f", "lavfi", "-i", `sine=duration=${seconds}`] : [])]
  const scale = options.from === undefined || codec === "none" ? [] : ["-vf", `scale=${width}:${height},setsar=1`]
  const audio = withAudio ? ["-c:a", container === "webm" ? "libopus" : "aac"] : []
  const keyframes = options.keyframeInterval === undefined ? [] : ["-g", String(options.keyframeInterval)]
  const faststart = options.faststart === true ? ["-movflags", "+faststart"] : []
  const encode = [...inputs, ...scale, ...videoEncoders[codec], ...keyframes, ...audio, ...faststart, "-t", String(seconds)]
  if (options.rotate === undefined) return [[...encode, output]]
  // ffmpeg 5 drops a rotate tag when it encodes, so it is set on a stream copy.
  const upright = `${output}.upright.${container}`
  return [
    [...encode, upright],
    ["-i", upright, "-c", "copy", "-metadata:s:v:0", `rotate=${options.rotate}`, ...faststart, output]
  ]
}

/** Answers the path of a clip made as `options` say, from the cache when it was made before. */
export const makeClip = (options: ClipOptions = {}): Promise<string> =>
  makeCustomClip({
    container: options.container ?? "mp4",
    sources: options.from === undefined ? [] : [options.from],
    commands: (output) => commands(options, output)
  })

/** A clip of one's own making: the ffmpeg commands (without the `ffmpeg` itself) that write it. */
export interface ClipRecipe {
  /** The file's extension. */
  readonly container: string
  /** Files the commands read: a changed file makes a new clip. */
  readonly sources: ReadonlyArray<string>
  /** Each an argument list; the last writes `output`, earlier ones may write `${output}.<anything>`. */
  readonly commands: (output: string) => ReadonlyArray<ReadonlyArray<string>>
}

/** Answers the path of the clip a recipe makes, from the cache when it was made before. */
export const makeCustomClip = async (recipe: ClipRecipe): Promise<string> => {
  const { container } = recipe
  const sources = recipe.sources.map((source) => `${source}:${statSync(source).mtimeMs}`)
  const key = createHash("sha256")
    .update(JSON.stringify([recipe.commands("OUT"), sources]))
    .digest("hex")
    .slice(0, 16)
  const path = join(clipCacheDir, `${key}.${container}`)
  if (existsSync(path)) return path
  await mkdir(clipCacheDir, { recursive: true })
  const partial = join(clipCacheDir, `${key}.${process.pid}-${Math.random().toString(36).slice(2)}.${container}`)
  const { ffmpeg } = resolveFfmpegBinaries()
  try {
    for (const args of recipe.commands(partial)) await run(ffmpeg, ["-v", "error", "-nostdin", "-y", ...args])
    await rename(partial, path)
  } finally {
    const leftovers = (await readdir(clipCacheDir)).filter((name) => name.startsWith(basename(partial)))
    await Promise.all(leftovers.map((name) => rm(join(clipCacheDir, name), { force: true })))
  }
  return path
}

/**
 * Sets the codec tag, width and height of the first visual sample entry (a `stsd` box entry) of
 * an H.264 MP4, so that its header declares what its pixels are not.
 */
export const patchSampleEntry = (patch: { readonly tag?: string; readonly width?: number; readonly height?: number }) => (bytes: Buffer) => {
  const copy = Buffer.from(bytes)
  const entryType = copy.indexOf("avc1", copy.indexOf("stsd"))
  if (patch.tag !== undefined) copy.write(patch.tag, entryType, "latin1")
  if (patch.width !== undefined) copy.writeUInt16BE(patch.width, entryType + 28)
  if (patch.height !== undefined) copy.writeUInt16BE(patch.height, entryType + 30)
  return copy
}
