/**
 * The whole analysis against ffmpeg's decode-only time, in one process: `npm run bench`.
 *
 *   node --conditions=@identify-face/source --import tsx tools/bench/index.ts [--input clip.mp4] [--sample-fps 2.5] [--workers N]
 *
 * Without --input it builds (once, cached in the OS temp folder) a 60 s 1080p30 H.264 clip of the
 * test photos with known faces: a hard cut between two people at one place, gaps under and over
 * a second, two faces side by side, stretches without a face, a zoom and a pan. Prints each stage's
 * time, the ratio of the analysis to decode-only in wall and CPU time (target 2.5x, goal 1.5x; on a
 * shared machine the CPU ratio is the steadier one), the process's peak RSS
 * (worker threads included, ffmpeg children not) and the faces found against the truth.
 */
import { readFileSync, statSync } from "node:fs"
import { availableParallelism } from "node:os"
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { resolveFfmpegBinaries, runToCompletion } from "../../packages/node/src/internal/ffmpeg.js"
import * as NodeFaceAnalyzer from "../../packages/node/src/NodeFaceAnalyzer.js"
import { ASTRONAUT, FPS, FRAME_MS, HOPPER, black, makeShotsClip, pan, pattern, sideBySide, still, zoomIn } from "../../packages/node/test/helpers/faceClips.js"
import type { FaceClip } from "../../packages/node/test/helpers/faceClips.js"

const { values } = parseArgs({
  options: {
    input: { type: "string" },
    "sample-fps": { type: "string" },
    workers: { type: "string", default: String(availableParallelism()) }
  }
})

const FULL_HD = { width: 1920, height: 1080 }
const frames = (seconds: number) => Math.round(seconds * FPS)

/** 60 s of shots; the comments give each face's frames [from, to). */
const benchClip = (): Promise<FaceClip> =>
  makeShotsClip(
    [
      still(ASTRONAUT, frames(8), FULL_HD), // A [0, 240)
      still(HOPPER, frames(7), FULL_HD, { share: 0.595, x: 615, y: 6 }), // B [240, 450): a hard cut at A's place
      black(frames(1.5), FULL_HD),
      still(HOPPER, frames(6), FULL_HD), // C [495, 675): B back after more than a second
      pattern(frames(3), FULL_HD),
      sideBySide(ASTRONAUT, HOPPER, frames(8), FULL_HD), // D and E [765, 1005)
      pattern(frames(2), FULL_HD),
      still(ASTRONAUT, frames(5), FULL_HD), // F [1065, 1383), across a gap of 0.6 s
      black(frames(0.6), FULL_HD),
      still(ASTRONAUT, frames(5), FULL_HD),
      zoomIn(HOPPER, frames(8), 1.6, FULL_HD), // G [1383, 1623)
      pan(ASTRONAUT, 177, 6, FULL_HD) // H [1623, 1800)
    ],
    [
      [0, 240],
      [240, 450],
      [495, 675],
      [765, 1005],
      [765, 1005],
      [1065, 1383],
      [1383, 1623],
      [1623, 1800]
    ].map(([fromFrame = 0, toFrame = 0]) => ({ fromFrame, toFrame })),
    // As a camera or an editor writes it: a better preset than the tests' clips, x264's own keyframe interval.
    { preset: "veryfast", keyframeInterval: 0 }
  )

const millis = (start: number) => Math.round(performance.now() - start)

/**
 * CPU time used so far by this process (worker threads included) and its finished children
 * (ffmpeg), in ms: steadier than wall time on a shared machine. Linux only: children's time is
 * read from /proc (fields 16 and 17, cutime and cstime, in 1/100 s).
 */
const childrenCpuMs = (): number => {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? []
  return (Number(fields[13]) + Number(fields[14])) * 10
}
const cpuMs = (): number => {
  const own = process.cpuUsage()
  return (own.user + own.system) / 1000 + childrenCpuMs()
}

let start = performance.now()
const clip: FaceClip = values.input === undefined ? await benchClip() : { path: values.input, faces: [] }
console.log(`input ${clip.path} (${(statSync(clip.path).size / 2 ** 20).toFixed(1)} MiB; ready in ${millis(start)} ms)`)

const { ffmpeg } = resolveFfmpegBinaries()
start = performance.now()
let cpuStart = cpuMs()
let childrenCpuStart = 0
await runToCompletion(ffmpeg, ["-v", "error", "-nostdin", "-i", clip.path, "-map", "0:v:0", "-f", "null", "-"])
const decodeOnlyMs = millis(start)
const decodeOnlyCpuMs = cpuMs() - cpuStart
console.log(`decode-only (ffmpeg -f null): ${decodeOnlyMs} ms, ${Math.round(decodeOnlyCpuMs)} ms CPU`)

const options: NodeFaceAnalyzer.NodeFaceAnalyzerOptions = {
  poolSize: Number(values.workers),
  ...(values["sample-fps"] === undefined ? {} : { sampleFps: Number(values["sample-fps"]) })
}
const analysis = await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      start = performance.now()
      const analyzer = yield* NodeFaceAnalyzer.make(options)
      console.log(`detector pool start (${options.poolSize} workers, models loaded): ${millis(start)} ms`)
      const video = { path: clip.path, bytes: statSync(clip.path).size, stream: Stream.empty }
      cpuStart = cpuMs()
      childrenCpuStart = childrenCpuMs()
      return yield* analyzer.analyze(video, () => Effect.void)
    })
  )
)

const analysisCpuMs = cpuMs() - cpuStart
const analysisChildrenCpuMs = childrenCpuMs() - childrenCpuStart
const { probe, coarse, refine, screenshots, analyze } = analysis.timings
console.log(`analysis: ${analyze} ms = probe ${probe} + coarse ${coarse} + refine ${refine} + screenshots ${screenshots} ms; ${Math.round(analysisCpuMs)} ms CPU (${Math.round(analysisChildrenCpuMs)} of it in ffmpeg and ffprobe)`)
console.log(`ratio analysis / decode-only: ${((analyze ?? 0) / decodeOnlyMs).toFixed(2)}x wall (target 2.5x, goal 1.5x), ${(analysisCpuMs / decodeOnlyCpuMs).toFixed(2)}x CPU`)
console.log(`peak RSS of this process (worker threads included, ffmpeg children not): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)

const frameOf = (ms: number) => (ms / FRAME_MS).toFixed(1)
console.log(`faces: ${analysis.faces.length} found${clip.faces.length === 0 ? "" : `, ${clip.faces.length} true`} (frames, [from, to))`)
for (let i = 0; i < Math.max(analysis.faces.length, clip.faces.length); i++) {
  const found = analysis.faces[i]
  const truth = clip.faces[i]
  console.log(
    `  ${i}: found ${found === undefined ? "-" : `[${frameOf(found.startMs)}, ${frameOf(found.endMs)})`}` +
      (truth === undefined ? "" : `  truth [${truth.fromFrame}, ${truth.toFrame})`)
  )
}
