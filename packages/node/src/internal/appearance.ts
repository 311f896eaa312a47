/**
 * A cheap appearance vector of a face: its box in the decoded frame, area-averaged to a small
 * grayscale grid, minus its mean, scaled to unit length. Two vectors compare by their dot product
 * (cosine similarity): near 1 for the same face from frame to frame, clearly lower after a hard cut
 * to another person at the same place.
 */
import type { FaceBox } from "./FaceDetector.js"
import type { RgbFrame } from "./FrameDecoder.js"

/** Grid side of the vector (16 × 16 = 256 numbers). */
export const APPEARANCE_SIDE = 16

/** The unit-length, zero-mean grayscale thumbnail of `box` (clamped to the frame). */
export const appearanceVector = (frame: RgbFrame, box: FaceBox, side = APPEARANCE_SIDE): Array<number> => {
  const x0 = Math.max(0, box.x)
  const y0 = Math.max(0, box.y)
  const x1 = Math.min(frame.width, box.x + box.width)
  const y1 = Math.min(frame.height, box.y + box.height)
  // Each cell averages the pixels it covers, at least one, so boxes under `side` pixels still work.
  const span = (from: number, to: number, cell: number, limit: number) => {
    const first = Math.min(limit - 1, Math.floor(from + ((to - from) * cell) / side))
    return [first, Math.max(first + 1, Math.min(limit, Math.floor(from + ((to - from) * (cell + 1)) / side)))] as const
  }
  const means = Array.from({ length: side * side }, (_, cell) => {
    const [top, bottom] = span(y0, y1, Math.floor(cell / side), frame.height)
    const [left, right] = span(x0, x1, cell % side, frame.width)
    let sum = 0
    for (let y = top; y < bottom; y++)
      for (let x = left; x < right; x++) {
        const i = (y * frame.width + x) * 3
        // Rec. 601 luma: colour adds little for telling faces apart and would triple the vector.
        sum += 0.299 * frame.data[i]! + 0.587 * frame.data[i + 1]! + 0.114 * frame.data[i + 2]!
      }
    return sum / ((bottom - top) * (right - left))
  })
  const mean = means.reduce((a, b) => a + b, 0) / means.length
  const centred = means.map((v) => v - mean)
  const norm = Math.hypot(...centred) || 1
  return centred.map((v) => v / norm)
}
