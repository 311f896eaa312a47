/**
 * Screenshot material gathered during the coarse pass: the regions around the faces found in each
 * coarse sample, cut from that sample's full-size frame, so no frame is decoded a second time for
 * a screenshot (seeking to one costs decoding from the keyframe before it, often seconds of video).
 */
import { yuvLayout, type RgbFrame, type YuvFrame } from "./FrameDecoder.js"

/** A region of a frame, in its pixels. */
export interface Region {
  readonly left: number
  readonly top: number
  readonly width: number
  readonly height: number
}

/** A face found in a coarse sample, and the region of the full-size frame its screenshot shows. */
export interface SampleFace<Face> {
  readonly face: Face
  readonly region: (full: { readonly width: number; readonly height: number }) => Region
}

// Luma weights of red and blue (Kr, Kb) of each YUV matrix, by ffprobe's `color_space` name.
const MATRICES: Record<string, readonly [number, number]> = {
  bt709: [0.2126, 0.0722],
  bt2020nc: [0.2627, 0.0593],
  bt2020c: [0.2627, 0.0593],
  smpte240m: [0.212, 0.087]
}
// BT.601 (smpte170m, bt470bg) otherwise: what ffmpeg assumes for a video without a tag.
const BT601: readonly [number, number] = [0.299, 0.114]

const clampByte = (value: number) => (value < 0 ? 0 : value > 255 ? 255 : Math.round(value))

/** The part of a `yuv420p` frame around a region, from even coordinates so its chroma stays aligned, and where the region lies in it. */
const cutYuv = (frame: YuvFrame, region: Region): { readonly part: YuvFrame; readonly region: Region } => {
  const left = region.left & ~1
  const top = region.top & ~1
  const width = Math.min(frame.width - left, region.width + region.left - left)
  const height = Math.min(frame.height - top, region.height + region.top - top)
  const source = yuvLayout(frame.width, frame.height)
  const part = yuvLayout(width, height)
  const data = new Uint8Array(part.bytes)
  for (let y = 0; y < height; y++) {
    const from = (top + y) * frame.width + left
    data.set(frame.data.subarray(from, from + width), y * width)
  }
  for (let y = 0; y < Math.ceil(height / 2); y++) {
    const from = (top / 2 + y) * source.chromaWidth + left / 2
    const to = y * part.chromaWidth
    data.set(frame.data.subarray(source.uPlane + from, source.uPlane + from + part.chromaWidth), part.uPlane + to)
    data.set(frame.data.subarray(source.vPlane + from, source.vPlane + from + part.chromaWidth), part.vPlane + to)
  }
  return {
    part: { width, height, data, timeMs: frame.timeMs },
    region: { left: region.left - left, top: region.top - top, width: region.width, height: region.height }
  }
}

/**
 * A region of a `yuv420p` frame as RGB, for a limited-range (16-235) video: what ffmpeg gives for
 * `-pix_fmt yuv420p`, as it brings full-range (`yuvj420p`) sources into that range.
 */
export const cutToRgb = (frame: YuvFrame, region: Region, colorSpace: string | undefined): RgbFrame => {
  const [kr, kb] = MATRICES[colorSpace ?? ""] ?? BT601
  const kg = 1 - kr - kb
  const { chromaWidth, uPlane, vPlane } = yuvLayout(frame.width, frame.height)
  const data = new Uint8Array(region.width * region.height * 3)
  let out = 0
  for (let y = region.top; y < region.top + region.height; y++) {
    const chromaRow = (y >> 1) * chromaWidth
    for (let x = region.left; x < region.left + region.width; x++) {
      const luma = ((frame.data[y * frame.width + x]! - 16) * 255) / 219
      const cb = ((frame.data[uPlane + chromaRow + (x >> 1)]! - 128) * 255) / 224
      const cr = ((frame.data[vPlane + chromaRow + (x >> 1)]! - 128) * 255) / 224
      const red = luma + 2 * (1 - kr) * cr
      const blue = luma + 2 * (1 - kb) * cb
      data[out++] = clampByte(red)
      data[out++] = clampByte((luma - kr * red - kb * blue) / kg)
      data[out++] = clampByte(blue)
    }
  }
  return { width: region.width, height: region.height, data }
}

