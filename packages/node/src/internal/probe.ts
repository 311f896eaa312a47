/**
 * What ffprobe reads of a video: the container and the first video stream, and the few facts
 * about that stream that decoding needs.
 */
import { FfmpegError, resolveFfmpegBinaries, runToCompletion, type RunOptions } from "./ffmpeg.js"

/** What ffprobe reads of a file: its container and its first video stream. */
export interface MediaProbe {
  /** Comma-separated container names as ffprobe reports them, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  readonly formatName: string
  /** Container duration in milliseconds, when the container states one. */
  readonly durationMs: number | undefined
  /** Container start time in milliseconds: frame times are measured from here. */
  readonly startTimeMs: number
  /** The first video stream that is not an attached picture (cover art), when there is one. */
  readonly video: ProbedVideoStream | undefined
}

/** A video stream as ffprobe reads it, sized as it is displayed. */
export interface ProbedVideoStream {
  /** Its index among all the file's streams, as in ffmpeg's `-map 0:<index>`. */
  readonly index: number
  /** ffmpeg's name of its codec, e.g. `h264`; undefined when this ffmpeg does not know the codec. */
  readonly codec: string | undefined
  /** The codec's tag in the container, e.g. `avc1`. */
  readonly codecTag: string
  /** Displayed size in pixels, after rotation; 0 when ffprobe could not read it. */
  readonly width: number
  readonly height: number
  /** Rotation metadata in degrees, normalised to 0, 90, 180 or 270; 90 and 270 swap width and height. */
  readonly rotation: number
  /** Average frame rate (frames per second); 0 when ffprobe does not know it. */
  readonly fps: number
  /** The stream's own duration in milliseconds, when the container states one. */
  readonly durationMs: number | undefined
  /** How its YUV turns into RGB (ffprobe's `color_space`, e.g. `bt709`); undefined when untagged. */
  readonly colorSpace: string | undefined
}

/** A video stream as it is displayed (after rotation metadata is applied), with its container's timing. */
export interface VideoStreamInfo
  extends Pick<ProbedVideoStream, "width" | "height" | "rotation" | "fps">,
    Pick<MediaProbe, "startTimeMs" | "formatName"> {
  /** Container duration in milliseconds; 0 when the container does not state one. */
  readonly durationMs: number
  /** ffmpeg's name of the codec; empty when this ffmpeg does not know it. */
  readonly codec: string
}

/** Options of {@link probeMedia}. */
export interface ProbeOptions extends RunOptions {
  /** The ffprobe to run. Default: the one `resolveFfmpegBinaries` finds. */
  readonly ffprobe?: string | undefined
  /** Makes ffprobe fail on a picture of more pixels than this rather than let a decoder allocate it. */
  readonly maxPixels?: number | undefined
}

interface StreamJson {
  readonly index?: number
  readonly codec_type?: string
  readonly codec_name?: string
  readonly codec_tag_string?: string
  readonly width?: number
  readonly height?: number
  readonly avg_frame_rate?: string
  readonly r_frame_rate?: string
  readonly duration?: string
  readonly disposition?: { readonly attached_pic?: number }
  readonly tags?: { readonly rotate?: string }
  readonly color_space?: string
  readonly side_data_list?: ReadonlyArray<{ readonly rotation?: number }>
}

interface ProbeJson {
  readonly streams?: ReadonlyArray<StreamJson>
  readonly format?: { readonly duration?: string; readonly start_time?: string; readonly format_name?: string }
}

const parseRate = (rate: string | undefined): number => {
  const [num, den] = (rate ?? "0/0").split("/").map(Number)
  return num !== undefined && den !== undefined && den > 0 && Number.isFinite(num / den) ? num / den : 0
}

const parseMs = (seconds: string | undefined): number | undefined => {
  const ms = Number(seconds) * 1000
  return Number.isFinite(ms) ? ms : undefined
}

// Newer ffprobe reports the display matrix in side data, older ones a `rotate` tag.
const rotationOf = (stream: StreamJson): number => {
  const degrees = stream.side_data_list?.find((side) => typeof side.rotation === "number")?.rotation ?? Number(stream.tags?.rotate ?? 0)
  return (((Math.round(degrees / 90) * 90) % 360) + 360) % 360
}

const toVideoStream = (stream: StreamJson, position: number): ProbedVideoStream => {
  const rotation = rotationOf(stream)
  const swap = rotation === 90 || rotation === 270
  const width = stream.width ?? 0
  const height = stream.height ?? 0
  return {
    index: stream.index ?? position,
    codec: stream.codec_name,
    codecTag: stream.codec_tag_string ?? "",
    width: swap ? height : width,
    height: swap ? width : height,
    rotation,
    fps: parseRate(stream.avg_frame_rate) || parseRate(stream.r_frame_rate),
    durationMs: parseMs(stream.duration),
    colorSpace: stream.color_space === "unknown" ? undefined : stream.color_space
  }
}

/** Reads a file's container and its first video stream with ffprobe. Throws {@link FfmpegError} when ffprobe fails. */
export const probeMedia = async (input: string, options: ProbeOptions = {}): Promise<MediaProbe> => {
  const ffprobe = options.ffprobe ?? resolveFfmpegBinaries().ffprobe
  const maxPixels = options.maxPixels === undefined ? [] : ["-max_pixels", String(options.maxPixels)]
  const stdout = await runToCompletion(
    ffprobe,
    ["-v", "error", ...maxPixels, "-print_format", "json", "-show_format", "-show_streams", input],
    options
  )
  const json = JSON.parse(stdout.toString("utf8")) as ProbeJson
  const streams = json.streams ?? []
  const position = streams.findIndex((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1)
  const stream = streams[position]
  return {
    formatName: json.format?.format_name ?? "",
    durationMs: parseMs(json.format?.duration),
    startTimeMs: parseMs(json.format?.start_time) ?? 0,
    video: stream === undefined ? undefined : toVideoStream(stream, position)
  }
}

/** Reads the first video stream's displayed size, rotation, rate, duration and start time. */
export const probeVideo = async (input: string, options: RunOptions = {}): Promise<VideoStreamInfo> => {
  const media = await probeMedia(input, options)
  const video = media.video
  if (video === undefined || video.width === 0 || video.height === 0) throw new FfmpegError("output", `no video stream in ${input}`)
  return {
    width: video.width,
    height: video.height,
    rotation: video.rotation,
    fps: video.fps,
    durationMs: media.durationMs ?? 0,
    startTimeMs: media.startTimeMs,
    codec: video.codec ?? "",
    formatName: media.formatName
  }
}

/** Scales a size down so its longer side is at most `maxSide`, keeping the aspect ratio, in even pixels (as ffmpeg's yuv420p needs). */
export const fitWithin = (size: { readonly width: number; readonly height: number }, maxSide: number): { width: number; height: number } => {
  const scale = Math.min(1, maxSide / Math.max(size.width, size.height))
  const even = (n: number) => Math.max(2, Math.floor((n * scale) / 2) * 2)
  return { width: even(size.width), height: even(size.height) }
}
