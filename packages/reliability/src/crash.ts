/**
 * The embedded server killed mid-task, and what a client sees afterwards. A demo app with the
 * scripted analyzer (each task takes `taskMs`) gets tasks, then more creates in flight, and is
 * killed with SIGKILL while a task runs; it starts again on the same data directory, and every
 * task it had acknowledged must complete.
 */
import { isFinished, watchTasks } from "../../bullmq/test/helpers/watch.js"
import type { Watched } from "../../bullmq/test/helpers/watch.js"
import { SCRIPTED_VIDEO, makeDataDir, startDemo, stillServes, waitForStatus } from "./servers.js"

/** What a client saw of a set of tasks. */
export interface Counts {
  /** Creates the server acknowledged. */
  readonly created: number
  readonly completed: number
  readonly failed: number
  /** Acknowledged tasks the API no longer answers for. */
  readonly lost: number
  /** Tasks still pending or processing at the deadline. */
  readonly stuck: number
  /** Tasks completed twice: seen completed, then changed, or announced by two runs. */
  readonly duplicated: number
}

/** The counts of `created` tasks as watched; `duplicatedRuns` adds completions found elsewhere (workers' logs). */
export const countsOf = (created: ReadonlyArray<string>, watched: Watched, duplicatedRuns = 0): Counts => ({
  created: created.length,
  completed: watched.tasks.filter((task) => task.status === "completed").length,
  failed: watched.tasks.filter((task) => task.status === "failed").length,
  lost: watched.missing.length,
  stuck: watched.tasks.filter((task) => !isFinished(task)).length,
  duplicated: watched.changedAfterCompletion.length + duplicatedRuns
})

/** One crash and restart. */
export interface CrashRun {
  readonly counts: Counts
  /** Creates in flight at the kill that got no answer: the client cannot know whether they were kept. */
  readonly unanswered: number
  /** The task that was running when the server was killed. */
  readonly cutShort: string
  /** The service after the restart. */
  readonly afterwards: { readonly healthz: number; readonly task: string | undefined }
}

/** Creates `tasks` tasks, then `inFlight` more while it kills the server about halfway through a task's run. */
export const runCrash = async (options: { readonly tasks: number; readonly inFlight: number; readonly taskMs: number }): Promise<CrashRun> => {
  const dataDir = makeDataDir()
  const env = { IDENTIFY_FACE_ANALYZER: "double", IDENTIFY_FACE_ANALYZER_DELAY_MS: String(options.taskMs) }
  let server = await startDemo(dataDir.path, env)
  try {
    const { client } = server
    const upload = await client.uploadVideo(SCRIPTED_VIDEO, "video/mp4")
    const create = () => client.createTask({ videoId: upload.video_id }).then((task) => task.id)
    const ids: Array<string> = []
    for (let i = 0; i < options.tasks; i++) ids.push(await create())

    const cutShort = await waitForStatus(client, ids, "processing")
    await new Promise((resolve) => setTimeout(resolve, options.taskMs / 2))
    // Creates 25 ms apart (about a create's time), the kill halfway through them: some are answered, some cut off.
    const creates = Array.from({ length: options.inFlight }, (_, i) =>
      new Promise((resolve) => setTimeout(resolve, i * 25)).then(create).then((id) => ids.push(id), () => "unanswered" as const)
    )
    await new Promise((resolve) => setTimeout(resolve, (options.inFlight * 25) / 2))
    await server.stop("SIGKILL")
    const unanswered = (await Promise.all(creates)).filter((outcome) => outcome === "unanswered").length

    server = await startDemo(dataDir.path, env)
    const watched = await watchTasks(server.client, ids, ids.length * options.taskMs + 30_000)
    return {
      counts: countsOf(ids, watched),
      unanswered,
      cutShort,
      afterwards: await stillServes(server.url, server.client)
    }
  } finally {
    await server.stop("SIGKILL")
    dataDir.remove()
  }
}
