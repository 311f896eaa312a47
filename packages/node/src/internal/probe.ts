/**
 * The few facts about a video's first video stream that decoding needs, read with ffprobe.
 */
import { FfmpegError, resolveFfmpegBinaries, runToCompletion, type RunOptions } from "./ffmpeg.js"

/** A video stream as it is displayed (after rotation metadata is applied). */
export interface VideoStreamInfo {
  /** Displayed size in pixels, after rotation. */
  readonly width: number
  readonly height: number
  /** Clockwise rotation the player applies, one of 0, 90, 180, 270. */
  readonly rotation: number
  /** Average frame rate (frames per second); 0 when ffprobe does not know it. */
  readonly fps: number
  /** Container duration in milliseconds. */
  readonly durationMs: number
  /** Container start time in milliseconds: frame times are measured from here. */
  readonly startTimeMs: number
  readonly codec: string
  /** Comma-separated container names as ffprobe reports them, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  readonly formatName: string
}

interface ProbeJson {
  readonly streams?: ReadonlyArray<{
    readonly codec_type?: string
    readonly codec_name?: string
    readonly width?: number
    readonly height?: number
    readonly avg_frame_rate?: string
    readonly r_frame_rate?: string
    readonly tags?: { readonly rotate?: string }
    readonly side_data_list?: ReadonlyArray<{ readonly rotation?: number }>
  }>
  readonly format?: { readonly duration?: string; readonly start_time?: string; readonly format_name?: string }
}

const parseRate = (rate: string | undefined): number => {
  const [num, den] = (rate ?? "0/0").split("/").map(Number)
  return num !== undefined && den !== undefined && den > 0 && Number.isFinite(num / den) ? num / den : 0
}

// The display matrix says how many degrees to rotate counter-clockwise; older files use a `rotate` tag (clockwise).
const rotationOf = (stream: NonNullable<ProbeJson["streams"]>[number]): number => {
  const matrix = stream.side_data_list?.find((side) => typeof side.rotation === "number")?.rotation
  const clockwise = matrix !== undefined ? -matrix : Number(stream.tags?.rotate ?? 0)
  return ((Math.round(clockwise / 90) * 90) % 360 + 360) % 360
}

/** Reads the first video stream's displayed size, rotation, rate, duration and start time. */
export const probeVideo = async (input: string, options: RunOptions = {}): Promise<VideoStreamInfo> => {
  const { ffprobe } = resolveFfmpegBinaries()
  const stdout = await runToCompletion(
    ffprobe,
    ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-select_streams", "v:0", input],
    options
  )
  const json = JSON.parse(stdout.toString("utf8")) as ProbeJson
  const stream = json.streams?.find((s) => s.codec_type === "video")
  if (stream?.width === undefined || stream.height === undefined) throw new FfmpegError("output", `no video stream in ${input}`)
  const rotation = rotationOf(stream)
  const swap = rotation === 90 || rotation === 270
  return {
    width: swap ? stream.height : stream.width,
    height: swap ? stream.width : stream.height,
    rotation,
    fps: parseRate(stream.avg_frame_rate) || parseRate(stream.r_frame_rate),
    durationMs: Number(json.format?.duration ?? 0) * 1000,
    startTimeMs: Number(json.format?.start_time ?? 0) * 1000,
    codec: stream.codec_name ?? "",
    formatName: json.format?.format_name ?? ""
  }
}

/** Scales a size down so its longer side is at most `maxSide`, keeping the aspect ratio, in even pixels (as ffmpeg's yuv420p needs). */
export const fitWithin = (size: { readonly width: number; readonly height: number }, maxSide: number): { width: number; height: number } => {
  const scale = Math.min(1, maxSide / Math.max(size.width, size.height))
  const even = (n: number) => Math.max(2, Math.round((n * scale) / 2) * 2)
  return { width: even(size.width), height: even(size.height) }
}
