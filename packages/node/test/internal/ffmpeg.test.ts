import { execFileSync } from "node:child_process"
import { describe, expect, it } from "vitest"
import { resolveFfmpegBinaries } from "../../src/internal/ffmpeg.js"

describe("resolveFfmpegBinaries", () => {
  it("prefers the variables, then the PATH", () => {
    expect(resolveFfmpegBinaries({ IDENTIFY_FACE_FFMPEG: "/usr/bin/ffmpeg", IDENTIFY_FACE_FFPROBE: "/usr/bin/ffprobe", PATH: "" })).toEqual({
      ffmpeg: "/usr/bin/ffmpeg",
      ffprobe: "/usr/bin/ffprobe"
    })
    expect(resolveFfmpegBinaries({ PATH: "/usr/bin" })).toEqual({ ffmpeg: "/usr/bin/ffmpeg", ffprobe: "/usr/bin/ffprobe" })
  })

  it("falls back to the binaries shipped in npm packages when the system has none, so npm install alone is enough", () => {
    const binaries = resolveFfmpegBinaries({ PATH: "/nonexistent" })
    expect(binaries.ffmpeg).toContain("node_modules/@ffmpeg-installer/")
    expect(binaries.ffprobe).toContain("node_modules/@ffprobe-installer/")
    expect(execFileSync(binaries.ffmpeg, ["-version"]).toString()).toMatch(/^ffmpeg version/)
    expect(execFileSync(binaries.ffprobe, ["-version"]).toString()).toMatch(/^ffprobe version/)
  })
})
