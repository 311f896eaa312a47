import { describe, expect, it } from "vitest"
import type { YuvFrame } from "../../src/internal/FrameDecoder.js"
import { SampleCrops, type SampleFace } from "../../src/internal/SampleCrops.js"

// A 4x2 yuv420p frame without colour whose luma at (x, y) is 16 + 10 * y + x: red 10 * y + x scaled
// from the limited range, so 2, 3, 12, 13 and 10 become 2, 3, 14, 15 and 12.
const frame = (timeMs: number): YuvFrame => {
  const data = new Uint8Array(4 * 2 + 2 * 2).fill(128)
  for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) data[y * 4 + x] = 16 + 10 * y + x
  return { width: 4, height: 2, data, timeMs }
}

const reds = (image: { readonly data: Uint8Array } | undefined) => (image === undefined ? undefined : [...image.data].filter((_, i) => i % 3 === 0))

// A face whose screenshot shows the right half of the frame.
const rightHalf = (face: string): SampleFace<string> => ({ face, region: ({ width, height }) => ({ left: width / 2, top: 0, width: width / 2, height }) })

describe("SampleCrops", () => {
  it("cuts the region of each face when the faces come first", async () => {
    const crops = new SampleCrops<string>(1024, undefined)
    crops.addFaces(40, [rightHalf("a"), { face: "b", region: () => ({ left: 0, top: 1, width: 1, height: 1 }) }])
    await crops.addFrame(frame(40))
    expect(reds(crops.cropOf("a"))).toEqual([2, 3, 14, 15])
    expect(reds(crops.cropOf("b"))).toEqual([12])
  })

  it("holds a frame that comes first until its faces are known, then lets it go", async () => {
    const crops = new SampleCrops<string>(1024, undefined)
    let released = false
    const lent = crops.addFrame(frame(40)).then(() => (released = true))
    await Promise.resolve()
    expect(released).toBe(false)
    crops.addFaces(40, [rightHalf("a")])
    await lent
    expect(reds(crops.cropOf("a"))).toEqual([2, 3, 14, 15])
  })

  it("holds several frames at once, each until its own faces or a later sample's", async () => {
    const crops = new SampleCrops<string>(1024, undefined)
    const first = crops.addFrame(frame(40))
    const second = crops.addFrame(frame(80))
    crops.addFaces(80, [rightHalf("second")])
    await Promise.all([first, second])
    expect(crops.cropOf("second")).toBeDefined()
  })

  it("lets go of a frame that is no sample, or whose sample was passed, without a crop", async () => {
    const crops = new SampleCrops<string>(1024, undefined)
    const skipped = crops.addFrame(frame(40))
    crops.skip(40)
    await skipped
    const passed = crops.addFrame(frame(80))
    crops.addFaces(120, [rightHalf("late")])
    await passed
    expect(crops.cropOf("late")).toBeUndefined()
    // The faces of 120 still pair with their own frame.
    await crops.addFrame(frame(120))
    expect(crops.cropOf("late")).toBeDefined()
  })

  it("past its budget keeps every second sample, then every fourth, the first one always", async () => {
    // Each crop is kept in YUV, 2x2 luma and 1x1 of each chroma = 6 bytes: a budget of 20 holds three.
    const crops = new SampleCrops<string>(20, undefined)
    for (let sample = 0; sample < 8; sample++) {
      crops.addFaces(sample * 40, [rightHalf(`s${sample}`)])
      await crops.addFrame(frame(sample * 40))
    }
    const kept = Array.from({ length: 8 }, (_, sample) => crops.cropOf(`s${sample}`) !== undefined)
    expect(kept).toEqual([true, false, false, false, true, false, false, false])
  })
})
