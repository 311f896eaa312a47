import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DetectorPool } from "../../src/internal/DetectorPool.js"
import type { FaceBox } from "../../src/internal/FaceDetector.js"
import { decodeFrameAt, type RgbFrame } from "../../src/internal/FrameDecoder.js"
import { fitWithin, probeVideo } from "../../src/internal/probe.js"

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))
// Test-only photo from the shared media folder (not redistributable, so not copied into the repo).
const dogs = fileURLToPath(new URL("../../../../../shared/media/faces/dogs.jpg", import.meta.url))

const faces = fileURLToPath(new URL("../../../../../shared/media/faces/", import.meta.url))
const pascal = join(faces, "training.xml")

const loadImage = async (path: string, maxSide = 480): Promise<RgbFrame> => {
  const size = fitWithin(await probeVideo(path), maxSide)
  return decodeFrameAt({ input: path, timeMs: 0, ...size })
}

// The face boxes labelled in training.xml, per image, in the image's own pixels.
const labelledFaces = () =>
  [...readFileSync(pascal, "utf8").matchAll(/<image file='([^']+)' width='(\d+)'[^>]*>([\s\S]*?)<\/image>/g)].map(([, file, width, body]) => ({
    file: file!,
    boxes: {
      width: Number(width),
      faces: [...body!.matchAll(/top='(\d+)' left='(\d+)' width='(\d+)' height='(\d+)'/g)].map(([, top, left, w, h]) => ({
        x: Number(left),
        y: Number(top),
        width: Number(w),
        height: Number(h)
      }))
    }
  }))

/** Intersection over the smaller box. */
const overlap = (a: FaceBox, b: FaceBox): number => {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y)
  return w > 0 && h > 0 ? (w * h) / Math.min(a.width * a.height, b.width * b.height) : 0
}

// The same picture panned a few pixels (the right edge repeats).
const shiftLeft = (frame: RgbFrame, pixels: number): RgbFrame => {
  const data = new Uint8Array(frame.data.length)
  for (let y = 0; y < frame.height; y++)
    for (let x = 0; x < frame.width; x++) {
      const from = (y * frame.width + Math.min(frame.width - 1, x + pixels)) * 3
      data.set(frame.data.subarray(from, from + 3), (y * frame.width + x) * 3)
    }
  return { ...frame, data }
}

