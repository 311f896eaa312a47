import { describe, expect, it } from "vitest"
import type { DecodedFrame } from "../../src/internal/FrameDecoder.js"
import { SampleCrops, type SampleFace } from "../../src/internal/SampleCrops.js"

// A 4x2 RGB frame whose pixel (x, y) has red value 10 * y + x and the time in green.
const frame = (timeMs: number): DecodedFrame => {
  const data = new Uint8Array(4 * 2 * 3)
  for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) data.set([10 * y + x, timeMs, 0], (y * 4 + x) * 3)
  return { width: 4, height: 2, data, timeMs }
}

const reds = (image: { readonly data: Uint8Array } | undefined) => (image === undefined ? undefined : [...image.data].filter((_, i) => i % 3 === 0))

// A face whose screenshot shows the right half of the frame.
const rightHalf = (face: string): SampleFace<string> => ({ face, region: ({ width, height }) => ({ left: width / 2, top: 0, width: width / 2, height }) })

describe("SampleCrops", () => {
  it("cuts the region of each face when the faces come first", async () => {
    const crops = new SampleCrops<string>(1024)
    crops.addFaces(40, [rightHalf("a"), { face: "b", region: () => ({ left: 0, top: 1, width: 1, height: 1 }) }])
    await crops.addFrame(frame(40))
    expect(reds(crops.cropOf("a"))).toEqual([2, 3, 12, 13])
    expect(reds(crops.cropOf("b"))).toEqual([10])
  })

  it("holds a frame that comes first until its faces are known, then lets it go", async () => {
    const crops = new SampleCrops<string>(1024)
    let released = false
    const lent = crops.addFrame(frame(40)).then(() => (released = true))
    await Promise.resolve()
    expect(released).toBe(false)
    crops.addFaces(40, [rightHalf("a")])
    await lent
    expect(reds(crops.cropOf("a"))).toEqual([2, 3, 12, 13])
  })

  it("holds several frames at once, each until its own faces or a later sample's", async () => {
    const crops = new SampleCrops<string>(1024)
    const first = crops.addFrame(frame(40))
    const second = crops.addFrame(frame(80))
    crops.addFaces(80, [rightHalf("second")])
    await Promise.all([first, second])
    expect(crops.cropOf("second")).toBeDefined()
  })

  it("lets go of a frame that is no sample, or whose sample was passed, without a crop", async () => {
    const crops = new SampleCrops<string>(1024)
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
    // Each crop is 2x2x3 = 12 bytes: a budget of 40 holds three.
    const crops = new SampleCrops<string>(40)
    for (let sample = 0; sample < 8; sample++) {
      crops.addFaces(sample * 40, [rightHalf(`s${sample}`)])
      await crops.addFrame(frame(sample * 40))
    }
    const kept = Array.from({ length: 8 }, (_, sample) => crops.cropOf(`s${sample}`) !== undefined)
    expect(kept).toEqual([true, false, false, false, true, false, false, false])
  })
})