/**
 * Pairs each sample's full-size frame with the faces found in its downscaled copy (they arrive in
 * either order) and keeps the faces' regions. A frame is only lent (see `FullSizeSamples.onFrame`):
 * {@link addFrame} holds it until the faces of its sample are known, or until its downscaled copy
 * turns out not to be a sample ({@link skip}), then cuts and lets it go. Samples come in time
 * order, so faces or a frame older than the newest of the other kind have no partner and are dropped.
 *
 * Past `maxBytes`, the crops of every second kept sample are dropped and only every second sample
 * is kept from then on: every face keeps crops spread over its whole time on screen.
 */
export class SampleCrops<Face> {
  private readonly waiting = new Map<number, { readonly ordinal: number; readonly faces: ReadonlyArray<SampleFace<Face>> }>()
  private readonly pending = new Map<number, { readonly frame: YuvFrame; readonly done: () => void }>()
  // Kept in YUV, half the bytes of RGB; only the few chosen for screenshots are converted.
  private readonly crops = new Map<Face, { readonly ordinal: number; readonly part: YuvFrame; readonly region: Region }>()
  private bytes = 0
  private samples = 0
  private newest = Number.NEGATIVE_INFINITY
  private keepEvery = 1

  /** `colorSpace`: the video's YUV matrix (`VideoChecks`' `colorSpace`). */
  constructor(
    private readonly maxBytes: number,
    private readonly colorSpace: string | undefined
  ) {}

  /** A full-size sample frame, as `decodeFrames` lends it: settles once the frame is no longer needed. */
  readonly addFrame = (frame: YuvFrame): Promise<void> => {
    const sample = this.waiting.get(frame.timeMs)
    for (const timeMs of this.waiting.keys()) if (timeMs <= frame.timeMs) this.waiting.delete(timeMs)
    if (sample !== undefined) this.keep(frame, sample.ordinal, sample.faces)
    if (sample !== undefined || this.newest >= frame.timeMs) return Promise.resolve()
    return new Promise((resolve) => this.pending.set(frame.timeMs, { frame, done: resolve }))
  }

  /** The faces found in the sample shown at `timeMs`, in time order of the samples. */
  readonly addFaces = (timeMs: number, faces: ReadonlyArray<SampleFace<Face>>): void => {
    const ordinal = this.samples++
    this.newest = timeMs
    const kept = faces.length > 0 && ordinal % this.keepEvery === 0
    const own = this.pending.get(timeMs)
    if (own !== undefined && kept) this.keep(own.frame, ordinal, faces)
    for (const [frameTimeMs, { done }] of this.pending) {
      if (frameTimeMs > timeMs) continue
      this.pending.delete(frameTimeMs)
      done()
    }
    if (own === undefined && kept) this.waiting.set(timeMs, { ordinal, faces })
  }

  /** The source frame shown at `timeMs` is not a sample: a full-size copy of it has no faces to wait for. */
  readonly skip = (timeMs: number): void => {
    this.pending.get(timeMs)?.done()
    this.pending.delete(timeMs)
  }

  /** Whether a region was kept for a face. */
  readonly has = (face: Face): boolean => this.crops.has(face)

  /** The region kept for a face, as RGB, if its sample's crops were kept. */
  readonly cropOf = (face: Face): RgbFrame | undefined => {
    const crop = this.crops.get(face)
    return crop === undefined ? undefined : cutToRgb(crop.part, crop.region, this.colorSpace)
  }

  private keep(frame: YuvFrame, ordinal: number, faces: ReadonlyArray<SampleFace<Face>>): void {
    for (const { face, region } of faces) {
      const { part, region: within } = cutYuv(frame, region(frame))
      this.crops.set(face, { ordinal, part, region: within })
      this.bytes += part.data.byteLength
    }
    // The first sample's crops always stay: it is a multiple of every step.
    while (this.bytes > this.maxBytes && this.keepEvery <= this.samples) this.thinOut()
  }

  private thinOut(): void {
    this.keepEvery *= 2
    for (const [face, { ordinal, part }] of this.crops) {
      if (ordinal % this.keepEvery === 0) continue
      this.crops.delete(face)
      this.bytes -= part.data.byteLength
    }
  }
}