describe("DetectorPool", () => {
  let pool: DetectorPool
  beforeAll(async () => {
    pool = await DetectorPool.create({ size: 2 })
  }, 30_000)
  afterAll(() => pool.close())

  it.each(["astronaut.png", "grace_hopper.jpg"])("finds the one frontal face in %s", async (name) => {
    const frame = await loadImage(fixture(name))
    const [face, ...others] = await pool.detect(frame)
    expect(others).toEqual([])
    expect(face?.score).toBeGreaterThan(0.8)
    expect(Math.abs(face?.yaw ?? Number.NaN)).toBeLessThan(15)
    expect(face?.box.height).toBeGreaterThan(0.2 * frame.height)
    expect(face?.embedding).toBeUndefined()
  })

  it.skipIf(!existsSync(dogs))("finds no face in dogs.jpg", async () => {
    expect(await pool.detect(await loadImage(dogs))).toEqual([])
    expect(await pool.detect(await loadImage(dogs, 256), { pose: "keypoints" })).toEqual([])
  })

  it.each(["astronaut.png", "grace_hopper.jpg"])("finds the face in %s from BlazeFace's keypoints alone, boxed like the mesh", async (name) => {
    const frame = await loadImage(fixture(name))
    const [mesh] = await pool.detect({ ...frame, data: frame.data.slice() })
    const [face, ...others] = await pool.detect(frame, { pose: "keypoints" })
    expect(others).toEqual([])
    expect(face?.score).toBeGreaterThan(0.8)
    expect(Math.abs(face?.yaw ?? Number.NaN)).toBeLessThan(10)
    expect(Math.abs(face?.roll ?? Number.NaN)).toBeLessThan(10)
    // Both look straight at the camera: FaceMesh gives them 6-8° (its level), the keypoints 4-5°.
    expect(Math.abs(face?.pitch ?? Number.NaN)).toBeLessThan(10)
    expect(Math.abs(face!.pitch - mesh!.pitch)).toBeLessThan(5)
    expect(overlap(face!.box, mesh!.box)).toBeGreaterThan(0.7)
  })

  it.skipIf(!existsSync(pascal))("finds the small, turned PASCAL faces at 256 px from keypoints", async () => {
    let found = 0
    for (const { file, boxes } of labelledFaces()) {
      const frame = await loadImage(join(faces, file), 256)
      const scale = frame.width / boxes.width
      const detections = await pool.detect(frame, { pose: "keypoints" })
      for (const box of boxes.faces) {
        const scaled = { x: box.x * scale, y: box.y * scale, width: box.width * scale, height: box.height * scale }
        if (detections.some((d) => overlap(d.box, scaled) > 0.3)) found += 1
      }
    }
    // 18 labelled faces of about 10% of the image height, several turned 20-30°.
    expect(found).toBeGreaterThanOrEqual(16)
  })

  it.skipIf(!existsSync(pascal))("estimates pitch from keypoints with FaceMesh's sign on the PASCAL faces", async () => {
    const errors: Array<number> = []
    const tilted: Array<{ mesh: number; keypoints: number }> = []
    for (const { file } of labelledFaces()) {
      const frame = await loadImage(join(faces, file))
      const small = await loadImage(join(faces, file), 256)
      const scale = frame.width / small.width
      const [meshes, keypoints] = await Promise.all([pool.detect(frame), pool.detect(small, { pose: "keypoints" })])
      const keypointFaces = keypoints.map((d) => ({
        ...d,
        box: { x: d.box.x * scale, y: d.box.y * scale, width: d.box.width * scale, height: d.box.height * scale }
      }))
      for (const mesh of meshes) {
        const face = keypointFaces.find((d) => overlap(d.box, mesh.box) > 0.5)
        if (face === undefined) continue
        errors.push(Math.abs(face.pitch - mesh.pitch))
        if (Math.abs(mesh.pitch) >= 7) tilted.push({ mesh: mesh.pitch, keypoints: face.pitch })
      }
    }
    // 15 faces FaceMesh finds, pitched -8° (two looking up in 2008_001009) to 12° (looking down).
    expect(errors.length).toBeGreaterThanOrEqual(12)
    expect(errors.reduce((sum, e) => sum + e, 0) / errors.length).toBeLessThan(5)
    expect(tilted.some((t) => t.mesh < 0)).toBe(true)
    expect(tilted.some((t) => t.mesh > 0)).toBe(true)
    for (const { mesh, keypoints } of tilted) expect(Math.sign(keypoints)).toBe(Math.sign(mesh))
  }, 30_000)

  it("gives each face an appearance vector that tells two people apart", async () => {
    const [hopper] = await pool.detect(await loadImage(fixture("grace_hopper.jpg")), { pose: "keypoints" })
    const [astronaut] = await pool.detect(await loadImage(fixture("astronaut.png")), { pose: "keypoints" })
    const shifted = await loadImage(fixture("grace_hopper.jpg"))
    const [hopperAgain] = await pool.detect(shiftLeft(shifted, 6), { pose: "keypoints" })
    const similarity = (a?: ReadonlyArray<number>, b?: ReadonlyArray<number>) => (a ?? []).reduce((sum, v, i) => sum + v * (b?.[i] ?? 0), 0)
    expect(hopper?.appearance).toHaveLength(256)
    expect(similarity(hopper?.appearance, hopperAgain?.appearance)).toBeGreaterThan(0.8)
    expect(similarity(hopper?.appearance, astronaut?.appearance)).toBeLessThan(0.5)
  })

  it("computes an embedding on request, the same for the same face", async () => {
    const frame = await loadImage(fixture("grace_hopper.jpg"))
    const copy = { ...frame, data: frame.data.slice() }
    const [[a], [b]] = await Promise.all([pool.detect(frame, { embed: true }), pool.detect(copy, { embed: true })])
    expect(a?.embedding).toHaveLength(1024)
    expect(b?.embedding).toEqual(a?.embedding)
  }, 15_000)

  it("takes the frame's buffer instead of copying it", async () => {
    const frame = await loadImage(fixture("astronaut.png"))
    const detected = pool.detect(frame)
    expect(frame.data.byteLength).toBe(0)
    await detected
  })
})

describe("DetectorPool shutdown", () => {
  it("rejects running and queued calls, terminates its workers and refuses new calls", async () => {
    const pool = await DetectorPool.create({ size: 1 })
    const frame = await loadImage(fixture("grace_hopper.jpg"))
    const running = expect(pool.detect({ ...frame, data: frame.data.slice() })).rejects.toThrow("detector pool closed")
    const queued = expect(pool.detect(frame)).rejects.toThrow("detector pool closed")
    await pool.close()
    await running
    await queued
    await expect(pool.detect(frame)).rejects.toThrow("detector pool closed")
    await pool.close()
  }, 30_000)
})
