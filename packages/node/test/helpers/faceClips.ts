/**
 * Clips of the test photos with known ground truth, exact to the frame since they are built from
 * stills: every frame of a shot shows the same picture, so a face is visible exactly for the
 * frames of its shots. Built with `makeCustomClip`, so each is encoded once and cached.
 */
import { fileURLToPath } from "node:url"
import { makeCustomClip, type ClipRecipe } from "./clips.js"

/** Frames per second of every clip here. */
export const FPS = 30
export const FRAME_MS = 1000 / FPS

/** The two public-domain photos, one frontal face each. */
export const ASTRONAUT = fileURLToPath(new URL("../fixtures/astronaut.png", import.meta.url))
export const HOPPER = fileURLToPath(new URL("../fixtures/grace_hopper.jpg", import.meta.url))

/** A face the clip shows on frames `[fromFrame, toFrame)`. */
export interface TrueFace {
  readonly fromFrame: number
  readonly toFrame: number
}

/** A built clip and the faces it shows, in order of first appearance, then left to right. */
export interface FaceClip {
  readonly path: string
  readonly faces: ReadonlyArray<TrueFace>
}

interface Size {
  readonly width: number
  readonly height: number
}

const LANDSCAPE: Size = { width: 1280, height: 720 }

/** One shot of a clip: a source, the filters that make it a frame of the clip's size, and how many frames it lasts. */
export interface Shot {
  readonly input: ReadonlyArray<string>
  readonly filter: string
  readonly frames: number
  /** The files it reads. */
  readonly sources: ReadonlyArray<string>
}

const picture = (image: string) => ["-framerate", String(FPS), "-i", image]
// Repeats the one decoded picture for ever (trimmed later), so the image is decoded and scaled once.
const REPEAT = "loop=loop=-1:size=1"

/** Where a still goes: scaled to `share` of the frame height, its top left corner at `x`, `y` (default: centred). */
export interface Placement {
  readonly share: number
  readonly x?: number
  readonly y?: number
}

/** A photo on black. */
export const still = (image: string, frames: number, size: Size = LANDSCAPE, placement: Placement = { share: 1 }): Shot => ({
  input: picture(image),
  filter:
    `scale=-2:${Math.round(size.height * placement.share)},` +
    `pad=${size.width}:${size.height}:${placement.x ?? "(ow-iw)/2"}:${placement.y ?? "(oh-ih)/2"},${REPEAT}`,
  frames,
  sources: [image]
})

/** Black frames. */
export const black = (frames: number, size: Size = LANDSCAPE): Shot => ({
  input: ["-f", "lavfi", "-i", `color=black:size=${size.width}x${size.height}:rate=${FPS}`],
  filter: "null",
  frames,
  sources: []
})

/** A moving test pattern: a busy picture without a face. */
export const pattern = (frames: number, size: Size = LANDSCAPE): Shot => ({
  input: ["-f", "lavfi", "-i", `testsrc2=size=${size.width}x${size.height}:rate=${FPS}`],
  filter: "null",
  frames,
  sources: []
})

/** A photo zooming in from its whole height to `zoom` times, centred on its upper third (where the face is). */
export const zoomIn = (image: string, frames: number, zoom: number, size: Size = LANDSCAPE): Shot => ({
  input: picture(image),
  filter:
    `scale=-2:${size.height},pad=${size.width}:${size.height}:(ow-iw)/2:(oh-ih)/2,${REPEAT},` +
    `zoompan=z='1+${zoom - 1}*on/${frames}':x='iw/2-iw/zoom/2':y='ih/3-ih/zoom/3':d=1:s=${size.width}x${size.height}:fps=${FPS}`,
  frames,
  sources: [image]
})

/** A photo on a canvas twice as wide, the view panning `pixelsPerFrame` to the right. */
export const pan = (image: string, frames: number, pixelsPerFrame: number, size: Size = LANDSCAPE): Shot => ({
  input: picture(image),
  filter:
    `scale=-2:${size.height},pad=${2 * size.width}:${size.height}:(ow-iw)/2:0,${REPEAT},` +
    `crop=${size.width}:${size.height}:x='${size.width / 2 - (frames * pixelsPerFrame) / 2}+n*${pixelsPerFrame}':y=0`,
  frames,
  sources: [image]
})

/** Two photos side by side, each in half of the frame. */
export const sideBySide = (left: string, right: string, frames: number, size: Size = LANDSCAPE): Shot => {
  const half = `scale=${size.width / 2}:${size.height}:force_original_aspect_ratio=decrease,pad=${size.width / 2}:${size.height}:(ow-iw)/2:(oh-ih)/2,${REPEAT}`
  return {
    input: [...picture(left), ...picture(right)],
    filter: `${half}[left];[SECOND]${half}[right];[left][right]hstack`,
    frames,
    sources: [left, right]
  }
}

/** How a clip is stored. */
export interface Storage {
  readonly container?: "mp4" | "mov"
  /** Rotation metadata: the shots are encoded turned the other way, so the clip displays as built. */
  readonly rotate?: 90
  /** x264's preset. Default `ultrafast`, quick to make. */
  readonly preset?: string
  /** Frames from one keyframe to the next. Default 30 (one second); 0 for x264's own (250). */
  readonly keyframeInterval?: number
}

const encoding = ({ preset = "ultrafast", keyframeInterval = FPS }: Storage) => [
  ...["-c:v", "libx264", "-preset", preset, "-crf", "20", "-pix_fmt", "yuv420p", "-r", String(FPS)],
  ...(keyframeInterval === 0 ? [] : ["-g", String(keyframeInterval)])
]

/** The recipe of a clip made of shots, one after the other (cut, no transition). */
export const shotsRecipe = (shots: ReadonlyArray<Shot>, storage: Storage = {}): ClipRecipe => {
  const container = storage.container ?? "mp4"
  const inputs: Array<string> = []
  const chains: Array<string> = []
  let nextInput = 0
  shots.forEach((shot, i) => {
    const first = nextInput
    // A shot may read two inputs (side by side): [SECOND] names its second one.
    const inputCount = shot.input.filter((arg) => arg === "-i").length
    nextInput += inputCount
    inputs.push(...shot.input)
    const turn = storage.rotate === 90 ? ",transpose=clock" : ""
    chains.push(
      `[${first}:v]${shot.filter.replace("[SECOND]", `[${first + 1}:v]`)},setsar=1,fps=${FPS},` +
        `trim=end_frame=${shot.frames},setpts=PTS-STARTPTS${turn},format=yuv420p[shot${i}]`
    )
  })
  const graph = [...chains, `${shots.map((_, i) => `[shot${i}]`).join("")}concat=n=${shots.length}:v=1:a=0[clip]`].join(";")
  return {
    container,
    sources: [...new Set(shots.flatMap((shot) => shot.sources))],
    commands: (output) => {
      const encode = [...inputs, "-filter_complex", graph, "-map", "[clip]", ...encoding(storage)]
      if (storage.rotate === undefined) return [[...encode, output]]
      // ffmpeg 5 drops a rotate tag when it encodes, so it is set on a stream copy.
      const turned = `${output}.turned.${container}`
      return [
        [...encode, turned],
        ["-i", turned, "-c", "copy", "-metadata:s:v:0", `rotate=${storage.rotate}`, output]
      ]
    }
  }
}

/** Builds a clip of shots. */
export const makeShotsClip = (shots: ReadonlyArray<Shot>, faces: ReadonlyArray<TrueFace>, storage?: Storage): Promise<FaceClip> =>
  makeCustomClip(shotsRecipe(shots, storage)).then((path) => ({ path, faces }))
