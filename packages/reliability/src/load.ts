/**
 * Polls under load while real analyses run: a demo app with the real analysis (a child process)
 * analyses the same clip with no other traffic, then while `pollers` clients poll the running task
 * over keep-alive connections, each waiting the server's `X-Poll-After-Ms` hint between polls as
 * the client does (the embedded server paces them: the hint grows with their number). Measures
 * the poll latency once the pace has settled, a burst of `pollers` polls at once, the analysis
 * time with and without the load, and the memory of the server and of its analysis process. The pollers share this process with
 * the test: the delay of its own event loop is measured too, so that a slow client is not taken
 * for a slow server.
 */
import { readFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { monitorEventLoopDelay } from "node:perf_hooks"
import type { PromiseClient } from "@identify-face/core/Client"
import { watchTasks } from "../../bullmq/test/helpers/watch.js"
import { makeClip } from "../../node/test/helpers/clips.js"
import { HOPPER } from "../../node/test/helpers/faceClips.js"
import { API_KEY, childrenOf, makeDataDir, memoryOf, startDemo, stillServes } from "./servers.js"

/** Percentiles of a set of latencies, in milliseconds. */
export interface Latency {
  readonly count: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/** How late this process's event loop ran its callbacks, in milliseconds. */
export interface LoopDelay {
  readonly p99: number
  readonly max: number
}

/** What the scenario measured. */
export interface LoadRun {
  /** Polls at the hint's pace while the analyses ran. */
  readonly steady: Latency
  /** The pollers' own event-loop delay meanwhile: a part of each latency that is the client's. */
  readonly steadyClientDelay: LoopDelay
  /** Their rate, polls per second. */
  readonly pollsPerSecond: number
  /** The median of the hints the server gave them, ms. */
  readonly hintMs: number
  /** One poll by every poller at the same moment. */
  readonly burst: Latency
  /** The pollers' own event-loop delay during the burst. */
  readonly burstClientDelay: LoopDelay
  /** Polls that failed or were not answered 200. */
  readonly errors: number
  /**
   * Each analysis's time as the server measured it (`metadata.timings_ms.analyze`); the idle ones
   * half before and half after the loaded ones, so that a machine busier at one time than at
   * another weighs on both.
   */
  readonly analysisMs: { readonly idle: ReadonlyArray<number>; readonly loaded: ReadonlyArray<number> }
  /** The median analysis time without load over the one with it: 1 is no slowdown. */
  readonly throughputRatio: number
  /** The server's peak resident memory, bytes. */
  readonly serverPeakRss: number
  /** Its analysis process's (`AnalysisProcess`), bytes. */
  readonly analysisPeakRss: number
  readonly afterwards: { readonly healthz: number; readonly task: string | undefined }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const latencyOf = (samples: ReadonlyArray<number>): Latency => {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (quantile: number) => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] ?? Number.NaN) * 10) / 10
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) }
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

const ms = (nanoseconds: number) => Math.round(nanoseconds / 1e5) / 10

/** Measures this process's event-loop delay until `stop()`, which answers it. */
const watchLoop = () => {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  return {
    stop: (): LoopDelay => {
      histogram.disable()
      return { p99: ms(histogram.percentile(99)), max: ms(histogram.max) }
    }
  }
}

/** Polls of one task over `agent`, each recording its latency; answers the server's poll hint. */
const poller = (url: string, agent: Agent) => {
  let latencies: Array<number> = []
  let hints: Array<number> = []
  let errors = 0
  let lastHint = 0
  const poll = (id: string, started = performance.now()): Promise<number> =>
    new Promise<number>((resolve) => {
      const get = request(`${url}/model/v1/generation/task/${id}`, { agent, headers: { authorization: `Bearer ${API_KEY}` } }, (response) => {
        response.resume()
        response.on("end", () => {
          if (response.statusCode === 200) latencies.push(performance.now() - started)
          else errors++
          // A finished task has no hint: the pollers keep the last one.
          const hint = response.headers["x-poll-after-ms"]
          if (hint !== undefined) hints.push((lastHint = Number(hint)))
          resolve(lastHint || 1000)
        })
      })
      get.on("error", () => {
        // A kept-alive socket the server closed as it was reused: a client sends again, as Node's docs advise.
        if (get.reusedSocket) return resolve(poll(id, started))
        errors++
        resolve(1000)
      })
      get.end()
    })
  return {
    poll,
    /** The latencies and hints so far, and a fresh start. */
    take: () => {
      const taken = { latencies, hints }
      latencies = []
      hints = []
      return taken
    },
    errors: () => errors
  }
}

/**
 * `count` clients polling `target()` at the hint's pace, or every `everyMs` when set, each starting
 * at a random moment of the first interval.
 */
