import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { FfmpegError, resolveFfmpegBinaries } from "../../src/internal/ffmpeg.js"
import { decodeFrameAt, decodeFrames, removeOrphanedFifoFolders, yuvFrameBytes, type DecodedFrame, type YuvFrame } from "../../src/internal/FrameDecoder.js"
import { cutToRgb } from "../../src/internal/SampleCrops.js"
import { fitWithin, probeVideo } from "../../src/internal/probe.js"

const FPS = 25
const FRAME_MS = 1000 / FPS
let dir: string
let clip: string
let upright: string
let rotated: string
let bt709: string

const collect = async (frames: AsyncIterable<DecodedFrame>): Promise<Array<DecodedFrame>> => {
  const all: Array<DecodedFrame> = []
  for await (const frame of frames) all.push(frame)
  return all
}

beforeAll(() => {
  const { ffmpeg } = resolveFfmpegBinaries()
  dir = mkdtempSync(join(tmpdir(), "frame-decoder-"))
  clip = join(dir, "clip.mp4")
  upright = join(dir, "upright.mp4")
  rotated = join(dir, "rotated.mp4")
  bt709 = join(dir, "bt709.mp4")
  // 2 s at 25 fps = 50 frames, with B-frames and a keyframe every 10 frames so seeking is exercised.
  const encode = ["-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "10", "-pix_fmt", "yuv420p"]
  execFileSync(ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=size=320x240:rate=${FPS}:duration=2`, ...encode, clip])
  execFileSync(ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=size=320x240:rate=${FPS}:duration=1`, ...encode, upright])
  execFileSync(ffmpeg, ["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc2=size=320x240:rate=${FPS}:duration=1`, ...encode, "-colorspace", "bt709", bt709])
  // ffmpeg 5 drops a rotate tag when re-encoding, so it is set on a stream copy.
  execFileSync(ffmpeg, ["-v", "error", "-y", "-i", upright, "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated])
})

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("resolveFfmpegBinaries", () => {
  it("prefers the environment overrides and refuses one that is not executable", () => {
    const { ffmpeg, ffprobe } = resolveFfmpegBinaries()
    expect(resolveFfmpegBinaries({ IDENTIFY_FACE_FFMPEG: ffmpeg, IDENTIFY_FACE_FFPROBE: ffprobe })).toEqual({ ffmpeg, ffprobe })
    expect(() => resolveFfmpegBinaries({ IDENTIFY_FACE_FFMPEG: join(dir, "nope") })).toThrow(FfmpegError)
  })
})

describe("probeVideo", () => {
  it("reads size, rate, duration and rotation", async () => {
    expect(await probeVideo(clip)).toMatchObject({ width: 320, height: 240, rotation: 0, fps: FPS, durationMs: 2000, startTimeMs: 0, codec: "h264" })
    expect(await probeVideo(rotated)).toMatchObject({ width: 240, height: 320, rotation: 90 })
  })

  it("fits a size within a longer side, in even pixels", () => {
    expect(fitWithin({ width: 1920, height: 1080 }, 480)).toEqual({ width: 480, height: 270 })
    expect(fitWithin({ width: 1080, height: 1920 }, 481)).toEqual({ width: 270, height: 480 })
    expect(fitWithin({ width: 320, height: 240 }, 480)).toEqual({ width: 320, height: 240 })
  })
})

// A full-size frame's buffer is only lent until onFrame returns.
const keep = (frames: Array<YuvFrame>) => (frame: YuvFrame) => {
  frames.push({ ...frame, data: frame.data.slice() })
}

describe("decodeFrames", () => {
  it("yields every frame with its exact time and size", async () => {
    const frames = await collect(decodeFrames({ input: clip, width: 160, height: 120 }))
    expect(frames).toHaveLength(50)
    frames.forEach((frame, i) => expect(frame.timeMs).toBeCloseTo(i * FRAME_MS, 6))
    expect(frames[0]?.data.byteLength).toBe(160 * 120 * 3)
    expect(frames[0]?.data.buffer.byteLength).toBe(160 * 120 * 3)
  })

  it("keeps the first source frame of each slot when sampling", async () => {
    const frames = await collect(decodeFrames({ input: clip, width: 64, height: 48, sampleFps: 5 }))
    expect(frames.map((f) => Math.round(f.timeMs))).toEqual([0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800])
    const uneven = await collect(decodeFrames({ input: clip, width: 64, height: 48, sampleFps: 3 }))
    expect(uneven.map((f) => Math.round(f.timeMs))).toEqual([0, 360, 680, 1000, 1360, 1680])
  })

  it("decodes a time range [start, end) from a seek, on the same timeline", async () => {
    const frames = await collect(decodeFrames({ input: clip, width: 64, height: 48, startMs: 13 * FRAME_MS, endMs: 17 * FRAME_MS }))
    expect(frames.map((f) => Math.round(f.timeMs / FRAME_MS))).toEqual([13, 14, 15, 16])
  })

  it("hands over the samples at full size too, from the same decoding", async () => {
    const full: Array<YuvFrame> = []
    const fullSize = { sampleFps: 5, width: 320, height: 240, onFrame: keep(full) }
    const scaled = await collect(decodeFrames({ input: clip, width: 64, height: 48, fullSize }))
    expect(scaled).toHaveLength(50)
    // The first frame of every 200 ms, exactly the frames `sampleFps: 5` picks, shown where the scaled ones are.
    const sampled = await collect(decodeFrames({ input: clip, width: 64, height: 48, sampleFps: 5 }))
    expect(full.map((f) => f.timeMs)).toEqual(sampled.map((f) => f.timeMs))
    expect(full.every((f) => f.width === 320 && f.height === 240 && f.data.length === yuvFrameBytes(320, 240))).toBe(true)
  })

  it.each([
    ["untagged (BT.601)", () => clip, undefined],
    ["tagged BT.709", () => bt709, "bt709"]
  ])("hands over full-size samples whose regions turn into the RGB ffmpeg gives, %s", async (_, input, colorSpace) => {
    const full: Array<YuvFrame> = []
    await collect(decodeFrames({ input: input(), width: 64, height: 48, fullSize: { sampleFps: 5, width: 320, height: 240, onFrame: keep(full) } }))
    const rgb = await decodeFrameAt({ input: input(), width: 320, height: 240, timeMs: full[1]!.timeMs })
    const region = { left: 41, top: 33, width: 200, height: 150 }
    const ours = cutToRgb(full[1]!, region, colorSpace)
    let difference = 0
    for (let y = 0; y < region.height; y++) {
      for (let x = 0; x < region.width * 3; x++) difference += Math.abs(ours.data[y * region.width * 3 + x]! - rgb.data[((region.top + y) * 320 + region.left) * 3 + x]!)
    }
    // Chroma is upsampled differently (ffmpeg interpolates), so edges differ a little; a wrong matrix or offset differs everywhere.
    expect(difference / ours.data.length).toBeLessThan(4)
  })

  it("hands over full-size samples turned as displayed", async () => {
    const full: Array<YuvFrame> = []
    const fullSize = { sampleFps: 5, width: 240, height: 320, onFrame: keep(full) }
    await collect(decodeFrames({ input: rotated, width: 48, height: 64, fullSize }))
    expect(full).toHaveLength(5)
    expect(full.every((f) => f.data.length === yuvFrameBytes(240, 320))).toBe(true)
  })

  it("stops after the frames asked for", async () => {
    const frames = await collect(decodeFrames({ input: clip, width: 64, height: 48, startMs: 13 * FRAME_MS, maxFrames: 2 }))
    expect(frames.map((f) => Math.round(f.timeMs / FRAME_MS))).toEqual([13, 14])
  })

  it("applies rotation metadata", async () => {
    const [upper] = await collect(decodeFrames({ input: upright, width: 320, height: 240, endMs: 1 }))
    const [turned] = await collect(decodeFrames({ input: rotated, width: 240, height: 320, endMs: 1 }))
    // The turned frame is the upright one rotated a quarter turn, one way or the other.
    const meanDifference = (quarterTurn: (x: number, y: number) => readonly [number, number]) => {
      let sum = 0
      for (let y = 0; y < 320; y++)
        for (let x = 0; x < 240; x++) {
          const [ux, uy] = quarterTurn(x, y)
          sum += Math.abs((turned?.data[(y * 240 + x) * 3] ?? 0) - (upper?.data[(uy * 320 + ux) * 3] ?? 0))
        }
      return sum / (240 * 320)
    }
    const best = Math.min(meanDifference((x, y) => [y, 239 - x]), meanDifference((x, y) => [319 - y, x]))
    expect(best).toBeLessThan(8)
  })

  it("stops ffmpeg when the consumer leaves early or the signal aborts", async () => {
    let seen = 0
    for await (const _ of decodeFrames({ input: clip, width: 64, height: 48 })) if (++seen === 2) break
    expect(seen).toBe(2)
    const aborted = new AbortController()
    const consume = collect(decodeFrames({ input: clip, width: 64, height: 48, signal: aborted.signal }))
    aborted.abort()
    await expect(consume).rejects.toMatchObject({ reason: "aborted" })
  })

  it("fails with ffmpeg's message on a missing file", async () => {
    const failed = collect(decodeFrames({ input: join(dir, "missing.mp4"), width: 64, height: 48 }))
    await expect(failed).rejects.toBeInstanceOf(FfmpegError)
    await expect(failed).rejects.toMatchObject({ reason: "exit" })
  })
})

describe("named pipes", () => {
  it("removes the pipe folders of killed processes, not those of live ones", () => {
    // Past Linux's largest pid_max (2^22): no process has it.
    const orphaned = mkdtempSync(join(tmpdir(), `identify-face-frames-${2 ** 22 + 1}-`))
    const live = mkdtempSync(join(tmpdir(), `identify-face-frames-${process.pid}-`))
    try {
      removeOrphanedFifoFolders()
      expect([existsSync(orphaned), existsSync(live)]).toEqual([false, true])
    } finally {
      rmSync(orphaned, { recursive: true, force: true })
      rmSync(live, { recursive: true, force: true })
    }
  })
})

describe("single frames", () => {
  it("decodes the full-size frame shown at a time", async () => {
    const frame = await decodeFrameAt({ input: clip, width: 320, height: 240, timeMs: 31 * FRAME_MS })
    expect(Math.round(frame.timeMs / FRAME_MS)).toBe(31)
    expect(frame.data.byteLength).toBe(320 * 240 * 3)
  })
})
