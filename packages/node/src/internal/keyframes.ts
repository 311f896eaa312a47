/**
 * Where a video's keyframes are, read from the container's packet flags without decoding: a frame
 * is decoded from the keyframe before it, so this is what a seek to it costs.
 */
import { runToCompletion, type RunOptions } from "./ffmpeg.js"

/** Which stream of which file, and the ffprobe that reads it. */
export interface KeyframeOptions extends RunOptions {
  readonly ffprobe: string
  /** The video stream's index in the file. */
  readonly streamIndex: number
  /** The container's start time: times are answered from here, as frame times are. */
  readonly videoStartMs: number
}

/** The presentation times of the stream's keyframes in milliseconds, ascending. Throws `FfmpegError` when ffprobe fails. */
export const keyframeTimes = async (input: string, options: KeyframeOptions): Promise<Array<number>> => {
  const stdout = await runToCompletion(
    options.ffprobe,
    ["-v", "error", "-select_streams", String(options.streamIndex), "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", input],
    options
  )
  return stdout
    .toString("latin1")
    .split("\n")
    .map((line) => line.split(","))
    .filter(([time, flags]) => flags?.startsWith("K") === true && time !== undefined && time !== "N/A")
    .map(([time]) => Number(time) * 1000 - options.videoStartMs)
    .sort((a, b) => a - b)
}

/**
 * How long before `timeMs` the keyframe that `decodeFrameAt` starts from is: the stretch it decodes
 * to reach the frame. It seeks a hair (0.1 ms) early, so a frame right on a keyframe is reached from
 * the keyframe before.
 */
export const seekDistance = (keyframes: ReadonlyArray<number>, timeMs: number): number => {
  const previous = keyframes.findLast((keyframe) => keyframe < timeMs - 0.05)
  return previous === undefined ? timeMs : timeMs - previous
}
