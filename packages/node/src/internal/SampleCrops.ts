/**
 * Screenshot material gathered during the coarse pass: the regions around the faces found in each
 * coarse sample, cut from that sample's full-size frame, so no frame is decoded a second time for
 * a screenshot (seeking to one costs decoding from the keyframe before it, often seconds of video).
 */
import type { DecodedFrame, RgbFrame } from "./FrameDecoder.js"

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

const cut = (frame: RgbFrame, region: Region): RgbFrame => {
  const row = region.width * 3
  const data = new Uint8Array(row * region.height)
  for (let y = 0; y < region.height; y++) {
    const from = ((region.top + y) * frame.width + region.left) * 3
    data.set(frame.data.subarray(from, from + row), y * row)
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
  private readonly pending = new Map<number, { readonly frame: DecodedFrame; readonly done: () => void }>()
  private readonly crops = new Map<Face, { readonly ordinal: number; readonly image: RgbFrame }>()
  private bytes = 0
  private samples = 0
  private newest = Number.NEGATIVE_INFINITY
  private keepEvery = 1

  constructor(private readonly maxBytes: number) {}

  /** A full-size sample frame, as `decodeFrames` lends it: settles once the frame is no longer needed. */
  readonly addFrame = (frame: DecodedFrame): Promise<void> => {
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

  /** The region kept for a face, if its sample's crops were kept. */
  readonly cropOf = (face: Face): RgbFrame | undefined => this.crops.get(face)?.image

  private keep(frame: DecodedFrame, ordinal: number, faces: ReadonlyArray<SampleFace<Face>>): void {
    for (const { face, region } of faces) {
      const image = cut(frame, region(frame))
      this.crops.set(face, { ordinal, image })
      this.bytes += image.data.byteLength
    }
    // The first sample's crops always stay: it is a multiple of every step.
    while (this.bytes > this.maxBytes && this.keepEvery <= this.samples) this.thinOut()
  }

  private thinOut(): void {
    this.keepEvery *= 2
    for (const [face, { ordinal, image }] of this.crops) {
      if (ordinal % this.keepEvery === 0) continue
      this.crops.delete(face)
      this.bytes -= image.data.byteLength
    }
  }
}
