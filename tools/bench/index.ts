/**
 * The whole analysis against ffmpeg's decode-only time, in one process: `npm run bench`.
 *
 *   node --conditions=@identify-face/source --import tsx tools/bench/index.ts [--input clip.mp4] [--sample-fps 2.5] [--workers N] [--rounds 3] [--process]
 *
 * Without --input it builds (once, cached in the OS temp folder) a 60 s 1080p30 H.264 clip of the
 * test photos with known faces: a hard cut between two people at one place, gaps under and over
 * a second, two faces side by side, stretches without a face, a zoom and a pan. Runs decode-only
 * and the analysis in turn, `--rounds` times, and prints each stage's time, the ratio of the
 * analysis to decode-only in wall and CPU time per round and their medians (target 2.5x, goal
 * 1.5x; on a shared machine the CPU ratio is the steadier one), the process's peak RSS
 * (worker threads included, ffmpeg children not) and the faces found against the truth. With
 * `--process` the analysis runs as the embedded server runs it, in a process of its own
 * (`AnalysisProcess`), whose CPU time is counted and whose peak RSS is printed too.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { availableParallelism } from "node:os"
import { parseArgs } from "node:util"
import type { Analysis } from "@identify-face/core/FaceAnalyzer"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { resolveFfmpegBinaries, runToCompletion } from "../../packages/node/src/internal/ffmpeg.js"
import * as AnalysisProcess from "../../packages/node/src/AnalysisProcess.js"
import * as NodeFaceAnalyzer from "../../packages/node/src/NodeFaceAnalyzer.js"
import { ASTRONAUT, FPS, FRAME_MS, HOPPER, black, makeShotsClip, pan, pattern, sideBySide, still, zoomIn } from "../../packages/node/test/helpers/faceClips.js"
import type { FaceClip } from "../../packages/node/test/helpers/faceClips.js"

const { values } = parseArgs({
  options: {
    input: { type: "string" },
    "sample-fps": { type: "string" },
    workers: { type: "string", default: String(availableParallelism()) },
    rounds: { type: "string", default: "3" },
    process: { type: "boolean", default: false }
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
 * CPU time used so far by this process (worker threads included) and its children (ffmpeg, and the
 * spawner process with the children it ran), in ms: steadier than wall time on a shared machine.
 * Linux only: read from /proc (utime, stime, cutime and cstime, in 1/100 s).
 */
const statFields = (pid: number | "self"): Array<string> => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
  } catch {
    return [] // it has exited since the listing
  }
}
/** The pids of this process's running children. */
const runningChildren = (): Array<number> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name) && Number(statFields(Number(name))[1]) === process.pid)
    .map(Number)
const childrenCpuMs = (): number => {
  const reaped = statFields("self")
  // A running child (the analysis process) with the children it has reaped (ffmpeg, ffprobe).
  const running = runningChildren()
    .map((pid) => statFields(pid))
    .reduce((sum, fields) => sum + Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]), 0)
  return (Number(reaped[13]) + Number(reaped[14]) + running) * 10
}
const cpuMs = (): number => {
  const own = process.cpuUsage()
  return (own.user + own.system) / 1000 + childrenCpuMs()
}

const peakRssKiB = (pid: number) => Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0)
let analysisProcessPeakKiB = 0

let start = performance.now()
const clip: FaceClip = values.input === undefined ? await benchClip() : { path: values.input, faces: [] }
console.log(`input ${clip.path} (${(statSync(clip.path).size / 2 ** 20).toFixed(1)} MiB; ready in ${millis(start)} ms)`)

const { ffmpeg } = resolveFfmpegBinaries()
/** ffmpeg decoding the clip and nothing else: the baseline, in wall and CPU ms. */
const decodeOnly = async () => {
  const started = performance.now()
  const cpuStarted = cpuMs()
  await runToCompletion(ffmpeg, ["-v", "error", "-nostdin", "-i", clip.path, "-map", "0:v:0", "-f", "null", "-"])
  return { wallMs: millis(started), cpuMs: cpuMs() - cpuStarted }
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

const options: NodeFaceAnalyzer.NodeFaceAnalyzerOptions = {
  poolSize: Number(values.workers),
  ...(values["sample-fps"] === undefined ? {} : { sampleFps: Number(values["sample-fps"]) })
}
const rounds = Number(values.rounds)
const wallRatios: Array<number> = []
const cpuRatios: Array<number> = []
// Baseline and analysis alternate, so a neighbour's load or the CPU's clock weighs on both alike.
const analysis = await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      start = performance.now()
      const analyzer = yield* (values.process ? AnalysisProcess.make(options) : NodeFaceAnalyzer.make(options))
      console.log(`${values.process ? "analysis process" : "detector pool"} start (${options.poolSize} workers, models loaded): ${millis(start)} ms`)
      const video = { path: clip.path, bytes: statSync(clip.path).size, stream: Stream.empty }
      let last: Analysis | undefined
      for (let round = 1; round <= rounds; round++) {
        const baseline = yield* Effect.promise(decodeOnly)
        const cpuStarted = cpuMs()
        const childrenCpuStarted = childrenCpuMs()
        last = yield* analyzer.analyze(video, () => Effect.void)
        // Read while the analysis process lives: it ends with the scope.
        if (values.process) analysisProcessPeakKiB = Math.max(...runningChildren().map(peakRssKiB))
        const analysisCpuMs = cpuMs() - cpuStarted
        const { probe, coarse, refine, screenshots, analyze = Number.NaN } = last.timings
        wallRatios.push(analyze / baseline.wallMs)
        cpuRatios.push(analysisCpuMs / baseline.cpuMs)
        console.log(
          `round ${round}: decode-only ${baseline.wallMs} ms, ${Math.round(baseline.cpuMs)} ms CPU; ` +
            `analysis ${analyze} ms = probe ${probe} + coarse ${coarse} + refine ${refine} + screenshots ${screenshots} ms, ` +
            `${Math.round(analysisCpuMs)} ms CPU (${Math.round(childrenCpuMs() - childrenCpuStarted)} of it in ${values.process ? "the analysis process" : "ffmpeg and ffprobe"}); ` +
            `${wallRatios.at(-1)!.toFixed(2)}x wall, ${cpuRatios.at(-1)!.toFixed(2)}x CPU`
        )
      }
      return last!
    })
  )
)

console.log(
  `ratio analysis / decode-only, median of ${rounds} rounds: ${median(wallRatios).toFixed(2)}x wall (target 2.5x, goal 1.5x), ${median(cpuRatios).toFixed(2)}x CPU`
)
console.log(`peak RSS of this process (worker threads included, ffmpeg children not): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`)
if (values.process) console.log(`peak RSS of the analysis process (its worker threads included, ffmpeg children not): ${(analysisProcessPeakKiB / 1024).toFixed(0)} MiB`)

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