const startPollers = (url: string, agent: Agent, count: number, target: () => string, everyMs: number | undefined) => {
  const polls = poller(url, agent)
  let running = true
  const loops = Array.from({ length: count }, async () => {
    await sleep(Math.random() * (everyMs ?? 1000))
    while (running) {
      const hint = await polls.poll(target())
      await sleep(everyMs ?? hint)
    }
  })
  return {
    ...polls,
    stop: async () => {
      running = false
      await Promise.all(loops)
    }
  }
}

/** Creates a task on `videoId`, waits for it, and answers how long the server took to analyse it. */
const analysisTime = async (client: PromiseClient, videoId: string, onCreated: (id: string) => void = () => undefined) => {
  const { id } = await client.createTask({ videoId })
  onCreated(id)
  const [task] = (await watchTasks(client, [id], 120_000, 50)).tasks
  const analyzeMs = task?.metadata?.timings_ms?.analyze
  if (task?.status !== "completed" || analyzeMs === undefined) throw new Error(`the analysis ended ${task?.status}: ${JSON.stringify(task?.error)}`)
  return analyzeMs
}

/**
 * Issue #4's goal: polls at the paced rate answered within 50 ms at the 99th percentile while the
 * analysis runs, which meanwhile keeps at least 80% of its speed without them.
 */
export const TARGET = { steadyP99Ms: 50, throughputRatio: 0.8 } as const

/** Whether a run met {@link TARGET}. */
export const metTarget = (run: LoadRun): boolean =>
  run.steady.p99 < TARGET.steadyP99Ms && run.throughputRatio >= TARGET.throughputRatio

/** The clip analysed: 8 s of 720p25 showing one face, built with ffmpeg once and cached. */
export const makeLoadClip = () => makeClip({ width: 1280, height: 720, seconds: 8, fps: 25, from: HOPPER })

/**
 * Runs the scenario on `clip` (a path): `runs` analyses under `pollers` pollers, measured once
 * they have polled for `settleMs`, and `runs` without load, half before and half after them.
 */
export const runPollLoad = async (options: {
  readonly clip: string
  readonly pollers: number
  readonly runs: number
  readonly settleMs: number
  /** Each poller polls this often, ignoring the server's hint (a client that does not pace itself); default: at the hint. */
  readonly pollEveryMs?: number | undefined
}): Promise<LoadRun> => {
  const dataDir = makeDataDir()
  const server = await startDemo(dataDir.path)
  const pid = server.process.child.pid ?? 0
  // Enough sockets that a poll waits for the server, not for a free connection of its own.
  const agent = new Agent({ keepAlive: true, maxSockets: 256 })
  try {
    const { client } = server
    const video = new Blob([readFileSync(options.clip)])
    const { video_id: videoId } = await client.uploadVideo(video, "video/mp4")
    await analysisTime(client, videoId) // warms up the detectors and the caches

    const idle: Array<number> = []
    const idleRuns = async (count: number) => {
      for (let run = 0; run < count; run++) idle.push(await analysisTime(client, videoId))
    }
    await idleRuns(Math.ceil(options.runs / 2))

    let current = (await client.createTask({ videoId })).id
    const analyse = () => analysisTime(client, videoId, (id) => (current = id))
    const pollers = startPollers(server.url, agent, options.pollers, () => current, options.pollEveryMs)
    // Analyses go on while the pace settles, so that the pollers always poll a running task.
    await watchTasks(client, [current], 120_000)
    for (const until = Date.now() + options.settleMs; Date.now() < until; ) await analyse()
    pollers.take()
    const loadStarted = Date.now()
    const steadyLoop = watchLoop()
    const loaded: Array<number> = []
    for (let run = 0; run < options.runs; run++) loaded.push(await analyse())
    const steadyClientDelay = steadyLoop.stop()
    const steady = pollers.take()
    const loadSeconds = (Date.now() - loadStarted) / 1000
    await pollers.stop()

    const burst = poller(server.url, agent)
    const burstLoop = watchLoop()
    await Promise.all(Array.from({ length: options.pollers }, () => burst.poll(current)))
    const burstClientDelay = burstLoop.stop()
    await idleRuns(Math.floor(options.runs / 2))

    return {
      steady: latencyOf(steady.latencies),
      steadyClientDelay,
      pollsPerSecond: Math.round(steady.latencies.length / loadSeconds),
      hintMs: median(steady.hints),
      burst: latencyOf(burst.take().latencies),
      burstClientDelay,
      errors: pollers.errors() + burst.errors(),
      analysisMs: { idle, loaded },
      throughputRatio: Math.round((median(idle) / median(loaded)) * 100) / 100,
      serverPeakRss: memoryOf(pid).peak,
      analysisPeakRss: Math.max(0, ...childrenOf(pid, "analysisProcess").map((child) => memoryOf(child).peak)),
      afterwards: await stillServes(server.url, client, video)
    }
  } finally {
    agent.destroy()
    await server.stop("SIGKILL")
    dataDir.remove()
  }
}
