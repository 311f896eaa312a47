/**
 * Decode + detect benchmark, every stage in one process run, each with wall time, CPU seconds
 * (this process and its workers plus the ffmpeg children) and its ratio to ffmpeg's own decode time:
 *
 *   1. decode-only: `ffmpeg -f null`, the baseline; and the same with `-skip_loop_filter all`
 *   2. per sample rate: sampled decode alone (scale + pipe, no detection)
 *   3. the detector pool alone on those frames, already decoded, per pose ("keypoints", "mesh")
 *   4. end to end: sampled decode feeding the pool, keypoints pose (the coarse pass)
 *
 *   node --conditions=@identify-face/source --import tsx tools/bench/decode-detect.ts [--input clip.mp4] [--fps 2,5,10]
 *     [--detect-side 256] [--workers 2]
 *
 * Without --input it builds (once, cached in the OS temp folder) a 60 s 1080p30 H.264 clip of
 * grace_hopper.jpg panning slowly. Wall times suffer from anything else running on the machine;
 * CPU seconds much less so.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { DetectorPool } from "../../packages/node/src/internal/DetectorPool.js"
import type { DetectOptions } from "../../packages/node/src/internal/FaceDetector.js"
import { resolveFfmpegBinaries, runToCompletion } from "../../packages/node/src/internal/ffmpeg.js"
import { decodeFrames, type DecodedFrame } from "../../packages/node/src/internal/FrameDecoder.js"
import { fitWithin, probeVideo } from "../../packages/node/src/internal/probe.js"

const { values } = parseArgs({
  options: {
    input: { type: "string" },
    fps: { type: "string", default: "2,5,10" },
    "detect-side": { type: "string", default: "256" },
    workers: { type: "string", default: "2" }
  }
})

const hopper = new URL("../../packages/node/test/fixtures/grace_hopper.jpg", import.meta.url).pathname
const { ffmpeg } = resolveFfmpegBinaries()
const workers = Number(values.workers)

const syntheticClip = (): string => {
  const path = join(tmpdir(), "identify-face-bench-hopper-60s-1080p30.mp4")
  if (existsSync(path)) return path
  console.log(`building ${path} ...`)
  const built = spawnSync(ffmpeg, [
    ...["-v", "error", "-y", "-loop", "1", "-framerate", "30", "-i", hopper, "-t", "60"],
    ...["-vf", "scale=1920:-2,crop=1920:1080:0:(ih-1080)/3*(1+sin(t/3)),format=yuv420p"],
    ...["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-r", "30", path]
  ])
  if (built.status !== 0) throw new Error(`building the clip failed: ${built.stderr.toString()}`)
  return path
}

// /proc/self/stat: utime, stime (all threads, so workers too) and cutime, cstime (exited children: ffmpeg).
const cpuSeconds = (): number => {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / 100
}

let peakRss = 0
const sampleRss = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50)

interface Stage {
  readonly wallMs: number
  readonly cpuS: number
}
const measure = async <A>(run: () => Promise<A>): Promise<Stage & { readonly result: A }> => {
  const cpu = cpuSeconds()
  const start = performance.now()
  const result = await run()
  return { wallMs: performance.now() - start, cpuS: cpuSeconds() - cpu, result }
}

const input = values.input ?? syntheticClip()
const info = await probeVideo(input)
const size = fitWithin(info, Number(values["detect-side"]))
console.log(
  `input ${input}: ${info.width}x${info.height} ${info.fps.toFixed(2)} fps ${(info.durationMs / 1000).toFixed(1)} s;` +
    ` detect size ${size.width}x${size.height}; ${workers} workers`
)

const decodeOnly = await measure(() => runToCompletion(ffmpeg, ["-v", "error", "-nostdin", "-i", input, "-map", "0:v:0", "-f", "null", "-"]))
const line = (label: string, stage: Stage, extra = "") =>
  console.log(
    `${label.padEnd(44)} ${(stage.wallMs / 1000).toFixed(2).padStart(6)} s ${stage.cpuS.toFixed(1).padStart(5)} CPU-s` +
      ` ${(stage.wallMs / decodeOnly.wallMs).toFixed(2).padStart(5)}x${extra}`
  )
line("decode-only (ffmpeg -f null)", decodeOnly)
const skipped = await measure(() =>
  runToCompletion(ffmpeg, ["-v", "error", "-nostdin", "-skip_loop_filter", "all", "-i", input, "-map", "0:v:0", "-f", "null", "-"])
)
line("decode-only -skip_loop_filter all", skipped)

const poolStart = await measure(() => DetectorPool.create({ size: workers }))
const pool = poolStart.result
line(`detector pool start (${workers} workers)`, poolStart)

const detectAll = async (frames: AsyncIterable<DecodedFrame> | Iterable<DecodedFrame>, options: DetectOptions) => {
  // Two frames per worker in flight, so decoding and detection overlap.
  const inFlight: Array<Promise<number>> = []
  let withFace = 0
  let count = 0
  for await (const frame of frames) {
    count += 1
    inFlight.push(pool.detect(frame, options).then((faces) => faces.length))
    if (inFlight.length >= 2 * workers) withFace += (await inFlight.shift()!) > 0 ? 1 : 0
  }
  for (const pending of inFlight) withFace += (await pending) > 0 ? 1 : 0
  return { count, withFace }
}

for (const sampleFps of values.fps.split(",").map(Number)) {
  const decodeOptions = { input, ...size, videoStartMs: info.startTimeMs, sampleFps }
  const decoded = await measure(async () => {
    const frames: Array<DecodedFrame> = []
    for await (const frame of decodeFrames(decodeOptions)) frames.push(frame)
    return frames
  })
  const frames = decoded.result
  line(`${sampleFps} fps: sampled decode (${frames.length} frames)`, decoded)
  for (const pose of ["keypoints", "mesh"] as const) {
    // The pool takes each frame's buffer: detect on copies so the decoded frames stay usable.
    const detected = await measure(() => detectAll(frames.map((frame) => ({ ...frame, data: frame.data.slice() })), { pose }))
    const perFrame = ((detected.wallMs * workers) / frames.length).toFixed(1)
    const cpuPerFrame = ((detected.cpuS * 1000) / frames.length).toFixed(1)
    line(`${sampleFps} fps: pool alone, ${pose}`, detected, ` | ${perFrame} worker-ms/frame, ${cpuPerFrame} CPU-ms/frame, faces in ${detected.result.withFace}/${frames.length}`)
  }
  const endToEnd = await measure(() => detectAll(decodeFrames(decodeOptions), { pose: "keypoints" }))
  line(`${sampleFps} fps: decode + detect, keypoints`, endToEnd, ` | faces in ${endToEnd.result.withFace}/${endToEnd.result.count}`)
}

await pool.close()
clearInterval(sampleRss)
console.log(`peak RSS of this process (workers included, ffmpeg excluded): ${(peakRss / 2 ** 20).toFixed(0)} MiB`)
