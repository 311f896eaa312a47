import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { UsageError, parse } from "../src/Arguments.js"
import { clock, progressLine, table } from "../src/Report.js"

const bin = fileURLToPath(new URL("../bin/identify-face.js", import.meta.url))
const fixture = fileURLToPath(new URL("../../../packages/node/test/fixtures/grace_hopper.jpg", import.meta.url))
let dir = ""

const ffmpeg = (...args: Array<string>) => execFileSync("ffmpeg", ["-v", "error", "-y", ...args])

/** Runs the installed command and answers its exit status and output. */
const identifyFace = (...args: Array<string>) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ status: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  })

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "identify-face-cli-test-"))
  // One second of black, then three seconds of a face: the face is usable from exactly 1000 ms.
  ffmpeg(
    "-f", "lavfi", "-i", "color=black:s=1280x720:r=30:d=1", "-loop", "1", "-t", "3", "-i", fixture,
    "-filter_complex", "[1:v]scale=-2:720,pad=1280:720:(ow-iw)/2:0,setsar=1,fps=30[f];[0:v][f]concat=n=2:v=1[v]",
    "-map", "[v]", "-c:v", "libx264", "-pix_fmt", "yuv420p", path.join(dir, "face.mp4")
  )
  ffmpeg("-f", "lavfi", "-i", "testsrc=s=640x480:r=30:d=3", "-c:v", "libx264", "-pix_fmt", "yuv420p", path.join(dir, "vga.mp4"))
})

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("identify-face command", () => {
  it("prints exactly the result object with --json and writes the screenshots with --out", async () => {
    const out = path.join(dir, "shots")
    const run = await identifyFace(path.join(dir, "face.mp4"), "--json", "--out", out)
    expect(run.status).toBe(0)
    const result = JSON.parse(run.stdout)
    expect(Object.keys(result)).toEqual(["code", "message", "request_id", "data"])
    expect(result.data.face_data).toHaveLength(1)
    const [face] = result.data.face_data
    expect(face.face_id).toBe("0")
    expect(face.start_time).toBe(1000)
    // The end may run past the true end (4000 ms) by at most one frame.
    expect(face.end_time).toBeGreaterThanOrEqual(4000)
    expect(face.end_time).toBeLessThanOrEqual(4034)
    const image = fs.readFileSync(fileURLToPath(face.face_image))
    expect([...image.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff])
  }, 120_000)

  it("refuses a video that is not 720p or 1080p with its code and exit status 2", async () => {
    const json = await identifyFace(path.join(dir, "vga.mp4"), "--json")
    expect(json.status).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: "014002113", error_message: "resolution 640x480 is not 720p or 1080p" } })
    const plain = await identifyFace(path.join(dir, "vga.mp4"))
    expect(plain.status).toBe(2)
    expect(plain.stderr).toContain("refused (014002113)")
  }, 120_000)

  it("explains a wrong command line and exits with 1", async () => {
    const run = await identifyFace(path.join(dir, "missing.mp4"))
    expect(run.status).toBe(1)
    expect(run.stderr).toContain("no such file")
  }, 60_000)
})

describe("command line", () => {
  it("tells files from URLs and reads the flags", () => {
    expect(parse(["clip.mov"])).toEqual({ video: { _tag: "File", path: "clip.mov" }, json: false, out: undefined, server: undefined })
    expect(parse(["https://example.com/a.mp4", "--json", "--out", "shots"])).toMatchObject({
      video: { _tag: "Url", url: "https://example.com/a.mp4" },
      json: true,
      out: "shots"
    })
    expect(parse(["--help"])).toBe("help")
  })

  it("refuses no video, two videos, and a --server that is not http(s)", () => {
    expect(() => parse([])).toThrow(UsageError)
    expect(() => parse(["a.mp4", "b.mp4"])).toThrow(UsageError)
    expect(() => parse(["a.mp4", "--server", "ftp://x"])).toThrow(UsageError)
  })
})

describe("report", () => {
  it("formats times, progress and the table", () => {
    expect(clock(0)).toBe("0:00.000")
    expect(clock(65_432)).toBe("1:05.432")
    expect(progressLine({ status: "processing", progress: 0.5 })).toBe(`[${"#".repeat(15)}${".".repeat(15)}]  50% processing`)
    expect(table({ code: 0, message: "SUCCEED", request_id: "r", data: { session_id: "s", final_unit_deduction: "1", face_data: [] } })).toBe(
      "No face usable for lip-sync was found."
    )
  })
})
